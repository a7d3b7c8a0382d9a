package org.cmm.eventbroker.lab;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.cmm.eventbroker.testsupport.FreePorts;
import org.cmm.eventbroker.testsupport.OrderMessages;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.cmm.eventbroker.testsupport.ScriptedHl7Peer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The LIS down for 20 s (about 20 delivery attempts at the 1 s back-off ceiling set here), and the runtime restarted
 * while delivering: nothing lost, each patient's order kept.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LisOutageIT {

    private static final String OUTAGE_TOPIC = "lab.orders.hematology";
    private static final String RESTART_TOPIC = "lab.orders.coagulation";

    private RuntimeUnderTest env;
    private ScriptedHl7Peer lis;
    private OrderMessages orders;

    @BeforeAll
    void start() throws Exception {
        int lisPort = FreePorts.next();
        lis = new ScriptedHl7Peer(lisPort);
        env = RuntimeUnderTest.flows("lab-orders-to-lis").with(Map.of(
                "cmm.lab.lis.port", String.valueOf(lisPort),
                "cmm.delivery.initial-backoff-ms", "200",
                "cmm.delivery.max-backoff-ms", "1000",
                "cmm.delivery.ack-timeout-ms", "2000")).start();
        orders = new OrderMessages(env.bootstrapServers());
    }

    @AfterAll
    void stop() throws Exception {
        orders.close();
        env.close();
        lis.close();
    }

    @Test
    void aLisOutageOfTwentyAttemptsLosesNothingAndKeepsEachPatientsOrder() throws Exception {
        lis.stop();
        List<String> expected = publish(OUTAGE_TOPIC, "OUT", 6, 10);

        // the LIS is down for 20 s: the runtime keeps trying and commits nothing past what was not delivered
        await().pollDelay(Duration.ofSeconds(1)).during(Duration.ofSeconds(20)).atMost(Duration.ofSeconds(35))
                .until(() -> committedOrders() == 0);

        lis.start();
        await().atMost(Duration.ofSeconds(60)).until(() -> arrivals("OUT-").size() == expected.size());
        assertInOrderPerPatient("OUT", expected, arrivals("OUT-"));
        expected.forEach(id -> assertEquals(1, lis.attempts(id), id + " was delivered " + lis.attempts(id) + " times"));
        await().atMost(Duration.ofSeconds(10)).until(() -> committedOrders() == expected.size());
    }

    @Test
    void aRuntimeRestartedWhileDeliveringLosesNothingAndKeepsEachPatientsOrder() throws Exception {
        if (!lisRunning()) {
            lis.start();
        }
        env.stopRuntime();
        List<String> expected = publish(RESTART_TOPIC, "RST", 10, 100);
        env.startRuntime();
        await().atMost(Duration.ofSeconds(60)).until(() -> arrivals("RST-").size() >= 50);
        env.stopRuntime();
        int beforeRestart = arrivals("RST-").size();
        env.startRuntime();

        await().atMost(Duration.ofSeconds(90)).until(() -> arrivals("RST-").size() == expected.size());
        assertInOrderPerPatient("RST", expected, arrivals("RST-"));
        long resent = expected.stream().filter(id -> lis.attempts(id) > 1).count();
        System.out.println("LisOutageIT: runtime stopped after " + beforeRestart + " of " + expected.size()
                + " orders; sent again after the restart: " + resent);
        // a graceful stop lets the deliveries in flight finish and commits which later records were delivered too
        assertTrue(resent <= 4, "at most the deliveries in flight (concurrency 4) are sent again, got " + resent
                + " (stopped after " + beforeRestart + ")");
    }

    private boolean lisRunning() {
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", lis.port())) {
            return true;
        } catch (java.io.IOException e) {
            return false;
        }
    }

    /** Publishes perPatient orders for each of n patients, interleaved; returns the control ids in publish order. */
    private List<String> publish(String topic, String prefix, int patients, int perPatient) throws Exception {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < perPatient; i++) {
            for (int p = 0; p < patients; p++) {
                String patient = prefix + "-P" + p;
                String id = prefix + "-P" + p + "-" + i;
                orders.publish(topic, patient, OrderMessages.labOrder(id, patient));
                ids.add(id);
            }
        }
        return ids;
    }

    private void assertInOrderPerPatient(String prefix, List<String> expected, List<String> arrived) {
        for (String patient : arrived.stream().map(id -> id.substring(0, id.lastIndexOf('-'))).distinct().toList()) {
            List<String> want = expected.stream().filter(id -> id.startsWith(patient + "-")).toList();
            List<String> got = arrived.stream().filter(id -> id.startsWith(patient + "-")).toList();
            assertEquals(want, got, "orders of " + patient + " out of order");
        }
        assertEquals(expected.size(), arrived.size(), prefix + " orders lost");
    }

    private List<String> arrivals(String prefix) {
        return lis.firstArrivals().stream().filter(id -> id.startsWith(prefix)).toList();
    }

    /** Sum of the committed offsets of the lab-orders delivery group on the test topic. */
    private long committedOrders() throws Exception {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, env.bootstrapServers());
        try (Admin admin = Admin.create(p)) {
            Map<org.apache.kafka.common.TopicPartition, OffsetAndMetadata> offsets =
                    admin.listConsumerGroupOffsets("lab-orders-to-lis").partitionsToOffsetAndMetadata().get();
            return offsets.entrySet().stream().filter(e -> e.getKey().topic().equals(OUTAGE_TOPIC))
                    .mapToLong(e -> e.getValue() == null ? 0 : e.getValue().offset()).sum();
        }
    }
}
