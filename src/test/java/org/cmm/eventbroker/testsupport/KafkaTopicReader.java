package org.cmm.eventbroker.testsupport;

import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.function.Predicate;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.cmm.eventbroker.platform.kafka.TopicsToEnd;

/** Reads a topic with a plain KafkaConsumer, from the beginning, the way any downstream consumer would. */
public final class KafkaTopicReader {

    private final String bootstrapServers;

    public KafkaTopicReader(String bootstrapServers) {
        this.bootstrapServers = bootstrapServers;
    }

    /** All records on the topic now (waits until the end offsets are reached). */
    public List<ConsumerRecord<String, byte[]>> readAll(String topic) {
        List<ConsumerRecord<String, byte[]>> records = new ArrayList<>();
        try (KafkaConsumer<String, byte[]> consumer = consumer()) {
            TopicsToEnd.read(consumer, List.of(topic), 0, Duration.ofSeconds(30), records::add);
        }
        return records;
    }

    /** Waits (up to 30 s) until the topic holds records matching, and returns them. */
    public List<ConsumerRecord<String, byte[]>> awaitRecords(String topic, Predicate<ConsumerRecord<String, byte[]>> matching,
                                                          int atLeast) {
        List<ConsumerRecord<String, byte[]>> found = new ArrayList<>();
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).until(() -> {
            found.clear();
            readAllIfExists(topic).stream().filter(matching).forEach(found::add);
            return found.size() >= atLeast;
        });
        return found;
    }

    private List<ConsumerRecord<String, byte[]>> readAllIfExists(String topic) {
        try (KafkaConsumer<String, byte[]> consumer = consumer()) {
            if (!consumer.listTopics(Duration.ofSeconds(10)).containsKey(topic)) {
                return List.of();
            }
        }
        return readAll(topic);
    }

    public static String header(ConsumerRecord<?, ?> record, String name) {
        Header h = record.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    public static Predicate<ConsumerRecord<String, byte[]>> controlId(String controlId) {
        return r -> controlId.equals(header(r, "hl7_control_id"));
    }

    private KafkaConsumer<String, byte[]> consumer() {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, String.valueOf(32 * 1024 * 1024));
        p.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, String.valueOf(64 * 1024 * 1024));
        return new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer());
    }
}
