package org.cmm.eventbroker.tools;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.cmm.eventbroker.platform.kafka.TopicsToEnd;

/**
 * Puts dead-lettered records of the outbound flows back on the topic they came from, so the flow delivers them again
 * once the cause is fixed (the LIS's configuration, an order type added to the list, a corrected resource). Each
 * record goes back with its key (so it keeps its patient's partition), its body untouched and its original headers;
 * the dead-letter headers ({@code dlq_*}) and the peer's last answer are left behind.
 *
 * <pre>
 * java -cp target/cmm-event-broker.jar org.cmm.eventbroker.tools.RepublishDeadLetters \
 *      [--bootstrap 127.0.0.1:9092] [--command-config client.properties] [--topic delivery.dlq] [--from-offset N] [--original-topic lab.orders.chemistry]
 *      [--reason-contains TEXT]
 * </pre>
 * Prints one line per record (partition/offset, where it went, the original reason; never the message) and exits 0
 * when every selected record was written (acks=all). A secured cluster is reached with {@code --command-config}, a
 * Kafka client properties file (security.protocol, sasl.*, ssl.*), as with Kafka's own tools.
 */
public final class RepublishDeadLetters {

    /** Headers that describe the dead-lettering, not the record. */
    private static final List<String> DROPPED_PREFIXES = List.of("dlq_", "peer_ack_");

    /** What happened to one dead-lettered record. */
    public record Outcome(int partition, long offset, String target, long targetOffset, String originalReason) {
        @Override
        public String toString() {
            return partition + "/" + offset + " -> " + (target == null ? "skipped (no dlq_original_topic)"
                    : target + "@" + targetOffset) + " (was: " + originalReason + ")";
        }
    }

    private RepublishDeadLetters() {
    }

    public static void main(String[] args) throws Exception {
        String bootstrap = null;
        String commandConfig = null;
        String topic = null;
        long fromOffset = 0;
        String originalTopic = null;
        String reasonContains = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--bootstrap" -> bootstrap = args[++i];
                case "--command-config" -> commandConfig = args[++i];
                case "--topic" -> topic = args[++i];
                case "--from-offset" -> fromOffset = Long.parseLong(args[++i]);
                case "--original-topic" -> originalTopic = args[++i];
                case "--reason-contains" -> reasonContains = args[++i];
                default -> {
                    System.err.println("unknown argument " + args[i]);
                    System.exit(2);
                }
            }
        }
        if (topic == null || topic.isBlank()) {
            // the dead-letter topic is the site's (cmm.delivery.dead-letter-topic, delivery.dlq by default): named, never guessed
            System.err.println("--topic is required: the dead-letter topic to republish from (cmm.delivery.dead-letter-topic)");
            System.exit(2);
        }
        List<Outcome> outcomes = republish(KafkaCommandConfig.clientsOrExit(bootstrap, commandConfig), topic, fromOffset,
                originalTopic, reasonContains);
        outcomes.forEach(System.out::println);
        long written = outcomes.stream().filter(o -> o.target() != null).count();
        System.out.println(written + " of " + outcomes.size() + " dead letters republished");
        System.exit(written == outcomes.size() ? 0 : 1);
    }

    /** Republishes the selected records of the dead-letter topic, from the offset to its current end. */
    public static List<Outcome> republish(KafkaClients kafka, String topic, long fromOffset, String originalTopic,
                                          String reasonContains) throws Exception {
        List<ConsumerRecord<String, byte[]>> records = new ArrayList<>();
        try (KafkaConsumer<String, byte[]> consumer = kafka.consumer("republish-dead-letters", null, Map.of(
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false",
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, String.valueOf(32 * 1024 * 1024)))) {
            TopicsToEnd.read(consumer, List.of(topic), fromOffset, Duration.ofMinutes(2), records::add);
        }
        records.sort(Comparator.comparingLong((ConsumerRecord<String, byte[]> r) -> r.timestamp())
                .thenComparingLong(ConsumerRecord::offset));

        List<Outcome> outcomes = new ArrayList<>();
        try (KafkaProducer<String, byte[]> producer = kafka.producer("republish-dead-letters", Map.of(
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true",
                ProducerConfig.MAX_REQUEST_SIZE_CONFIG, String.valueOf(16 * 1024 * 1024)))) {
            for (ConsumerRecord<String, byte[]> r : records) {
                String reason = header(r, "dlq_reason");
                String target = header(r, "dlq_original_topic");
                if (originalTopic != null && !originalTopic.equals(target)
                        || reasonContains != null && (reason == null || !reason.contains(reasonContains))) {
                    continue;
                }
                if (target == null || target.isEmpty()) {
                    outcomes.add(new Outcome(r.partition(), r.offset(), null, -1, reason));
                    continue;
                }
                RecordHeaders headers = new RecordHeaders();
                for (Header h : r.headers()) {
                    if (DROPPED_PREFIXES.stream().noneMatch(h.key()::startsWith)) {
                        headers.add(h);
                    }
                }
                RecordMetadata written = producer.send(new ProducerRecord<>(target, null, r.key(), r.value(), headers)).get();
                outcomes.add(new Outcome(r.partition(), r.offset(), target, written.offset(), reason));
            }
        }
        return outcomes;
    }

    private static String header(ConsumerRecord<?, ?> record, String name) {
        Header h = record.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }
}
