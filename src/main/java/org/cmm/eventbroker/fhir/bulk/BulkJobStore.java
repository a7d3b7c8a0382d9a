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
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.ProducerFencedException;
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

    private final KafkaClients kafka;
    private final String topic;
    private final long writeTimeoutMs;
    private final Duration loadTimeout;
    private final Map<String, ObjectNode> jobs = new ConcurrentHashMap<>();
    private final KafkaProducer<String, byte[]> producer;

    BulkJobStore(KafkaClients kafka, String topic, long writeTimeoutMs, Duration loadTimeout) throws Exception {
        this.kafka = kafka;
        this.topic = topic;
        this.writeTimeoutMs = writeTimeoutMs;
        this.loadTimeout = loadTimeout;
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

    /**
     * Ends a job once: its final state (completed, failed) and its completion event are written in one Kafka transaction,
     * so no restart can leave one without the other, and only when the job topic does not already hold an end of this
     * job. The transactional id is the job's own: starting the transaction fences any other producer of this job (an
     * instance that resumed the same job, or this one before a restart) and completes or aborts its open transaction,
     * and the job topic is then read to its end (read_committed) to see whether the other one already ended it.
     * Readers of the completions topic see one completion per job when they read with {@code isolation.level =
     * read_committed} (an aborted attempt stays in the log for read_uncommitted readers).
     *
     * Fenced by another instance that started ending the job after this one, it waits (up to the write timeout) for
     * that end to be on the topic, and tries again if it never comes.
     *
     * @return true when this call ended the job; false when it was already ended (completed, failed or cancelled)
     *         or another instance ended it meanwhile: the job's state here is then the one on the topic
     */
    boolean finish(String jobId, ObjectNode state, String completionTopic, ObjectNode completion) throws Exception {
        for (int attempt = 1; attempt <= 3; attempt++) {
            try {
                return finishOnce(jobId, state, completionTopic, completion);
            } catch (KafkaException e) {
                if (!fenced(e)) {
                    throw e;
                }
                // another instance started ending this job after us: ours was aborted. Wait for its end to be on the
                // topic; if it never comes (that instance stopped in the middle), try again
                ObjectNode ended = awaitEnd(jobId);
                if (ended != null) {
                    jobs.put(jobId, ended);
                    return false;
                }
            }
        }
        throw new IllegalStateException("Job " + jobId + " not ended: other producers of its end fenced this one three times");
    }

    private boolean finishOnce(String jobId, ObjectNode state, String completionTopic, ObjectNode completion)
            throws Exception {
        try (KafkaProducer<String, byte[]> once = kafka.producer("bulk-jobs-" + topic + "-finish-" + jobId, Map.of(
                ProducerConfig.TRANSACTIONAL_ID_CONFIG, "cmm-" + topic + "-" + jobId,
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true",
                ProducerConfig.LINGER_MS_CONFIG, "0",
                ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, String.valueOf(writeTimeoutMs),
                ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, String.valueOf(Math.max(1000, writeTimeoutMs / 2)),
                ProducerConfig.MAX_BLOCK_MS_CONFIG, String.valueOf(Math.max(1000, writeTimeoutMs / 2))))) {
            once.initTransactions();
            ObjectNode latest = latest(jobId);
            if (latest != null && ended(latest)) {
                jobs.put(jobId, latest);
                return false;
            }
            once.beginTransaction();
            once.send(new ProducerRecord<>(topic, jobId, JSON.writeValueAsBytes(state)));
            once.send(new ProducerRecord<>(completionTopic, jobId,
                    JSON.writeValueAsString(completion).getBytes(StandardCharsets.UTF_8)));
            once.commitTransaction();
            jobs.put(jobId, state.deepCopy());
            return true;
        }
    }

    private static boolean fenced(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof ProducerFencedException || t instanceof InvalidProducerEpochException) {
                return true;
            }
        }
        return false;
    }

    /** The job's end once it is on the topic (another instance is committing it), or null after the write timeout. */
    private ObjectNode awaitEnd(String jobId) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(writeTimeoutMs);
        do {
            ObjectNode latest = latest(jobId);
            if (latest != null && ended(latest)) {
                return latest;
            }
            TimeUnit.MILLISECONDS.sleep(200); // the other instance's commit is under way
        } while (System.nanoTime() < deadline);
        return null;
    }

    static boolean ended(ObjectNode job) {
        String status = job.path("status").asText();
        return status.equals("completed") || status.equals("failed") || status.equals("cancelled");
    }

    /** The job's last committed state on the topic, read now to its end; null when the topic has none. */
    private ObjectNode latest(String jobId) throws Exception {
        ObjectNode[] found = new ObjectNode[1];
        try (KafkaConsumer<String, byte[]> reader = kafka.consumer("bulk-jobs-check-" + topic, null, Map.of(
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false",
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"))) {
            TopicsToEnd.read(reader, List.of(topic), 0, loadTimeout, r -> {
                if (jobId.equals(r.key())) {
                    try {
                        found[0] = r.value() == null ? null : (ObjectNode) JSON.readTree(r.value());
                    } catch (Exception unreadable) {
                        found[0] = null;
                    }
                }
            });
        }
        return found[0];
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
