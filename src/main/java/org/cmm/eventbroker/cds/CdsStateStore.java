package org.cmm.eventbroker.cds;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.cmm.eventbroker.platform.kafka.CompactedTopic;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.cmm.eventbroker.platform.kafka.TopicsToEnd;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The per-patient CDS state, in memory and on a compacted Kafka topic (key = patient id, value = the state's JSON,
 * a tombstone when nothing is left), read to its end at start. A write returns only when Kafka acknowledged it
 * (acks=all), and the in-memory copy changes only then, so memory never runs ahead of the topic.
 *
 * <p>Why not Kafka Streams: see routes/cds/cds-rules.yaml (state and consistency). One runtime instance owns the state:
 * instances do not tail each other's writes.
 */
public final class CdsStateStore implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(CdsStateStore.class);

    private final KafkaClients kafkaClients;
    private final String topic;
    private final long writeTimeoutMs;
    private final Map<String, PatientState> states = new ConcurrentHashMap<>();
    private KafkaProducer<String, byte[]> producer;

    public CdsStateStore(KafkaClients kafkaClients, String topic, long writeTimeoutMs) {
        this.kafkaClients = kafkaClients;
        this.topic = topic;
        this.writeTimeoutMs = writeTimeoutMs;
    }

    public void start(long loadTimeoutMs) throws Exception {
        CompactedTopic.ensure(kafkaClients, topic, 1);
        load(loadTimeoutMs);
        producer = kafkaClients.producer("cds-state-" + topic, Map.of(
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true",
                ProducerConfig.LINGER_MS_CONFIG, "0",
                ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, String.valueOf(writeTimeoutMs),
                ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, String.valueOf(Math.max(1000, writeTimeoutMs / 2)),
                ProducerConfig.MAX_BLOCK_MS_CONFIG, String.valueOf(Math.max(1000, writeTimeoutMs / 2))));
    }

    @Override
    public void close() {
        if (producer != null) {
            producer.close(Duration.ofSeconds(10));
            producer = null;
        }
    }

    public PatientState get(String patientId) {
        return states.get(patientId);
    }

    public Set<String> patients() {
        return Set.copyOf(states.keySet());
    }

    /** Writes the patient's new state and waits for Kafka's acknowledgement; throws when it did not come. */
    public void put(String patientId, PatientState state) throws Exception {
        byte[] value = state == null || state.isEmpty() ? null : state.toJson();
        try {
            producer.send(new ProducerRecord<>(topic, patientId, value)).get(writeTimeoutMs + 1000, TimeUnit.MILLISECONDS);
        } catch (ExecutionException | TimeoutException e) {
            Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
            throw new IllegalStateException("CDS state not written to " + topic + ": " + cause.getClass().getSimpleName(), cause);
        }
        if (value == null) {
            states.remove(patientId);
        } else {
            states.put(patientId, state);
        }
    }

    private void load(long loadTimeoutMs) {
        int[] unreadable = {0};
        try (KafkaConsumer<String, byte[]> consumer = kafkaClients.consumer("cds-state-loader-" + topic, null, Map.of(
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false",
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"))) {
            TopicsToEnd.read(consumer, List.of(topic), 0, Duration.ofMillis(loadTimeoutMs), r -> {
                if (r.key() == null) {
                    return;
                }
                if (r.value() == null) {
                    states.remove(r.key());
                    return;
                }
                try {
                    states.put(r.key(), PatientState.fromJson(r.value()));
                } catch (IOException | RuntimeException e) {
                    unreadable[0]++;
                    LOG.warn("Skipping an unreadable CDS state record at {}-{}@{}", topic, r.partition(), r.offset());
                }
            });
        }
        LOG.info("CDS state: {} patients loaded from {} ({} unreadable records skipped)", states.size(), topic, unreadable[0]);
    }
}
