package org.cmm.eventbroker.fhir.bulk;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.cmm.eventbroker.platform.kafka.CompactedTopic;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.cmm.eventbroker.platform.kafka.TopicsToEnd;

/**
 * The state of bulk jobs (export or import), one JSON record per job id on a compacted topic: the last record of a
 * job is its truth, so a runtime that restarts reads the topic to its end and resumes the jobs that were running.
 * A write returns only once Kafka acknowledged it; the map in memory follows the writes of this instance.
 */
final class BulkJobStore implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final String topic;
    private final long writeTimeoutMs;
    private final Map<String, ObjectNode> jobs = new ConcurrentHashMap<>();
    private final KafkaProducer<String, byte[]> producer;

    BulkJobStore(KafkaClients kafka, String topic, long writeTimeoutMs, Duration loadTimeout) throws Exception {
        this.topic = topic;
        this.writeTimeoutMs = writeTimeoutMs;
        CompactedTopic.ensure(kafka, topic, 1);
        try (KafkaConsumer<String, byte[]> reader = kafka.consumer("bulk-jobs-loader-" + topic, null, Map.of(
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false",
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"))) {
            TopicsToEnd.read(reader, List.of(topic), 0, loadTimeout, r -> {
                if (r.key() == null) {
                    return;
                }
                if (r.value() == null) {
                    jobs.remove(r.key());
                    return;
                }
                try {
                    jobs.put(r.key(), (ObjectNode) JSON.readTree(r.value()));
                } catch (Exception unreadable) {
                    jobs.remove(r.key());
                }
            });
        }
        producer = kafka.producer("bulk-jobs-" + topic, Map.of(
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true",
                ProducerConfig.LINGER_MS_CONFIG, "0",
                ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, String.valueOf(writeTimeoutMs),
                ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, String.valueOf(Math.max(1000, writeTimeoutMs / 2)),
                ProducerConfig.MAX_BLOCK_MS_CONFIG, String.valueOf(Math.max(1000, writeTimeoutMs / 2))));
    }

    Optional<ObjectNode> get(String jobId) {
        ObjectNode job = jobs.get(jobId);
        return job == null ? Optional.empty() : Optional.of(job.deepCopy());
    }

    List<ObjectNode> all() {
        List<ObjectNode> copies = new ArrayList<>();
        jobs.values().forEach(j -> copies.add(j.deepCopy()));
        return copies;
    }

    /** Stores the job's new state; returns once Kafka acknowledged it. */
    void put(String jobId, ObjectNode state) throws Exception {
        send(new ProducerRecord<>(topic, jobId, JSON.writeValueAsBytes(state)));
        jobs.put(jobId, state.deepCopy());
    }

    /** Publishes a record on another topic (completion events) with the same acknowledged write. */
    void publish(String otherTopic, String key, ObjectNode value) throws Exception {
        send(new ProducerRecord<>(otherTopic, key, JSON.writeValueAsString(value).getBytes(StandardCharsets.UTF_8)));
    }

    private void send(ProducerRecord<String, byte[]> record) throws Exception {
        try {
            producer.send(record).get(writeTimeoutMs + 1000, TimeUnit.MILLISECONDS);
        } catch (ExecutionException | TimeoutException e) {
            Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
            throw new IllegalStateException(record.key() + " not written to " + record.topic() + ": "
                    + cause.getClass().getSimpleName(), cause);
        }
    }

    @Override
    public void close() {
        producer.close(Duration.ofSeconds(10));
    }
}
