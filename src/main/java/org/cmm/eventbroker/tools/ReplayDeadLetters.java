package org.cmm.eventbroker.tools;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.header.Header;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.cmm.eventbroker.platform.kafka.TopicsToEnd;
import org.cmm.eventbroker.platform.mllp.MllpClient;

/**
 * Replays dead-lettered HL7 messages: reads {@code hl7.dlq} (or another dead-letter topic) up to its current end and
 * sends each record's bytes, unchanged, to an MLLP listener — normally the runtime's own, after the cause of the
 * rejection was fixed (a charset setting, a sender's configuration). Prints one line per record: offset, the ACK
 * code, the control id it acknowledged, and the original reason; never the message.
 *
 * <pre>
 * java -cp target/cmm-event-broker.jar org.cmm.eventbroker.tools.ReplayDeadLetters \
 *      [--bootstrap 127.0.0.1:9092] [--command-config client.properties] [--topic hl7.dlq] [--mllp 127.0.0.1:2575]
 *      [--from-offset N] [--reason-contains TEXT]
 * </pre>
 * Exits 0 when every replayed message was accepted (AA). Records that were never whole messages (bytes outside a
 * frame, frames cut off by a hang-up) are skipped unless {@code --reason-contains} selects them. A secured cluster is
 * reached with {@code --command-config}, a Kafka client properties file (security.protocol, sasl.*, ssl.*), as with
 * Kafka's own tools.
 */
public final class ReplayDeadLetters {

    /** What happened to one dead-lettered record. */
    public record Outcome(int partition, long offset, String ackCode, String acknowledgedControlId, String originalReason) {
        @Override
        public String toString() {
            return partition + "/" + offset + " " + ackCode + " " + (acknowledgedControlId == null ? "-" : acknowledgedControlId)
                    + " (was: " + originalReason + ")";
        }
    }

    private ReplayDeadLetters() {
    }

    public static void main(String[] args) throws Exception {
        String bootstrap = null;
        String commandConfig = null;
        String topic = null;
        String mllp = "127.0.0.1:2575";
        long fromOffset = 0;
        String reasonContains = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--bootstrap" -> bootstrap = args[++i];
                case "--command-config" -> commandConfig = args[++i];
                case "--topic" -> topic = args[++i];
                case "--mllp" -> mllp = args[++i];
                case "--from-offset" -> fromOffset = Long.parseLong(args[++i]);
                case "--reason-contains" -> reasonContains = args[++i];
                default -> {
                    System.err.println("unknown argument " + args[i]);
                    System.exit(2);
                }
            }
        }
        if (topic == null || topic.isBlank()) {
            // the dead-letter topic is the site's (cmm.hl7.dead-letter-topic, hl7.dlq by default): named, never guessed
            System.err.println("--topic is required: the dead-letter topic to replay (cmm.hl7.dead-letter-topic)");
            System.exit(2);
        }
        int colon = mllp.lastIndexOf(':');
        List<Outcome> outcomes = replay(KafkaCommandConfig.clientsOrExit(bootstrap, commandConfig), topic,
                mllp.substring(0, colon), Integer.parseInt(mllp.substring(colon + 1)),
                fromOffset, reasonContains);
        outcomes.forEach(System.out::println);
        long accepted = outcomes.stream().filter(o -> "AA".equals(o.ackCode())).count();
        System.out.println(accepted + " of " + outcomes.size() + " replayed messages accepted");
        System.exit(accepted == outcomes.size() ? 0 : 1);
    }

    /** Replays the records of the topic (all partitions, from the offset to the current end) that match. */
    public static List<Outcome> replay(KafkaClients kafka, String topic, String host, int port, long fromOffset,
                                       String reasonContains) throws IOException {
        List<ConsumerRecord<String, byte[]>> records = read(kafka, topic, fromOffset);
        List<Outcome> outcomes = new ArrayList<>();
        try (MllpClient client = new MllpClient(host, port, 30_000)) {
            for (ConsumerRecord<String, byte[]> r : records) {
                String reason = header(r, "dlq_reason");
                boolean wholeMessage = reason == null || !(reason.contains("outside an MLLP frame") || reason.contains("cut off"));
                if (reasonContains != null ? reason == null || !reason.contains(reasonContains) : !wholeMessage) {
                    continue;
                }
                client.send(r.value());
                String ack = new String(client.readFrame(), StandardCharsets.ISO_8859_1);
                outcomes.add(new Outcome(r.partition(), r.offset(), field(ack, "MSA", 1), field(ack, "MSA", 2), reason));
            }
        }
        return outcomes;
    }

    private static List<ConsumerRecord<String, byte[]>> read(KafkaClients kafka, String topic, long fromOffset) {
        List<ConsumerRecord<String, byte[]>> records = new ArrayList<>();
        try (KafkaConsumer<String, byte[]> consumer = kafka.consumer("replay-dead-letters", null, Map.of(
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false",
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, String.valueOf(32 * 1024 * 1024)))) {
            TopicsToEnd.read(consumer, List.of(topic), fromOffset, Duration.ofMinutes(2), records::add);
        }
        records.sort(Comparator.comparingLong((ConsumerRecord<String, byte[]> r) -> r.timestamp()).thenComparingLong(ConsumerRecord::offset));
        return records;
    }

    /** Field n of the first segment with that name (ACKs are plain ER7). */
    private static String field(String message, String segment, int n) {
        for (String line : message.split("[\r\n]+")) {
            if (line.startsWith(segment)) {
                String[] fields = line.split("\\|", -1);
                return fields.length > n ? fields[n] : null;
            }
        }
        return null;
    }

    private static String header(ConsumerRecord<?, ?> record, String name) {
        Header h = record.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }
}
