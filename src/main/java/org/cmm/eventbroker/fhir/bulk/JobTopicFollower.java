package org.cmm.eventbroker.fhir.bulk;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps reading a bulk job topic (read_committed, no consumer group) for as long as the runtime runs, so every
 * instance knows every job's current state: the status URL answers at any instance, a cancel made at another instance
 * reaches the runner, and an expired lease is seen where it can be taken. The constructor returns once the topic is
 * read to the end it had when the read started (the jobs there are known before the runtime takes any); the records
 * after that are handed over from a thread of its own.
 */
final class JobTopicFollower implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(JobTopicFollower.class);

    /** One record of the topic: its offset orders it against this instance's own writes. */
    interface Listener {
        void record(long offset, String key, byte[] value);
    }

    private final KafkaConsumer<String, byte[]> consumer;
    private final Listener listener;
    private final Thread thread;
    private volatile boolean closed;

    JobTopicFollower(KafkaClients kafka, String topic, Duration loadTimeout, Listener listener) {
        this.listener = listener;
        consumer = kafka.consumer("bulk-jobs-follower-" + topic, null, Map.of(
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false",
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"));
        try {
            List<TopicPartition> partitions = new ArrayList<>();
            for (PartitionInfo info : consumer.partitionsFor(topic, loadTimeout)) {
                partitions.add(new TopicPartition(topic, info.partition()));
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions, loadTimeout);
            long deadline = System.nanoTime() + loadTimeout.toNanos();
            while (end.entrySet().stream().anyMatch(e -> consumer.position(e.getKey()) < e.getValue())) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("Timed out reading " + topic + " to its end");
                }
                consumer.poll(Duration.ofMillis(200)).forEach(this::hand);
            }
        } catch (RuntimeException e) {
            consumer.close(Duration.ZERO);
            throw e;
        }
        thread = new Thread(this::follow, "fhir-bulk-follower-" + topic);
        thread.setDaemon(true);
        thread.start();
    }

    private void follow() {
        while (!closed) {
            try {
                consumer.poll(Duration.ofMillis(500)).forEach(this::hand);
            } catch (WakeupException e) {
                // closing
            } catch (RuntimeException e) {
                if (closed) {
                    return;
                }
                LOG.warn("Bulk job topic: reading failed ({}); reading on", e.getClass().getSimpleName());
                try {
                    Thread.sleep(1000); // a back-off before the next poll, not a wait for something to happen
                } catch (InterruptedException interrupted) {
                    return;
                }
            }
        }
    }

    private void hand(ConsumerRecord<String, byte[]> r) {
        if (r.key() == null) {
            return;
        }
        try {
            listener.record(r.offset(), r.key(), r.value());
        } catch (RuntimeException e) {
            LOG.warn("Bulk job topic: record of job {} at offset {} not applied ({})", r.key(), r.offset(),
                    e.getClass().getSimpleName());
        }
    }

    @Override
    public void close() {
        closed = true;
        consumer.wakeup();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        consumer.close(Duration.ofSeconds(5));
    }
}
