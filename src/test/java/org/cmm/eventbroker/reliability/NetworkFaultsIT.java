package org.cmm.eventbroker.reliability;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import ca.uhn.hl7v2.preparser.PreParser;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.cmm.eventbroker.testsupport.ChildKafkaCluster;
import org.cmm.eventbroker.testsupport.ExternalKafkaRuntime;
import org.cmm.eventbroker.testsupport.FreePorts;
import org.cmm.eventbroker.testsupport.KafkaTopicReader;
import org.cmm.eventbroker.testsupport.MllpTestClient;
import org.cmm.eventbroker.testsupport.OrderMessages;
import org.cmm.eventbroker.testsupport.ResendingSender;
import org.cmm.eventbroker.testsupport.ScriptedHl7Peer;
import org.cmm.eventbroker.testsupport.TcpProxy;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Issue 17 item 3: network faults between the runtime and an external broker, and between the runtime and an
 * outbound MLLP peer (the LIS of {@code lab-orders-to-lis}), made by a {@link TcpProxy} on loopback (this kernel has
 * no netem): 200 ms latency, a partition without RST, a silent peer; and a broker paused with SIGSTOP for longer than
 * the producer's delivery timeout. The broker is a Kafka node in a JVM of its own that advertises the proxy's address,
 * so every connection of the runtime to it goes through the proxy. The partition lasts
 * {@code cmm.test.partition-seconds} (10 s in CI; 30 s for the figure).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class NetworkFaultsIT {

    private static final int PARTITION_SECONDS = Integer.getInteger("cmm.test.partition-seconds", 10);
    private static final String ORDERS_TOPIC = "lab.orders.hematology";

    private ChildKafkaCluster broker;
    private TcpProxy brokerLink;
    private ScriptedHl7Peer lis;
    private TcpProxy lisLink;
    private ExternalKafkaRuntime runtime;
    private String bootstrap;

    @BeforeAll
    void start() throws Exception {
        int linkPort = FreePorts.next();
        Map<String, String> settings = new HashMap<>(ChildKafkaCluster.replicated(1, 1));
        settings.put("num.partitions", "2");
        settings.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + linkPort);
        broker = new ChildKafkaCluster(1, settings);
        brokerLink = new TcpProxy(linkPort, "127.0.0.1", broker.port(1));
        broker.start();
        bootstrap = "127.0.0.1:" + linkPort;
        broker.createTopic("hl7.adt.a08", 2, (short) 1);
        broker.createTopic("hl7.adt.a04", 1, (short) 1);
        broker.createTopic(ORDERS_TOPIC, 2, (short) 1);

        int lisPort = FreePorts.next();
        lis = new ScriptedHl7Peer(lisPort);
        lis.start();
        lisLink = new TcpProxy("127.0.0.1", lisPort);
        runtime = new ExternalKafkaRuntime(bootstrap, Map.of(
                "cmm.lab.lis.host", "127.0.0.1",
                "cmm.lab.lis.port", String.valueOf(lisLink.port()),
                "cmm.delivery.initial-backoff-ms", "200",
                "cmm.delivery.max-backoff-ms", "1000",
                "cmm.delivery.ack-timeout-ms", "2000"), "hl7-mllp-inbound", "lab-orders-to-lis");
    }

    @AfterEach
    void healEverything() {
        brokerLink.heal().latency(0);
        lisLink.heal().latency(0);
    }

    @AfterAll
    void stop() throws Exception {
        if (runtime != null) {
            runtime.close();
        }
        if (lis != null) {
            lis.close();
        }
        if (lisLink != null) {
            lisLink.close();
        }
        if (brokerLink != null) {
            brokerLink.close();
        }
        broker.close();
    }

    @Test
    void twoHundredMillisecondsToTheBrokerSlowTheAcksButLoseNothing() throws Exception {
        brokerLink.latency(200);
        ResendingSender sender = new ResendingSender("LAT", runtime.mllpPort(), 20, "ADT^A08^ADT_A01", 15_000);
        sender.run();
        assertEquals(20, sender.accepted().size());
        assertExactlyOnce(List.of(sender), "hl7.adt.a08");
    }

    @Test
    void aPartitionWithoutRstIsAnsweredAeAndRecoversWithoutARestart() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(3);
        List<ResendingSender> senders = new ArrayList<>();
        for (int s = 0; s < 3; s++) {
            senders.add(new ResendingSender("PART" + s, runtime.mllpPort(), 40, "ADT^A08^ADT_A01", 15_000));
        }
        List<Future<?>> running = new ArrayList<>();
        senders.forEach(s -> running.add(pool.submit(s)));
        await().atMost(Duration.ofSeconds(60)).until(() -> accepted(senders) >= 15);

        brokerLink.partition();
        long failuresBefore = failures(senders);
        // while it lasts: answered AE (or, past the sender's timeout, nothing), never AA beyond what was in flight
        await().atMost(Duration.ofSeconds(30)).until(() -> failures(senders) > failuresBefore);
        int acceptedInPartition = accepted(senders);
        await().pollDelay(Duration.ofSeconds(1)).during(Duration.ofSeconds(PARTITION_SECONDS))
                .atMost(Duration.ofSeconds(PARTITION_SECONDS + 30)).until(() -> accepted(senders) == acceptedInPartition);

        brokerLink.heal();
        for (Future<?> f : running) {
            f.get(120, TimeUnit.SECONDS);
        }
        pool.shutdown();
        System.out.printf("NetworkFaultsIT: partition of %d s without RST: %d AE, %d without answer; all %d AA after "
                + "healing%n", PARTITION_SECONDS, senders.stream().mapToLong(ResendingSender::errors).sum(),
                senders.stream().mapToLong(ResendingSender::noAnswer).sum(), accepted(senders));
        assertEquals(120, accepted(senders));
        assertExactlyOnce(senders, "hl7.adt.a08");
    }

    @Test
    void aSilentLisHoldsOnlyItsOwnDeliveriesWhileTheIntakeKeepsFlowing() throws Exception {
        lisLink.partition(); // accepts, never reads, never answers, never closes
        List<String> expected = new ArrayList<>();
        try (OrderMessages orders = new OrderMessages(bootstrap)) {
            for (int i = 0; i < 4; i++) {
                for (int p = 0; p < 3; p++) {
                    String id = "SIL-P" + p + "-" + i;
                    orders.publish(ORDERS_TOPIC, "SIL-P" + p, OrderMessages.labOrder(id, "SIL-P" + p));
                    expected.add(id);
                }
            }
        }
        // the intake of other patients' messages is not held by the silent LIS
        ResendingSender intake = new ResendingSender("SILHL7", runtime.mllpPort(), 20, "ADT^A08^ADT_A01", 15_000);
        intake.run();
        assertEquals(20, intake.accepted().size());
        assertEquals(0, intake.errors(), "the intake answered AE while only the LIS was silent");
        // the LIS consumer may poll its first orders only after the intake is done on a loaded machine
        await().atMost(Duration.ofSeconds(60)).until(() -> lisLink.accepted() > 0);
        assertEquals(List.of(), arrivals("SIL-"), "orders reached a LIS that never reads");

        lisLink.heal();
        await().atMost(Duration.ofSeconds(90)).until(() -> arrivals("SIL-").size() == expected.size());
        for (int p = 0; p < 3; p++) {
            String patient = "SIL-P" + p + "-";
            assertEquals(expected.stream().filter(id -> id.startsWith(patient)).toList(),
                    arrivals(patient), "orders of " + patient + " out of order");
        }
        long resent = expected.stream().filter(id -> lis.attempts(id) > 1).count();
        System.out.println("NetworkFaultsIT: silent LIS healed: " + expected.size() + " orders delivered, " + resent
                + " of them more than once (sent into the silence, delivered late, then again)");
    }

    @Test
    void aWriteAppliedAfterItsTimeoutIsAnsweredAeAndItsResendIsNotPublishedTwice() throws Exception {
        try (MllpTestClient client = new MllpTestClient(runtime.mllpPort())) {
            assertTrue(client.sendAndReceive(adtA04("PAUSE-0", "0000")).contains("MSA|AA|"));
        }
        broker.pause(1);
        String ack;
        try (MllpTestClient client = new MllpTestClient(runtime.mllpPort())) {
            ack = client.sendAndReceive(adtA04("PAUSE-1", "0001"));
        } finally {
            // SIGSTOP longer than the delivery timeout (5 s): the write was answered when its timeout passed
            broker.resume(1);
        }
        assertTrue(ack.contains("MSA|AE|"), "answered " + ack.replace('\r', '\n'));

        // the sender resends (a later MSH-7) until AA
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).ignoreExceptions().until(() -> {
            try (MllpTestClient client = new MllpTestClient(runtime.mllpPort())) {
                return client.sendAndReceive(adtA04("PAUSE-1", "0002")).contains("MSA|AA|");
            }
        });
        List<ConsumerRecord<String, byte[]>> copies = new KafkaTopicReader(bootstrap).readAll("hl7.adt.a04").stream()
                .filter(r -> new String(r.value(), StandardCharsets.ISO_8859_1).contains("|PAUSE-1|")).toList();
        assertEquals(1, copies.size(), "PAUSE-1 on Kafka " + copies.size() + " times");
        String msh7 = PreParser.getFields(new String(copies.get(0).value(), StandardCharsets.ISO_8859_1), "MSH-7")[0];
        System.out.println("NetworkFaultsIT: paused broker: the copy on Kafka is the "
                + (msh7.endsWith("0001") ? "first write, applied after its timeout (the resend was not published)"
                        : "resend (the first write was not applied)"));
    }

    private static String adtA04(String id, String minuteSecond) {
        return "MSH|^~\\&|EPIC|GENHOSP|CMM|CMM|20240101" + "12" + minuteSecond + "||ADT^A04^ADT_A01|" + id
                + "|P|2.5.1\rPID|1||MRN-" + id + "^^^GENHOSP^MR||DOE^JANE\rPV1|1|O\r";
    }

    private List<String> arrivals(String prefix) {
        return lis.firstArrivals().stream().filter(id -> id.startsWith(prefix)).toList();
    }

    private void assertExactlyOnce(List<ResendingSender> senders, String topic) {
        Map<String, Integer> copies = ExternalKafkaRuntime.copiesByControlId(bootstrap, topic);
        for (ResendingSender s : senders) {
            for (String id : s.accepted().keySet()) {
                assertEquals(1, copies.getOrDefault(id, 0), id + " AA'd, on Kafka " + copies.getOrDefault(id, 0)
                        + " times");
            }
        }
    }

    private static int accepted(List<ResendingSender> senders) {
        return senders.stream().mapToInt(s -> s.accepted().size()).sum();
    }

    private static long failures(List<ResendingSender> senders) {
        return senders.stream().mapToLong(s -> s.errors() + s.noAnswer()).sum();
    }
}
