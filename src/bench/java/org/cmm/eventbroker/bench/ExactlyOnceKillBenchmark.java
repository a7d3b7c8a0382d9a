package org.cmm.eventbroker.bench;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import ca.uhn.hl7v2.preparser.PreParser;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.cmm.eventbroker.dev.EmbeddedKafkaBroker;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.cmm.eventbroker.platform.kafka.TopicsToEnd;
import org.cmm.eventbroker.platform.mllp.MllpClient;

/**
 * Exactly once across crashes, the hard way: the runtime (HL7 ingest flow) in a child JVM is killed with SIGKILL
 * ({@code ProcessHandle.destroyForcibly()}) at random instants while senders stream ADT^A08s and resend whatever was
 * not answered AA (as interface engines do), then started again; after {@code bench.kills} kills every message is
 * AA'd, and each one must be on Kafka exactly once.
 *
 * <pre>mvn -B -Pbench verify -Dbench.suite=exactly-once [-Dbench.kills=5 -Dbench.killMessages=4000]</pre>
 */
public final class ExactlyOnceKillBenchmark {

    private static final int SENDERS = Integer.getInteger("bench.killSenders", 4);
    private static final int MESSAGES = Integer.getInteger("bench.killMessages", 4000);
    private static final int KILLS = Integer.getInteger("bench.kills", 5);

    private ExactlyOnceKillBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        Path work = Files.createTempDirectory("cmm-kill-bench");
        Path out = Path.of("target", "bench");
        Files.createDirectories(out);
        int port = IngestBenchmark.freePort();
        Map<String, Integer> acceptedIds = new ConcurrentHashMap<>();
        AtomicLong resends = new AtomicLong();
        try (EmbeddedKafkaBroker broker = new EmbeddedKafkaBroker("127.0.0.1", IngestBenchmark.freePort(),
                IngestBenchmark.freePort(), work.resolve("kafka"), Map.of("num.partitions", "4"))) {
            broker.start();
            String bootstrap = broker.bootstrapServers();
            ChildJvm[] runtime = {startRuntime(bootstrap, port, out, 0)};
            runtime[0].awaitPort(port, 180_000);
            ExecutorService senders = Executors.newFixedThreadPool(SENDERS);
            List<Future<?>> running = new ArrayList<>();
            for (int s = 0; s < SENDERS; s++) {
                int sender = s;
                running.add(senders.submit(() -> {
                    send(sender, port, acceptedIds, resends);
                    return null;
                }));
            }
            Random random = new Random(17);
            for (int kill = 1; kill <= KILLS; kill++) {
                Thread.sleep(1000 + random.nextInt(3000)); // a random instant mid-stream (a benchmark, not a test)
                System.out.println("kill " + kill + ": SIGKILL of the runtime (pid " + runtime[0].pid() + ") after "
                        + acceptedIds.size() + " AA");
                runtime[0].kill();
                runtime[0] = startRuntime(bootstrap, port, out, kill);
                runtime[0].awaitPort(port, 180_000);
            }
            for (Future<?> f : running) {
                f.get(30, TimeUnit.MINUTES);
            }
            senders.shutdown();
            runtime[0].close();

            Map<String, Integer> onKafka = new HashMap<>();
            try (KafkaConsumer<String, byte[]> consumer = KafkaClients.forBootstrap(bootstrap).consumer("kill-check", null, Map.of())) {
                TopicsToEnd.read(consumer, List.of("kill.adt.a08"), 0, Duration.ofMinutes(2), (ConsumerRecord<String, byte[]> r) -> {
                    try {
                        String id = PreParser.getFields(new String(r.value(), StandardCharsets.ISO_8859_1), "MSH-10")[0];
                        onKafka.merge(id, 1, Integer::sum);
                    } catch (ca.uhn.hl7v2.HL7Exception unreadable) {
                        onKafka.merge("unreadable", 1, Integer::sum);
                    }
                });
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
            long lost = acceptedIds.keySet().stream().filter(id -> !onKafka.containsKey(id)).count();
            long duplicated = onKafka.values().stream().filter(n -> n > 1).count();
            String summary = "kills " + KILLS + ", senders " + SENDERS + ", messages AA " + acceptedIds.size() + " of "
                    + (long) SENDERS * MESSAGES + ", resends " + resends.get() + ", on Kafka " + onKafka.size()
                    + " distinct, lost " + lost + ", duplicated " + duplicated;
            System.out.println(summary);
            Files.writeString(out.resolve("exactly-once-kill-latest.txt"), summary + "\n");
            if (lost > 0 || duplicated > 0 || acceptedIds.size() != SENDERS * MESSAGES) {
                throw new AssertionError("not exactly once: " + summary);
            }
        } finally {
            EmbeddedKafkaBroker.deleteDataDir(work);
        }
    }

    private static ChildJvm startRuntime(String bootstrap, int port, Path out, int generation) throws Exception {
        return new ChildJvm("runtime #" + generation, "512m", IngestBenchmark.freePort(), List.of(
                "-Dcmm.kafka.bootstrap-servers=" + bootstrap,
                "-Dcmm.flows=hl7-mllp-inbound",
                "-Dcmm.mllp.host=127.0.0.1",
                "-Dcmm.mllp.port=" + port,
                "-Dcmm.hl7.topic-prefix=kill",
                "-Dcmm.hl7.dedup.topic=kill.dedup",
                "-Dcamel.management.host=127.0.0.1",
                "-Dcamel.management.port=" + IngestBenchmark.freePort(),
                "-Dcamel.server.host=127.0.0.1",
                "-Dcamel.server.port=" + IngestBenchmark.freePort()),
                "org.cmm.eventbroker.runtime.EventBrokerMain", List.of(), out.resolve("kill-runtime-" + generation + ".log"));
    }

    /** One sender: its own messages in order, each resent (new connection, later MSH-7) until answered AA. */
    private static void send(int sender, int port, Map<String, Integer> accepted, AtomicLong resends) throws InterruptedException {
        MllpClient client = null;
        for (int i = 0; i < MESSAGES; i++) {
            String id = "K" + sender + "-" + i;
            int attempt = 0;
            while (true) {
                String message = "MSH|^~\\&|EPIC|GENHOSP|CMM|CMM|2024010112" + String.format("%04d", attempt % 10000)
                        + "||ADT^A08^ADT_A01|" + id + "|P|2.5.1\rPID|1||MRN" + sender + "x" + (i % 50)
                        + "^^^GENHOSP^MR||DOE^JOHN\rPV1|1|I|4WEST^401\r";
                try {
                    if (client == null) {
                        client = new MllpClient("127.0.0.1", port, 15_000);
                    }
                    client.send(message.getBytes(StandardCharsets.ISO_8859_1));
                    String code = PreParser.getFields(new String(client.readFrame(), StandardCharsets.ISO_8859_1), "MSA-1")[0];
                    if ("AA".equals(code)) {
                        accepted.put(id, attempt);
                        break;
                    }
                } catch (Exception noAnswer) {
                    if (client != null) {
                        try {
                            client.close();
                        } catch (Exception ignored) {
                            // reconnecting anyway
                        }
                        client = null;
                    }
                    Thread.sleep(200); // the runtime is down: back off before the resend (a sender's retry interval)
                }
                attempt++;
                resends.incrementAndGet();
            }
        }
    }
}
