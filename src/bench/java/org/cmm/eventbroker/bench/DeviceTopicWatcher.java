package org.cmm.eventbroker.bench;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.HdrHistogram.Histogram;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.cmm.eventbroker.platform.kafka.KafkaClients;

/**
 * Reads a device topic from its current end and, for the readings (or alerts) of one run, counts distinct ones,
 * duplicates and the latency from the time each was due at the gateway to the time this consumer saw it on Kafka.
 * Readings carry their run-unique id in {@code "bench"} and the due time in {@code "dueNanos"}; alerts (whose
 * unknown fields the runtime drops) carry both in the alert id: {@code "alertId":"bench:<run>:<seq>:<dueNanos>"}.
 */
final class DeviceTopicWatcher implements AutoCloseable {

    private final KafkaConsumer<String, byte[]> consumer;
    private final boolean alerts;
    final Histogram latencyMicros = new Histogram(120_000_000L, 3);
    private final Set<String> seen = new HashSet<>();
    long duplicates;
    long firstNanos;
    long lastNanos;

    DeviceTopicWatcher(String bootstrap, String topic) {
        this(bootstrap, topic, false);
    }

    /** {@code alerts}: the records are device alerts, matched by their alert id (see the class comment). */
    DeviceTopicWatcher(String bootstrap, String topic, boolean alerts) {
        this.alerts = alerts;
        consumer = KafkaClients.forBootstrap(bootstrap).consumer("device-topic-watcher", null, Map.of(
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false",
                ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "5000",
                ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "5"));
        List<TopicPartition> partitions = consumer.partitionsFor(topic, Duration.ofSeconds(30)).stream()
                .map(i -> new TopicPartition(topic, i.partition())).toList();
        consumer.assign(partitions);
        consumer.seekToEnd(partitions);
        partitions.forEach(consumer::position); // fix the start now, before anything is published
    }

    /** Polls until {@code expected} distinct readings (or alerts) of {@code run} were seen, or the timeout. */
    long await(String run, long expected, Duration timeout) {
        String marker = alerts ? "\"alertId\":\"bench:" + run + ":" : "\"bench\":\"" + run + ":";
        long deadline = System.nanoTime() + timeout.toNanos();
        while (seen.size() < expected && System.nanoTime() < deadline) {
            for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(50))) {
                long now = System.nanoTime();
                String v = new String(r.value(), StandardCharsets.UTF_8);
                int at = v.indexOf(marker);
                if (at < 0) {
                    continue;
                }
                int idStart = alerts ? at + 11 : at + 9;
                String id = v.substring(idStart, v.indexOf('"', idStart));
                if (!seen.add(id)) {
                    duplicates++;
                    continue;
                }
                if (firstNanos == 0) {
                    firstNanos = now;
                }
                lastNanos = now;
                long due;
                if (alerts) {
                    due = Long.parseLong(id.substring(id.lastIndexOf(':') + 1));
                } else {
                    int d = v.indexOf("\"dueNanos\":");
                    int end = d + 11;
                    while (end < v.length() && (Character.isDigit(v.charAt(end)) || v.charAt(end) == '-')) {
                        end++;
                    }
                    due = Long.parseLong(v.substring(d + 11, end));
                }
                latencyMicros.recordValue(Math.max(0, Math.min((now - due) / 1000, 120_000_000L)));
            }
        }
        return seen.size();
    }

    /** {@link #await} on its own thread, so Kafka is read while the gateways publish (join before reading results). */
    Thread awaitInBackground(String run, long expected, Duration timeout) {
        Thread t = new Thread(() -> await(run, expected, timeout), "watch-" + run);
        t.start();
        return t;
    }

    long distinct() {
        return seen.size();
    }

    @Override
    public void close() {
        consumer.close();
    }
}
