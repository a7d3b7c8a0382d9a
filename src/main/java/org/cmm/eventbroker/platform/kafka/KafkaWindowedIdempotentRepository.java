package org.cmm.eventbroker.platform.kafka;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.apache.camel.CamelContext;
import org.apache.camel.CamelContextAware;
import org.apache.camel.spi.IdempotentRepository;
import org.apache.camel.support.service.ServiceSupport;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.TopicExistsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Remembers which message ids were already published, for a time window, in memory and on a Kafka topic so
 * the memory survives a restart.
 *
 * <p>Why not camel-kafka's {@code KafkaIdempotentRepository}: it is deprecated in 4.17, forgets by count only (an LRU
 * of N keys, so the window shrinks as traffic grows) and makes a synchronous round trip to Kafka for every new key.
 * Here a key is remembered for {@code windowMs} after it was first seen; the topic carries that time, so after a
 * restart only keys still inside the window come back. Keys are written in batches, one record every
 * {@code flushIntervalMs} with all keys added since the last one (one record per key was 15% of the ingest path's
 * throughput in the benchmark). On its own that is at-least-once: a crash before a batch is written loses the keys
 * of the last messages published, and their resends would be published again.
 *
 * <p>With {@link #setRecoveryKeys recoveryKeys} set it is exactly-once across crashes: at start, after loading the
 * batches, it reads the flow's data topics from {@code recoveryMarginMs} before the last batch written (by record
 * time) to their end and remembers the key of every record found there ({@link RecordKeys}); those keys are written
 * in the next batch. A message that reached Kafka is thus known when its resend arrives, whenever the runtime died.
 * The cost is at start only (reading a few minutes of the data topics); nothing changes per message. It never
 * suppresses a message that was not published.
 *
 * <p>A publish that failed (Camel calls {@link #remove} for a key whose exchange failed, here a key never added) is
 * <em>in doubt</em>: Kafka may have applied the write after the producer gave up on it (a broker paused or a network
 * partitioned longer than the delivery timeout: answered AE, appended later). When such a key is resent,
 * {@link #contains} first reads the data topics from {@code inDoubtMarginMs} before the failure to their end; found,
 * the resend is answered AA without a second publish (issue 17, {@code NetworkFaultsIT}). The cost falls on resends
 * of failed messages only, one look-up at a time. A write still held in the network after that look-up can still
 * land next to the resend's copy if it arrives between the look-up and the resend's publish (after that, the
 * idempotent producer's epoch, bumped when a batch timed out, should make the partition refuse it; not proven by a
 * test here).
 *
 * <p>Keys are sender, facility, control id and a digest: no patient data. Several instances may share the topic;
 * they learn each other's keys only when they start (no live tailing).
 */
public class KafkaWindowedIdempotentRepository extends ServiceSupport implements IdempotentRepository, CamelContextAware {

    private static final Logger LOG = LoggerFactory.getLogger(KafkaWindowedIdempotentRepository.class);

    private CamelContext camelContext;
    private KafkaClients kafkaClients;
    private String topic;
    private long windowMs = TimeUnit.HOURS.toMillis(24);
    private int maxEntries = 1_000_000;
    private long loadTimeoutMs = 60_000;
    private long flushIntervalMs = 50;
    private RecordKeys recoveryKeys;
    private long recoveryMarginMs = TimeUnit.MINUTES.toMillis(5);
    private long lastBatchTime = -1;
    private long inDoubtMarginMs = TimeUnit.SECONDS.toMillis(60);
    private long inDoubtTimeoutMs = 5_000;
    private int maxInDoubt = 100_000;
    /**
     * Keys whose publish failed (Camel removes a key whose exchange failed): the write may still have been applied
     * (Kafka timed out, answered nothing, then appended it). key -> time of the failure, oldest first. Guarded by
     * itself.
     */
    private final LinkedHashMap<String, Long> inDoubt = new LinkedHashMap<>();
    private final Object inDoubtLookup = new Object();

    /** key -> time first seen (epoch ms), oldest first. Guarded by itself. */
    private final LinkedHashMap<String, Long> seen = new LinkedHashMap<>();
    private KafkaProducer<String, byte[]> producer;
    /** Changes not yet written to the topic. Guarded by itself. */
    private final List<Change> pending = new ArrayList<>();
    private ScheduledExecutorService flusher;

    private record Change(String key, long firstSeen) {
        boolean isRemoval() {
            return firstSeen < 0;
        }
    }

    @Override
    public void setCamelContext(CamelContext camelContext) {
        this.camelContext = camelContext;
    }

    @Override
    public CamelContext getCamelContext() {
        return camelContext;
    }

    /** The Kafka clients to use; unset, the CamelContext's ({@link KafkaClients#of(CamelContext)}). */
    public void setKafkaClients(KafkaClients kafkaClients) {
        this.kafkaClients = kafkaClients;
    }

    public void setTopic(String topic) {
        this.topic = topic;
    }

    /** How long a key is remembered after it was first seen. */
    public void setWindowMs(long windowMs) {
        this.windowMs = windowMs;
    }

    /** A bound on memory: beyond this many keys inside the window, the oldest are forgotten early. */
    public void setMaxEntries(int maxEntries) {
        this.maxEntries = maxEntries;
    }

    /** How often the keys added since the last write are written to the topic, as one record. */
    public void setFlushIntervalMs(long flushIntervalMs) {
        this.flushIntervalMs = flushIntervalMs;
    }

    /** The flow's data topics and keys, to rebuild at start the keys a crash lost; unset: no rebuilding. */
    public void setRecoveryKeys(RecordKeys recoveryKeys) {
        this.recoveryKeys = recoveryKeys;
    }

    /**
     * How far before the last batch of keys the data topics are read at start (5 minutes): covers a crash right
     * after a publish and batches that failed to be written shortly before it.
     */
    public void setRecoveryMarginMs(long recoveryMarginMs) {
        this.recoveryMarginMs = recoveryMarginMs;
    }

    /**
     * How far before a failed publish the data topics are read when its resend arrives (60 s): the record's time is
     * the send's, at most the producer's delivery timeout (plus its blocking time) before the failure.
     */
    public void setInDoubtMarginMs(long inDoubtMarginMs) {
        this.inDoubtMarginMs = inDoubtMarginMs;
    }

    /** How long looking up a resent in-doubt key may take before the resend fails (and is answered AE). */
    public void setInDoubtTimeoutMs(long inDoubtTimeoutMs) {
        this.inDoubtTimeoutMs = inDoubtTimeoutMs;
    }

    public void setLoadTimeoutMs(long loadTimeoutMs) {
        this.loadTimeoutMs = loadTimeoutMs;
    }

    public String getTopic() {
        return topic;
    }

    @Override
    protected void doStart() throws Exception {
        if (topic == null || topic.isBlank()) {
            throw new IllegalArgumentException("KafkaWindowedIdempotentRepository needs a topic");
        }
        if (kafkaClients == null) {
            if (camelContext == null) {
                throw new IllegalStateException("KafkaWindowedIdempotentRepository " + topic
                        + " needs the CamelContext (a bean of the registry) or KafkaClients");
            }
            kafkaClients = KafkaClients.of(camelContext);
        }
        ensureTopic();
        load();
        if (recoveryKeys != null) {
            recover();
        }
        producer = kafkaClients.producer("dedup-" + topic, Map.of(
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true",
                ProducerConfig.LINGER_MS_CONFIG, "5"));
        flusher = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "dedup-flush-" + topic);
            t.setDaemon(true);
            return t;
        });
        flusher.scheduleWithFixedDelay(this::flush, flushIntervalMs, flushIntervalMs, TimeUnit.MILLISECONDS);
    }

    /** Writes the changes since the last flush as one record. */
    void flush() {
        List<Change> batch;
        synchronized (pending) {
            if (pending.isEmpty()) {
                return;
            }
            batch = new ArrayList<>(pending);
            pending.clear();
        }
        producer.send(new ProducerRecord<>(topic, null, encode(batch)), (metadata, error) -> {
            if (error != null) {
                LOG.warn("Could not persist {} de-duplication keys to {}: {}", batch.size(), topic, error.toString());
            }
        });
    }

    private static byte[] encode(List<Change> batch) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(batch.size() * 64);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeInt(batch.size());
            for (Change c : batch) {
                out.writeUTF(c.key());
                out.writeLong(c.firstSeen());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    private static List<Change> decode(byte[] value) throws IOException {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(value))) {
            int n = in.readInt();
            List<Change> changes = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                changes.add(new Change(in.readUTF(), in.readLong()));
            }
            return changes;
        }
    }

    @Override
    protected void doStop() {
        if (flusher != null) {
            flusher.shutdown();
            try {
                // a flush still running must finish before the last one and the close: else it could take the
                // pending keys and send them to a closed producer, and they would be lost
                flusher.awaitTermination(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            flusher = null;
        }
        if (producer != null) {
            flush();
            producer.close(Duration.ofSeconds(10)); // flushes the keys not yet written
            producer = null;
        }
    }

    @Override
    public boolean add(String key) {
        long now = System.currentTimeMillis();
        synchronized (seen) {
            if (isFresh(key, now)) {
                return false;
            }
            seen.remove(key);
            seen.put(key, now);
            evict(now);
        }
        synchronized (pending) {
            pending.add(new Change(key, now));
        }
        return true;
    }

    @Override
    public boolean contains(String key) {
        synchronized (seen) {
            if (isFresh(key, System.currentTimeMillis())) {
                return true;
            }
        }
        Long failedAt;
        synchronized (inDoubt) {
            failedAt = inDoubt.get(key);
        }
        return failedAt != null && foundOnDataTopics(key, failedAt);
    }

    /**
     * Called by Camel when the exchange of a key failed (the publish timed out or failed). A key that was never
     * added is then in doubt: the write may land after its timeout. Its resend looks for it on the data topics
     * first ({@link #contains}).
     */
    @Override
    public boolean remove(String key) {
        boolean removed;
        synchronized (seen) {
            removed = seen.remove(key) != null;
        }
        if (removed) {
            synchronized (pending) {
                pending.add(new Change(key, -1));
            }
        } else if (recoveryKeys != null) {
            synchronized (inDoubt) {
                inDoubt.remove(key);
                inDoubt.put(key, System.currentTimeMillis());
                Iterator<String> oldest = inDoubt.keySet().iterator();
                while (inDoubt.size() > maxInDoubt && oldest.hasNext()) {
                    oldest.next();
                    oldest.remove();
                }
            }
        }
        return removed;
    }

    /**
     * Reads the data topics from shortly before the failed publish of {@code key} to their end: a record found with
     * that key (or with another key in doubt) was applied after all, and is remembered as seen. Throws when Kafka
     * cannot be read in time, so the resend fails (AE) rather than risk a second copy.
     */
    private boolean foundOnDataTopics(String key, long failedAt) {
        // one look-up at a time: a look-up resolves every key in doubt it meets, so the resends waiting behind it
        // (several senders resending after the same outage) mostly find their key resolved already
        synchronized (inDoubtLookup) {
            synchronized (seen) {
                if (isFresh(key, System.currentTimeMillis())) {
                    return true;
                }
            }
            synchronized (inDoubt) {
                if (!inDoubt.containsKey(key)) {
                    return false;
                }
            }
            return lookUp(key, failedAt);
        }
    }

    private boolean lookUp(String key, long failedAt) {
        long now = System.currentTimeMillis();
        boolean[] found = {false};
        int[] resolved = {0};
        try {
            scanDataTopics(failedAt - inDoubtMarginMs, inDoubtTimeoutMs, "de-duplication-check-" + topic, r -> {
                String k = recoveryKeys.keyOf(r);
                if (k == null) {
                    return;
                }
                if (k.equals(key)) {
                    found[0] = true;
                }
                boolean wasInDoubt;
                synchronized (inDoubt) {
                    wasInDoubt = inDoubt.remove(k) != null;
                }
                if (!wasInDoubt) {
                    return;
                }
                resolved[0]++;
                long firstSeen = Math.min(r.timestamp(), now);
                synchronized (seen) {
                    seen.remove(k);
                    seen.put(k, firstSeen);
                }
                synchronized (pending) {
                    pending.add(new Change(k, firstSeen));
                }
            });
        } catch (Exception e) {
            throw new IllegalStateException("Could not check whether a message whose publish failed reached "
                    + "Kafka after all: " + e.getMessage(), e);
        }
        if (found[0]) {
            synchronized (seen) {
                if (!isFresh(key, now)) {
                    seen.put(key, now);
                    synchronized (pending) {
                        pending.add(new Change(key, now));
                    }
                }
            }
        } else {
            synchronized (inDoubt) {
                inDoubt.remove(key); // not published: this resend publishes it
            }
        }
        LOG.info("A resend of a message whose publish had failed: it was {} on the data topics ({} key(s) in doubt "
                + "resolved as published)", found[0] ? "found (applied after its failure, not published again)"
                : "not found (published now)", resolved[0]);
        return found[0];
    }

    @Override
    public boolean confirm(String key) {
        return true;
    }

    @Override
    public void clear() {
        List<String> keys;
        synchronized (seen) {
            keys = new ArrayList<>(seen.keySet());
            seen.clear();
        }
        synchronized (pending) {
            keys.forEach(k -> pending.add(new Change(k, -1)));
        }
    }

    private boolean isFresh(String key, long now) {
        Long firstSeen = seen.get(key);
        return firstSeen != null && now - firstSeen < windowMs;
    }

    private void evict(long now) {
        Iterator<Map.Entry<String, Long>> it = seen.entrySet().iterator();
        while (it.hasNext()) {
            Map.Entry<String, Long> oldest = it.next();
            if (seen.size() > maxEntries || now - oldest.getValue() >= windowMs) {
                it.remove();
            } else {
                return;
            }
        }
    }

    private void ensureTopic() throws Exception {
        try (Admin admin = kafkaClients.admin("dedup-admin-" + topic, Map.of())) {
            if (admin.listTopics().names().get(30, TimeUnit.SECONDS).contains(topic)) {
                return;
            }
            // batches of keys, kept as long as the window (plus a margin) needs them
            NewTopic newTopic = new NewTopic(topic, java.util.Optional.of(1), java.util.Optional.empty())
                    .configs(Map.of("cleanup.policy", "delete", "retention.ms", Long.toString(Math.max(windowMs * 2, 60_000))));
            try {
                admin.createTopics(List.of(newTopic)).all().get(30, TimeUnit.SECONDS);
                LOG.info("Created de-duplication topic {}", topic);
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof TopicExistsException)) {
                    throw e;
                }
            }
        }
    }

    /** Reads the topic from the beginning to its current end, keeping keys still inside the window. */
    private void load() {
        long now = System.currentTimeMillis();
        int[] loaded = {0};
        try (KafkaConsumer<String, byte[]> consumer = kafkaClients.consumer("dedup-loader-" + topic, null, Map.of(
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false",
                ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "5000"))) {
            TopicsToEnd.read(consumer, List.of(topic), 0, Duration.ofMillis(loadTimeoutMs), r -> {
                if (r.value() == null) {
                    return;
                }
                lastBatchTime = Math.max(lastBatchTime, r.timestamp());
                List<Change> changes;
                try {
                    changes = decode(r.value());
                } catch (IOException | RuntimeException e) {
                    LOG.warn("Skipping an unreadable record at offset {} of {}", r.offset(), topic);
                    return;
                }
                synchronized (seen) {
                    for (Change c : changes) {
                        seen.remove(c.key());
                        if (!c.isRemoval() && now - c.firstSeen() < windowMs) {
                            seen.put(c.key(), c.firstSeen());
                            loaded[0]++;
                        }
                    }
                }
            });
        }
        synchronized (seen) {
            evict(now);
        }
        LOG.info("De-duplication window {} ms: {} recent message ids loaded from {}", windowMs, loaded[0], topic);
    }

    /**
     * Reads the data topics from {@code recoveryMarginMs} before the last batch (or before now, without one) to
     * their end, and remembers every key found that the batches did not hold: the messages published just before a
     * crash, whose keys were still waiting for their batch.
     */
    private void recover() throws Exception {
        long now = System.currentTimeMillis();
        long from = Math.max(now - windowMs, (lastBatchTime >= 0 ? lastBatchTime : now) - recoveryMarginMs);
        int[] recovered = {0};
        int[] read = {0};
        List<String> topics = scanDataTopics(from, loadTimeoutMs, "dedup-recovery-" + topic, r -> {
            read[0]++;
            String key = recoveryKeys.keyOf(r);
            if (key == null) {
                return;
            }
            long firstSeen = Math.min(r.timestamp(), now);
            synchronized (seen) {
                if (isFresh(key, now) || now - firstSeen >= windowMs) {
                    return;
                }
                seen.put(key, firstSeen);
                recovered[0]++;
            }
            synchronized (pending) {
                pending.add(new Change(key, firstSeen));
            }
        });
        if (topics.isEmpty()) {
            return;
        }
        synchronized (seen) {
            evict(now);
        }
        LOG.info("De-duplication keys rebuilt from {} records of {} written since {}: {} were missing from {}",
                read[0], topics.size() == 1 ? topics.get(0) : topics.size() + " topics",
                java.time.Instant.ofEpochMilli(from), recovered[0], topic);
    }

    /**
     * Reads every data topic of {@link #recoveryKeys} from the records written at {@code from} (record time) to the
     * end offsets of now, handing each record to {@code each}; returns the topics read.
     */
    private List<String> scanDataTopics(long from, long timeoutMs, String clientName,
            java.util.function.Consumer<org.apache.kafka.clients.consumer.ConsumerRecord<String, byte[]>> each)
            throws Exception {
        // one deadline for every call, closes included: with Kafka away, a look-up must fail within its time (the
        // resend is answered AE in time) rather than wait for the clients' own 60 s defaults
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        List<String> topics;
        Admin admin = kafkaClients.admin(clientName + "-admin", Map.of());
        try {
            topics = admin.listTopics().names().get(timeoutMs, TimeUnit.MILLISECONDS).stream()
                    .filter(t -> !t.equals(topic) && recoveryKeys.covers(t)).sorted().toList();
        } finally {
            admin.close(Duration.ZERO);
        }
        if (topics.isEmpty()) {
            return topics;
        }
        KafkaConsumer<String, byte[]> consumer = kafkaClients.consumer(clientName, null, Map.of(
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false",
                ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "5000"));
        try {
            List<org.apache.kafka.common.TopicPartition> partitions = new ArrayList<>();
            for (String t : topics) {
                consumer.partitionsFor(t, remaining(deadline)).forEach(p -> partitions.add(
                        new org.apache.kafka.common.TopicPartition(t, p.partition())));
            }
            Map<org.apache.kafka.common.TopicPartition, Long> times = new java.util.HashMap<>();
            partitions.forEach(p -> times.put(p, from));
            Map<org.apache.kafka.common.TopicPartition, org.apache.kafka.clients.consumer.OffsetAndTimestamp> starts =
                    consumer.offsetsForTimes(times, remaining(deadline));
            Map<org.apache.kafka.common.TopicPartition, Long> ends = consumer.endOffsets(partitions, remaining(deadline));
            List<org.apache.kafka.common.TopicPartition> toRead = partitions.stream()
                    .filter(p -> starts.get(p) != null && starts.get(p).offset() < ends.get(p)).toList();
            consumer.assign(toRead);
            toRead.forEach(p -> consumer.seek(p, starts.get(p).offset()));
            while (toRead.stream().anyMatch(p -> consumer.position(p, remaining(deadline)) < ends.get(p))) {
                for (org.apache.kafka.clients.consumer.ConsumerRecord<String, byte[]> r
                        : consumer.poll(Duration.ofMillis(Math.min(200, remaining(deadline).toMillis())))) {
                    if (r.offset() < ends.get(new org.apache.kafka.common.TopicPartition(r.topic(), r.partition()))) {
                        each.accept(r);
                    }
                }
            }
        } finally {
            consumer.close(Duration.ZERO);
        }
        return topics;
    }

    /** The time left before {@code deadline}; throws once it has passed. */
    private static Duration remaining(long deadline) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
            throw new org.apache.kafka.common.errors.TimeoutException("Kafka did not answer the de-duplication look-up in time");
        }
        return Duration.ofNanos(left);
    }
}
