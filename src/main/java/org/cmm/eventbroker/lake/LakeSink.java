package org.cmm.eventbroker.lake;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import org.apache.avro.generic.GenericRecord;
import org.apache.camel.CamelContext;
import org.apache.camel.CamelContextAware;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.health.HealthCheckHelper;
import org.apache.camel.health.HealthCheckRegistry;
import org.apache.camel.support.service.ServiceSupport;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Lands the records of configured topic families ({@code hl7.}, {@code lab.results.}, ...) in the data lake: one
 * object per run of records of one topic partition, under {@code <prefix>/topic=<t>/dt=YYYY-MM-DD/hour=HH/}, named
 * {@code <topic>+<partition>+<first offset>.<format>} as Confluent's S3 sink names them, so a replay writes the same
 * names and overwrites instead of duplicating.
 *
 * <p>Exactly once: the consumer's offsets (its own group, committed by hand) move only after an object is in the
 * store, one object at a time per partition, so at most one object per partition can exist uncommitted, and a replay
 * from the committed offset starts its first object at the same offset, the same name. A file is cut before a record
 * that would pass {@code maxRecords} or {@code maxBytes} (payload bytes), that belongs to another event-time hour, or
 * whose event time is {@code rotateIntervalMs} past the file's first record: all read from the records, so a replay
 * cuts at the same places. A partition that receives nothing for {@code idleCutMs} (wall clock) is cut too, so its
 * records never wait unflushed (the Confluent sink leaves them, kafka-connect-storage-cloud#144).
 *
 * <p>Failures: any failure (S3 refusing, Kafka not committing) drops what is buffered and seeks back to the committed
 * offsets; the next attempt, after a growing back-off, re-reads the records. {@link LakeSinkHealthCheck} shows it.
 * Records whose payload cannot be read are handed to the route for the dead-letter topic (before the offsets passing
 * them are committed). Driven by the route's timer, on one thread; logs name topics, partitions and offsets only.
 */
public class LakeSink extends ServiceSupport implements CamelContextAware {

    private static final Logger LOG = LoggerFactory.getLogger(LakeSink.class);

    private CamelContext camelContext;
    private String sinkName = "lake";
    private String topicFamilies;
    private String excludedTopics = ".*[.](dlq|dedup|cursor)";
    private String groupId;
    private LakeFileFormat format = LakeFileFormat.PARQUET;
    private String uploadUri;
    private String objectPrefix = "";
    private int maxRecords = 10_000;
    private long maxBytes = 64L * 1024 * 1024;
    private long rotateIntervalMs = 3_600_000;
    private long idleCutMs = 60_000;
    private long pollTimeoutMs = 500;
    private long topicDiscoveryMs = 30_000;
    private long initialBackoffMs = 1000;
    private long maxBackoffMs = 60_000;
    private String workDir;

    private Path folder;
    private KafkaConsumer<String, byte[]> consumer;
    private ProducerTemplate producer;
    private LakeSinkHealthCheck healthCheck;
    private final Map<TopicPartition, OpenFile> open = new HashMap<>();
    private final Deque<ClosedFile> due = new ArrayDeque<>();
    private final Map<TopicPartition, Long> consumed = new HashMap<>();
    private final Map<TopicPartition, Long> committed = new HashMap<>();
    private long backoffUntil;
    private long backoffMs;
    private volatile int failuresInARow;
    private volatile Instant failingSince;
    private volatile String lastFailure;
    private volatile long objectsWritten;
    private volatile long recordsWritten;
    private volatile long recordsDeadLettered;

    /** What the health check and tests see. */
    public record Status(long objectsWritten, long recordsWritten, long recordsDeadLettered, int openFiles,
            int failuresInARow, Instant failingSince, String lastFailure) {
    }

    @Override
    public void setCamelContext(CamelContext camelContext) {
        this.camelContext = camelContext;
    }

    @Override
    public CamelContext getCamelContext() {
        return camelContext;
    }

    /** The sink's name: its consumer group (unless set), work folder and health check id. */
    public void setSinkName(String sinkName) {
        this.sinkName = sinkName;
    }

    public String getSinkName() {
        return sinkName;
    }

    /** Comma-separated topic name prefixes, e.g. {@code hl7.,lab.results.}; {@code *} for every topic. */
    public void setTopicFamilies(String topicFamilies) {
        this.topicFamilies = topicFamilies;
    }

    /** A regular expression of whole topic names never landed (dead-letter, de-duplication, cursor topics). */
    public void setExcludedTopics(String excludedTopics) {
        this.excludedTopics = excludedTopics;
    }

    public void setGroupId(String groupId) {
        this.groupId = groupId;
    }

    public void setFormat(String format) {
        this.format = LakeFileFormat.of(format);
    }

    /** The Camel endpoint objects are written to, e.g. {@code aws2-s3://cmm-data-lake}. */
    public void setUploadUri(String uploadUri) {
        this.uploadUri = uploadUri;
    }

    /** A key prefix inside the bucket (empty: the partitions at the bucket's root). */
    public void setObjectPrefix(String objectPrefix) {
        this.objectPrefix = objectPrefix == null ? "" : objectPrefix.trim();
    }

    public void setMaxRecords(int maxRecords) {
        this.maxRecords = maxRecords;
    }

    public void setMaxBytes(long maxBytes) {
        this.maxBytes = maxBytes;
    }

    public void setRotateIntervalMs(long rotateIntervalMs) {
        this.rotateIntervalMs = rotateIntervalMs;
    }

    public void setIdleCutMs(long idleCutMs) {
        this.idleCutMs = idleCutMs;
    }

    public void setPollTimeoutMs(long pollTimeoutMs) {
        this.pollTimeoutMs = pollTimeoutMs;
    }

    public void setTopicDiscoveryMs(long topicDiscoveryMs) {
        this.topicDiscoveryMs = topicDiscoveryMs;
    }

    public void setInitialBackoffMs(long initialBackoffMs) {
        this.initialBackoffMs = initialBackoffMs;
    }

    public void setMaxBackoffMs(long maxBackoffMs) {
        this.maxBackoffMs = maxBackoffMs;
    }

    /** Where files are written before upload; empty: a temporary folder. */
    public void setWorkDir(String workDir) {
        this.workDir = workDir;
    }

    @Override
    protected void doStart() throws Exception {
        if (topicFamilies == null || topicFamilies.isBlank()) {
            throw new IllegalArgumentException("Lake sink " + sinkName + ": no topic families (cmm.lake.topic-families)");
        }
        if (uploadUri == null || uploadUri.isBlank()) {
            throw new IllegalArgumentException("Lake sink " + sinkName + ": no object store (cmm.lake.upload-uri)");
        }
    }

    /** At the first poll, not at start: a runtime whose lake-sink route is off (the precondition) never gets here. */
    private void prepare() throws IOException {
        if (folder != null) {
            return;
        }
        folder = workDir == null || workDir.isBlank() ? Files.createTempDirectory("cmm-lake-" + sinkName)
                : Files.createDirectories(Path.of(workDir, sinkName));
        producer = camelContext.createProducerTemplate();
        healthCheck = new LakeSinkHealthCheck(this);
        healthCheck.setCamelContext(camelContext);
        HealthCheckRegistry registry = HealthCheckHelper.getHealthCheckRegistry(camelContext);
        if (registry != null) {
            registry.register(healthCheck);
        }
    }

    @Override
    protected void doStop() throws Exception {
        // buffered records are not committed: the next start re-reads them
        discardAll();
        if (consumer != null) {
            consumer.close(Duration.ofSeconds(5));
            consumer = null;
        }
        if (producer != null) {
            producer.stop();
        }
        HealthCheckRegistry registry = HealthCheckHelper.getHealthCheckRegistry(camelContext);
        if (registry != null && healthCheck != null) {
            registry.unregister(healthCheck);
        }
    }

    /** The topic names this sink lands: a family prefix, and not excluded. */
    Pattern subscription() {
        String families = Arrays.stream(topicFamilies.split(",")).map(String::trim).filter(s -> !s.isEmpty())
                .map(f -> f.equals("*") ? ".*" : Pattern.quote(f) + ".*").collect(Collectors.joining("|"));
        return Pattern.compile("(?!(?:" + excludedTopics + ")$)(?:" + families + ")");
    }

    private KafkaConsumer<String, byte[]> consumer() {
        if (consumer == null) {
            String group = groupId == null || groupId.isBlank() ? "cmm-lake-" + sinkName : groupId;
            consumer = KafkaClients.of(camelContext).consumer("lake-" + sinkName, group, Map.of(
                    ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false",
                    ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                    ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
                    ConsumerConfig.METADATA_MAX_AGE_CONFIG, String.valueOf(topicDiscoveryMs),
                    ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "2000"));
            consumer.subscribe(subscription(), new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                    partitions.forEach(LakeSink.this::discard);
                }

                @Override
                public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                    // positions come from the group's committed offsets
                }
            });
        }
        return consumer;
    }

    /**
     * Reads the next records into the open files (cutting files that are full) and returns those whose payload could
     * not be read, for the dead-letter topic. Nothing while backing off after a failure.
     */
    public List<RejectedRecord> poll() throws IOException {
        prepare();
        if (System.currentTimeMillis() < backoffUntil) {
            return List.of();
        }
        ConsumerRecords<String, byte[]> records = consumer().poll(Duration.ofMillis(pollTimeoutMs));
        List<RejectedRecord> rejected = new ArrayList<>();
        for (ConsumerRecord<String, byte[]> record : records) {
            TopicPartition tp = new TopicPartition(record.topic(), record.partition());
            consumed.put(tp, record.offset() + 1);
            if (record.value() == null) {
                continue; // a tombstone of a compacted topic: a deletion, no event to land
            }
            PayloadKeyFields fields;
            try {
                fields = PayloadKeyFields.of(record.value());
            } catch (UnparseablePayloadException e) {
                rejected.add(new RejectedRecord(record.topic(), record.partition(), record.offset(), record.key(),
                        LakeColumns.headers(record), record.value() == null ? new byte[0] : record.value(),
                        e.getMessage()));
                continue;
            }
            GenericRecord row = LakeColumns.row(record, fields);
            long eventTime = (Long) row.get("event_time");
            String partitionPath = partitionPath(record.topic(), eventTime);
            int size = record.value().length;
            OpenFile file = open.get(tp);
            if (file != null && file.mustCutBefore(partitionPath, eventTime, size)) {
                cut(tp);
                file = null;
            }
            if (file == null) {
                file = new OpenFile(tp, partitionPath, record.offset(), eventTime,
                        folder.resolve(tp.topic() + "+" + tp.partition() + "+" + record.offset() + "." + format.extension()));
                open.put(tp, file);
            }
            file.append(row, record.offset(), size);
            if (file.records >= maxRecords || file.bytes >= maxBytes) {
                cut(tp);
            }
        }
        return rejected;
    }

    /** The dead-letter message of a refused record: its payload, key and headers as consumed, and the reason. */
    public void describeRejected(Exchange exchange) {
        RejectedRecord rejected = exchange.getMessage().getBody(RejectedRecord.class);
        Message message = exchange.getMessage();
        message.setBody(rejected.payload());
        rejected.headers().forEach(message::setHeader);
        message.setHeader("kafka.KEY", rejected.key());
        message.setHeader("kafka.TOPIC", rejected.topic());
        message.setHeader("dlq_original_partition", String.valueOf(rejected.partition()));
        message.setHeader("dlq_original_offset", String.valueOf(rejected.offset()));
        message.setHeader("dlq_reason", "lake: " + rejected.reason());
        message.setHeader("dlq_source", "lake-sink-" + sinkName);
        recordsDeadLettered++;
        LOG.warn("Lake sink {}: dead-lettering {}-{}@{}: {}", sinkName, rejected.topic(), rejected.partition(),
                rejected.offset(), rejected.reason());
    }

    /**
     * Cuts the files of partitions idle for {@code idleCutMs}, writes every cut file to the store and commits the
     * offsets it covers (one object, then its commit), then commits past records that were only dead-lettered.
     */
    public void flush() throws Exception {
        if (System.currentTimeMillis() < backoffUntil || consumer == null) {
            return;
        }
        long now = System.currentTimeMillis();
        for (OpenFile file : List.copyOf(open.values())) {
            if (now - file.lastAppendMs >= idleCutMs) {
                cut(file.tp);
            }
        }
        while (!due.isEmpty()) {
            ClosedFile file = due.peekFirst();
            upload(file);
            due.removeFirst();
            Files.deleteIfExists(file.local);
            objectsWritten++;
            recordsWritten += file.records;
            commit(file.tp);
        }
        for (TopicPartition tp : List.copyOf(consumed.keySet())) {
            commit(tp);
        }
        if (failuresInARow > 0) {
            LOG.info("Lake sink {} writes again after {} failed attempts", sinkName, failuresInARow);
        }
        failuresInARow = 0;
        failingSince = null;
        lastFailure = null;
        backoffMs = 0;
    }

    /**
     * After a failure: drops every buffered and cut file, seeks back to the committed offsets and waits a growing
     * back-off before the next attempt re-reads the records.
     */
    public void rewind(Exchange exchange) {
        Exception cause = exchange == null ? null : exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Exception.class);
        failuresInARow++;
        if (failingSince == null) {
            failingSince = Instant.now();
        }
        lastFailure = cause == null ? "unknown" : cause.getClass().getSimpleName()
                + (cause.getCause() == null ? "" : " caused by " + cause.getCause().getClass().getSimpleName());
        backoffMs = backoffMs == 0 ? initialBackoffMs : Math.min(maxBackoffMs, backoffMs * 2);
        backoffUntil = System.currentTimeMillis() + backoffMs;
        LOG.warn("Lake sink {} could not write ({}, attempt {}); re-reading from the committed offsets in {} ms",
                sinkName, lastFailure, failuresInARow, backoffMs);
        discardAll();
        if (consumer != null) {
            Set<TopicPartition> assigned = consumer.assignment();
            try {
                Map<TopicPartition, OffsetAndMetadata> offsets = consumer.committed(assigned, Duration.ofSeconds(5));
                for (TopicPartition tp : assigned) {
                    OffsetAndMetadata at = offsets.get(tp);
                    if (at != null) {
                        consumer.seek(tp, at.offset());
                    } else {
                        consumer.seekToBeginning(List.of(tp));
                    }
                }
            } catch (RuntimeException e) {
                // Kafka away as well: a new consumer starts from the committed offsets
                LOG.warn("Lake sink {} could not read its committed offsets ({}); reconnecting", sinkName,
                        e.getClass().getSimpleName());
                consumer.close(Duration.ofSeconds(1));
                consumer = null;
            }
        }
    }

    public Status status() {
        return new Status(objectsWritten, recordsWritten, recordsDeadLettered, open.size(), failuresInARow,
                failingSince, lastFailure);
    }

    /** {@code [prefix/]topic=<t>/dt=YYYY-MM-DD/hour=HH} of an event time (UTC). */
    String partitionPath(String topic, long eventTimeMs) {
        ZonedDateTime t = Instant.ofEpochMilli(eventTimeMs).atZone(ZoneOffset.UTC);
        String path = String.format("topic=%s/dt=%04d-%02d-%02d/hour=%02d", topic, t.getYear(), t.getMonthValue(),
                t.getDayOfMonth(), t.getHour());
        return objectPrefix.isEmpty() ? path : objectPrefix.replaceAll("/+$", "") + "/" + path;
    }

    /** The object key of a file: its partition path and {@code <topic>+<partition>+<first offset, 20 digits>}. */
    String objectKey(String partitionPath, TopicPartition tp, long firstOffset) {
        return partitionPath + "/" + tp.topic() + "+" + tp.partition() + "+" + String.format("%020d", firstOffset)
                + "." + format.extension();
    }

    private void cut(TopicPartition tp) throws IOException {
        OpenFile file = open.remove(tp);
        if (file != null) {
            file.writer.close();
            due.addLast(new ClosedFile(tp, objectKey(file.partitionPath, tp, file.firstOffset), file.local,
                    file.firstOffset, file.lastOffset, file.records));
        }
    }

    private void upload(ClosedFile file) throws Exception {
        Exchange sent = producer.send(uploadUri, exchange -> {
            Message m = exchange.getMessage();
            m.setHeader("CamelAwsS3Key", file.key);
            m.setHeader("CamelAwsS3ContentType", format.contentType());
            m.setHeader("CamelAwsS3ContentLength", Files.size(file.local));
            m.setBody(file.local.toFile());
        });
        if (sent.getException() != null) {
            throw sent.getException();
        }
        LOG.debug("Lake sink {} wrote {} ({} records, offsets {}-{})", sinkName, file.key, file.records,
                file.firstOffset, file.lastOffset);
    }

    /** Commits a partition up to the first record still buffered (cut or open), else past everything consumed. */
    private void commit(TopicPartition tp) {
        Long upTo = null;
        for (ClosedFile waiting : due) {
            if (waiting.tp.equals(tp)) {
                upTo = waiting.firstOffset;
                break;
            }
        }
        if (upTo == null) {
            OpenFile file = open.get(tp);
            upTo = file != null ? file.firstOffset : consumed.get(tp);
        }
        if (upTo == null || upTo <= committed.getOrDefault(tp, -1L)) {
            return;
        }
        consumer.commitSync(Map.of(tp, new OffsetAndMetadata(upTo)), Duration.ofSeconds(10));
        committed.put(tp, upTo);
        if (!open.containsKey(tp)) {
            consumed.remove(tp);
        }
    }

    private void discard(TopicPartition tp) {
        OpenFile file = open.remove(tp);
        if (file != null) {
            file.abandon();
        }
        due.removeIf(closed -> {
            if (closed.tp.equals(tp)) {
                deleteQuietly(closed.local);
                return true;
            }
            return false;
        });
        consumed.remove(tp);
        committed.remove(tp);
    }

    private void discardAll() {
        new ArrayList<>(open.keySet()).forEach(this::discard);
        due.forEach(closed -> deleteQuietly(closed.local));
        due.clear();
        consumed.clear();
        committed.clear();
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            LOG.debug("Could not delete {}", file, e);
        }
    }

    private final class OpenFile {
        final TopicPartition tp;
        final String partitionPath;
        final long firstOffset;
        final long firstEventTime;
        final Path local;
        final LakeFileFormat.RowWriter writer;
        long lastOffset;
        int records;
        long bytes;
        long lastAppendMs;

        OpenFile(TopicPartition tp, String partitionPath, long firstOffset, long firstEventTime, Path local)
                throws IOException {
            this.tp = tp;
            this.partitionPath = partitionPath;
            this.firstOffset = firstOffset;
            this.firstEventTime = firstEventTime;
            this.local = local;
            Files.deleteIfExists(local);
            this.writer = format.open(local);
        }

        boolean mustCutBefore(String nextPartitionPath, long eventTime, int size) {
            return !partitionPath.equals(nextPartitionPath)
                    || eventTime - firstEventTime >= rotateIntervalMs
                    || bytes + size > maxBytes && records > 0;
        }

        void append(GenericRecord row, long offset, int size) throws IOException {
            writer.write(row);
            lastOffset = offset;
            records++;
            bytes += size;
            lastAppendMs = System.currentTimeMillis();
        }

        void abandon() {
            try {
                writer.close();
            } catch (IOException | RuntimeException e) {
                LOG.debug("Could not close {}", local, e);
            }
            deleteQuietly(local);
        }
    }

    private record ClosedFile(TopicPartition tp, String key, Path local, long firstOffset, long lastOffset,
            int records) {
    }

    /** For tests and the docs: the keys of the files waiting or open, by partition. */
    Map<TopicPartition, Long> committedOffsets() {
        return new LinkedHashMap<>(committed);
    }
}
