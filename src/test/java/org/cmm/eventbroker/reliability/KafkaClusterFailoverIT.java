package org.cmm.eventbroker.reliability;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import org.cmm.eventbroker.testsupport.ChildKafkaCluster;
import org.cmm.eventbroker.testsupport.ExternalKafkaRuntime;
import org.cmm.eventbroker.testsupport.ResendingSender;
import org.junit.jupiter.api.Test;

/**
 * Issue 17 item 2: a three-broker cluster (Kafka 3.9 in KRaft, each node broker and controller in a JVM of its own),
 * replication factor 3 and {@code min.insync.replicas=2}, the runtime's HL7 MLLP intake pointed at it as in
 * production ({@code cmm.kafka.bootstrap-servers}), three senders resending whatever was not answered AA, and the
 * leader of the data topic's partition killed with SIGKILL mid-stream: every message AA'd is on Kafka exactly once
 * (as a {@code read_committed} consumer sees it), and the time to recover is reported (the longest stretch without
 * any AA from the kill on; an upper bound, as the load of the machine adds to it).
 */
class KafkaClusterFailoverIT {

    private static final String TOPIC = "hl7.adt.a08";
    private static final int SENDERS = 3;
    private static final int MESSAGES = Integer.getInteger("cmm.test.failover.messages", 150);

    @Test
    void killingThePartitionLeaderMidStreamLosesAndDuplicatesNothingAaed() throws Exception {
        Map<String, String> settings = new HashMap<>(ChildKafkaCluster.replicated(3, 2));
        // a dead node is fenced, and leaves the ISR, within seconds (Kafka's defaults: 9 s and 30 s)
        settings.put("broker.session.timeout.ms", "6000");
        settings.put("broker.heartbeat.interval.ms", "500");
        settings.put("replica.lag.time.max.ms", "6000");
        try (ChildKafkaCluster cluster = new ChildKafkaCluster(3, settings).start()) {
            cluster.createTopic(TOPIC, 1, (short) 3);
            try (ExternalKafkaRuntime runtime = new ExternalKafkaRuntime(cluster.bootstrapServers(), Map.of(),
                    "hl7-mllp-inbound")) {
                List<ResendingSender> senders = new ArrayList<>();
                ExecutorService pool = Executors.newFixedThreadPool(SENDERS);
                for (int s = 0; s < SENDERS; s++) {
                    ResendingSender sender = new ResendingSender("FO" + s, runtime.mllpPort(), MESSAGES,
                            "ADT^A08^ADT_A01", 15_000);
                    senders.add(sender);
                    pool.submit(sender);
                }
                await().atMost(Duration.ofSeconds(90)).until(() -> accepted(senders) >= SENDERS * MESSAGES / 3);

                int leader = cluster.leaderOf(TOPIC, 0);
                int beforeKill = accepted(senders);
                long killedAt = System.nanoTime();
                cluster.kill(leader);

                await().atMost(Duration.ofSeconds(180)).until(() -> senders.stream().allMatch(ResendingSender::done));
                pool.shutdown();
                assertTrue(pool.awaitTermination(30, TimeUnit.SECONDS));
                int newLeader = cluster.leaderOf(TOPIC, 0);

                // the time to recover: the longest stretch without any AA from the kill on (an AA of a write the
                // dead leader had already replicated can arrive just after the kill, so not "the first AA after")
                long[] times = senders.stream().flatMap(s -> s.accepted().values().stream())
                        .filter(t -> t > killedAt).mapToLong(Long::longValue).sorted().toArray();
                long longestGap = times.length == 0 ? 0 : times[0] - killedAt;
                for (int i = 1; i < times.length; i++) {
                    longestGap = Math.max(longestGap, times[i] - times[i - 1]);
                }
                double recoverySeconds = longestGap / 1e9;
                long errors = senders.stream().mapToLong(ResendingSender::errors).sum();
                long noAnswer = senders.stream().mapToLong(ResendingSender::noAnswer).sum();

                Map<String, Integer> copies = ExternalKafkaRuntime.copiesByControlId(cluster.bootstrapServers(), TOPIC);
                List<String> lost = new ArrayList<>();
                List<String> duplicated = new ArrayList<>();
                for (ResendingSender s : senders) {
                    for (String id : s.accepted().keySet()) {
                        int n = copies.getOrDefault(id, 0);
                        if (n == 0) {
                            lost.add(id);
                        } else if (n > 1) {
                            duplicated.add(id);
                        }
                    }
                }
                String summary = String.format("three brokers, RF 3, min.insync.replicas 2: leader node %d killed "
                        + "(SIGKILL) after %d AA, new leader node %d; %d of %d AA, %d AE, %d without answer; longest time "
                        + "without any AA from the kill on (time to recover) %.2f s; on Kafka (read_committed) %d distinct, lost %d, duplicated %d",
                        leader, beforeKill, newLeader, accepted(senders), SENDERS * MESSAGES, errors, noAnswer,
                        recoverySeconds, copies.size(), lost.size(), duplicated.size());
                System.out.println("KafkaClusterFailoverIT: " + summary);
                Path out = Path.of("target", "reliability");
                Files.createDirectories(out);
                Files.writeString(out.resolve("cluster-failover.txt"), summary + "\n");

                assertEquals(SENDERS * MESSAGES, accepted(senders));
                assertEquals(List.of(), lost, "AA'd but not on Kafka");
                assertEquals(List.of(), duplicated, "on Kafka more than once");
                assertEquals(SENDERS * MESSAGES, copies.size(), "records on the topic that no sender sent: " + copies.size());
                assertTrue(newLeader != leader);
            }
        }
    }

    private static int accepted(List<ResendingSender> senders) {
        return senders.stream().mapToInt(s -> s.accepted().size()).sum();
    }
}
