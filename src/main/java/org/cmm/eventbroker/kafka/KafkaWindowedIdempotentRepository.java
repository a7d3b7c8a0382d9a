package org.cmm.eventbroker.kafka;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.apache.camel.spi.IdempotentRepository;
import org.apache.camel.support.service.ServiceSupport;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Remembers which message ids were already published, for a time window, in memory and on a compacted Kafka topic so
 * the memory survives a restart.
 *
 * <p>Why not camel-kafka's {@code KafkaIdempotentRepository}: it is deprecated in 4.17, forgets by count only (an LRU
 * of N keys, so the window shrinks as traffic grows) and makes a synchronous round trip to Kafka for every new key.
 * Here a key is remembered for {@code windowMs} after it was first seen; the record on the topic carries that time, so
 * after a restart only keys still inside the window come back. The topic record is written asynchronously after the
 * message itself is on Kafka: the design is at-least-once, so a crash in the milliseconds before that write can let a
 * later resend through as a duplicate, but can never suppress a message that was not published.
 *
 * <p>Keys are sender, facility, control id and a digest: no patient data. Only one instance should write a topic.
 */
public class KafkaWindowedIdempotentRepository extends ServiceSupport implements IdempotentRepository {

    private static final Logger LOG = LoggerFactory.getLogger(KafkaWindowedIdempotentRepository.class);

    private String bootstrapServers;
    private String topic;
    private long windowMs = TimeUnit.HOURS.toMillis(24);
    private int maxEntries = 1_000_000;
    private long loadTimeoutMs = 60_000;

    /** key -> time first seen (epoch ms), oldest first. Guarded by itself. */
    private final LinkedHashMap<String, Long> seen = new LinkedHashMap<>();
    private KafkaProducer<String, byte[]> producer;

    public void setBootstrapServers(String bootstrapServers) {
        this.bootstrapServers = bootstrapServers;
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

    public void setLoadTimeoutMs(long loadTimeoutMs) {
        this.loadTimeoutMs = loadTimeoutMs;
    }

    public String getTopic() {
        return topic;
    }

    public int size() {
        synchronized (seen) {
            return seen.size();
        }
    }

    @Override
    protected void doStart() throws Exception {
        if (bootstrapServers == null || bootstrapServers.isBlank()) {
            throw new IllegalArgumentException("KafkaWindowedIdempotentRepository needs bootstrapServers");
        }
        if (topic == null || topic.isBlank()) {
            throw new IllegalArgumentException("KafkaWindowedIdempotentRepository needs a topic");
        }
        ensureTopic();
        load();
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "dedup-" + topic);
        producer = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
    }

    @Override
    protected void doStop() {
        if (producer != null) {
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
        producer.send(new ProducerRecord<>(topic, key, Long.toString(now).getBytes(StandardCharsets.US_ASCII)),
                (metadata, error) -> {
                    if (error != null) {
                        LOG.warn("Could not persist a de-duplication key to {}: {}", topic, error.toString());
                    }
                });
        return true;
    }

    @Override
    public boolean contains(String key) {
        synchronized (seen) {
            return isFresh(key, System.currentTimeMillis());
        }
    }

    @Override
    public boolean remove(String key) {
        boolean removed;
        synchronized (seen) {
            removed = seen.remove(key) != null;
        }
        if (removed) {
            producer.send(new ProducerRecord<>(topic, key, null));
        }
        return removed;
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
        keys.forEach(k -> producer.send(new ProducerRecord<>(topic, k, null)));
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
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        try (Admin admin = Admin.create(p)) {
            if (admin.listTopics().names().get(30, TimeUnit.SECONDS).contains(topic)) {
                return;
            }
            NewTopic newTopic = new NewTopic(topic, java.util.Optional.of(1), java.util.Optional.empty())
                    .configs(Map.of("cleanup.policy", "compact,delete", "retention.ms", Long.toString(Math.max(windowMs * 2, 60_000))));
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
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "5000");
        long now = System.currentTimeMillis();
        int loaded = 0;
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = new ArrayList<>();
            for (PartitionInfo info : consumer.partitionsFor(topic, Duration.ofMillis(loadTimeoutMs))) {
                partitions.add(new TopicPartition(topic, info.partition()));
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions, Duration.ofMillis(loadTimeoutMs));
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(loadTimeoutMs);
            while (!reached(consumer, end)) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("Timed out loading de-duplication keys from " + topic);
                }
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    synchronized (seen) {
                        seen.remove(r.key());
                        if (r.value() != null) {
                            long firstSeen = Long.parseLong(new String(r.value(), StandardCharsets.US_ASCII));
                            if (now - firstSeen < windowMs) {
                                seen.put(r.key(), firstSeen);
                                loaded++;
                            }
                        }
                    }
                }
            }
        }
        synchronized (seen) {
            evict(now);
        }
        LOG.info("De-duplication window {} ms: {} recent message ids loaded from {}", windowMs, loaded, topic);
    }

    private static boolean reached(KafkaConsumer<?, ?> consumer, Map<TopicPartition, Long> end) {
        for (Map.Entry<TopicPartition, Long> e : end.entrySet()) {
            if (consumer.position(e.getKey()) < e.getValue()) {
                return false;
            }
        }
        return true;
    }
}
