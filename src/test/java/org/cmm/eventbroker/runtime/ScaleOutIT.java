package org.cmm.eventbroker.runtime;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.cmm.eventbroker.testsupport.FreePorts;
import org.cmm.eventbroker.testsupport.OrderMessages;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.cmm.eventbroker.testsupport.ScriptedHl7Peer;
import org.junit.jupiter.api.Test;

/**
 * Two runtime instances against one Kafka share the consuming flows' work through the consumer group: both deliver,
 * nothing is lost or delivered twice, each patient's orders stay in order, and when one instance stops the other
 * takes over its partitions.
 */
class ScaleOutIT {

    private static final String TOPIC = "lab.orders.microbiology";

    @Test
    void twoInstancesShareTheDeliveriesAndTheSurvivorTakesOverWithoutLossOrDuplicates() throws Exception {
        int lisPort = FreePorts.next();
        Map<String, String> props = Map.of("cmm.lab.lis.port", String.valueOf(lisPort),
                "cmm.delivery.initial-backoff-ms", "200", "cmm.delivery.max-backoff-ms", "1000");
        try (ScriptedHl7Peer lis = new ScriptedHl7Peer(lisPort).start();
             RuntimeUnderTest first = RuntimeUnderTest.flows("lab-orders-to-lis").with(props).start();
             OrderMessages orders = new OrderMessages(first.bootstrapServers())) {
            // the topic exists before the second instance joins, so the group splits it from the first assignment
            // (a topic that appears later is split once every instance's metadata has seen it)
            orders.publish(TOPIC, "SCALE-WARMUP", OrderMessages.labOrder("SCALE-WARMUP", "SCALE-WARMUP"));
            await().atMost(Duration.ofSeconds(30)).until(() -> lis.attempts("SCALE-WARMUP") == 1);
            RuntimeUnderTest second = RuntimeUnderTest.flows("lab-orders-to-lis").with(props).broker(first.broker()).start();
            try {
                await().atMost(Duration.ofSeconds(60)).until(() -> membersWithPartitions(first.bootstrapServers()) == 2);
                shareAndHandOver(lis, orders, second);
            } finally {
                second.close();
            }
        }
    }

    private void shareAndHandOver(ScriptedHl7Peer lis, OrderMessages orders, RuntimeUnderTest second) throws Exception {
        {
            List<String> expected = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                for (int p = 0; p < 8; p++) {
                    String id = "SCALE-P" + p + "-" + i;
                    orders.publish(TOPIC, "SCALE-P" + p, OrderMessages.labOrder(id, "SCALE-P" + p));
                    expected.add(id);
                }
            }
            await().atMost(Duration.ofSeconds(60)).until(() -> arrivals(lis).size() >= expected.size() / 2);
            assertTrue(lis.senders().size() >= 2, "both instances delivered (one MLLP connection each): " + lis.senders());

            second.stopRuntime(); // the other instance must take over its partitions
            await().atMost(Duration.ofSeconds(90)).until(() -> arrivals(lis).size() == expected.size());

            for (int p = 0; p < 8; p++) {
                String patient = "SCALE-P" + p + "-";
                assertEquals(expected.stream().filter(id -> id.startsWith(patient)).toList(),
                        arrivals(lis).stream().filter(id -> id.startsWith(patient)).toList(), "order of " + patient);
            }
            long twice = expected.stream().filter(id -> lis.attempts(id) > 1).count();
            assertTrue(twice <= 4, "at most what was in flight at the hand-over is sent again, got " + twice);
        }
    }

    /** Members of the lab-orders delivery group that own partitions of the test topic. */
    private static long membersWithPartitions(String bootstrap) throws Exception {
        java.util.Properties p = new java.util.Properties();
        p.put(org.apache.kafka.clients.admin.AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(p)) {
            return admin.describeConsumerGroups(List.of("lab-orders-to-lis")).all().get().get("lab-orders-to-lis")
                    .members().stream()
                    .filter(m -> m.assignment().topicPartitions().stream().anyMatch(tp -> tp.topic().equals(TOPIC)))
                    .count();
        }
    }

    private static List<String> arrivals(ScriptedHl7Peer lis) {
        return lis.firstArrivals().stream().filter(id -> id.startsWith("SCALE-P")).toList();
    }
}
