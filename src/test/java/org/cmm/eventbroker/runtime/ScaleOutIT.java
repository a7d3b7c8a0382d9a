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
             RuntimeUnderTest first = new RuntimeUnderTest(props);
             RuntimeUnderTest second = new RuntimeUnderTest(first.broker(), props);
             OrderMessages orders = new OrderMessages(first.bootstrapServers())) {

            List<String> expected = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                for (int p = 0; p < 8; p++) {
                    String id = "SCALE-P" + p + "-" + i;
                    orders.publish(TOPIC, "SCALE-P" + p, OrderMessages.labOrder(id, "SCALE-P" + p));
                    expected.add(id);
                }
            }
            await().atMost(Duration.ofSeconds(60)).until(() -> arrivals(lis).size() >= expected.size() / 4);
            assertEquals(2, lis.senders().size(), "both instances delivered (one MLLP connection each): " + lis.senders());

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

    private static List<String> arrivals(ScriptedHl7Peer lis) {
        return lis.firstArrivals().stream().filter(id -> id.startsWith("SCALE-")).toList();
    }
}
