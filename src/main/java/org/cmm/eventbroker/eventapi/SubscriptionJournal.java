package org.cmm.eventbroker.eventapi;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The marketplace's subscription requests kept on a compacted single-partition topic
 * ({@code cmm.eventapi.subscriptions.topic}), one record per request keyed by its id, the latest state (pending,
 * approved) its value: pending requests survive a restart, and every instance of the runtime sees the requests made on
 * the others (it reads the topic up to its end before it lists or approves). A request is written, and acknowledged by
 * Kafka, before it is answered.
 */
final class SubscriptionJournal implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SubscriptionJournal.class);

    private final String topic;
    private final KafkaProducer<String, byte[]> producer;
    private final KafkaConsumer<String, byte[]> consumer;
    private final TopicPartition partition;

    SubscriptionJournal(String topic, KafkaProducer<String, byte[]> producer, KafkaConsumer<String, byte[]> consumer) {
        this.topic = topic;
        this.producer = producer;
        this.consumer = consumer;
        this.partition = new TopicPartition(topic, 0);
        consumer.assign(List.of(partition));
        consumer.seekToBeginning(List.of(partition));
    }

    /** Writes a request's current state; returns once Kafka acknowledged it. */
    void save(Subscriptions.Subscription s) {
        ObjectNode v = RecordCodec.JSON.createObjectNode().put("id", s.id()).put("application", s.application())
                .put("channel", s.channel()).put("requested_by", s.requestedBy())
                .put("requested_at", s.requestedAt().toString()).put("status", s.status())
                .put("approved_by", s.approvedBy())
                .put("approved_at", s.approvedAt() == null ? null : s.approvedAt().toString());
        try {
            producer.send(new ProducerRecord<>(topic, 0, s.id(), RecordCodec.JSON.writeValueAsBytes(v)))
                    .get(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ApiException(503, "The subscription could not be stored.");
        } catch (Exception e) {
            LOG.warn("Subscription {} not stored on {}: {}", s.id(), topic, e.getClass().getSimpleName());
            throw new ApiException(503, "The subscription could not be stored.");
        }
    }

    /** Every request written since the last call (the first call: all of them), up to the topic's current end. */
    synchronized List<Subscriptions.Subscription> changes() {
        List<Subscriptions.Subscription> out = new ArrayList<>();
        long end = consumer.endOffsets(List.of(partition), Duration.ofSeconds(30)).get(partition);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (consumer.position(partition, Duration.ofSeconds(30)) < end) {
            if (System.nanoTime() > deadline) {
                throw new ApiException(503, "The subscriptions could not be read.");
            }
            for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                if (r.value() == null) {
                    continue;
                }
                try {
                    JsonNode v = RecordCodec.JSON.readTree(new String(r.value(), StandardCharsets.UTF_8));
                    out.add(new Subscriptions.Subscription(v.path("id").asText(), v.path("application").asText(),
                            v.path("channel").asText(), v.path("requested_by").asText(null),
                            Instant.parse(v.path("requested_at").asText()), v.path("status").asText(),
                            v.path("approved_by").asText(null), v.hasNonNull("approved_at")
                                    ? Instant.parse(v.path("approved_at").asText()) : null));
                } catch (Exception e) {
                    LOG.warn("Skipped a record of {} that is not a subscription", topic);
                }
            }
        }
        return out;
    }

    @Override
    public void close() {
        consumer.close(Duration.ofSeconds(2));
    }
}
