package org.cmm.eventbroker.testsupport;

import static org.awaitility.Awaitility.await;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.Uuid;
import org.cmm.eventbroker.dev.EmbeddedKafkaBroker;

/**
 * Real Kafka 3.9 nodes (KRaft, each broker and controller), each in a JVM of its own ({@link KafkaNodeMain}) on
 * loopback ports, so that a test can do to one what happens to a broker in production: SIGKILL
 * ({@link #kill(int)}), SIGSTOP / SIGCONT ({@link #pause(int)}, {@link #resume(int)}), and a restart. Node ids are
 * 1..n; every node is a voter of the controller quorum.
 */
public final class ChildKafkaCluster implements AutoCloseable {

    private final Path folder;
    /** The nodes' logs, kept after the test (target/child-kafka). */
    private final Path logs;
    private final String clusterId = Uuid.randomUuid().toString();
    private final Map<Integer, Integer> ports = new HashMap<>();
    private final Map<Integer, Integer> controllerPorts = new HashMap<>();
    private final Map<Integer, Process> processes = new HashMap<>();
    private final Map<String, String> settings;
    private final String voters;

    /**
     * @param nodes    how many nodes
     * @param settings broker settings for every node (replication factor, min.insync.replicas, timeouts)
     */
    public ChildKafkaCluster(int nodes, Map<String, String> settings) throws IOException {
        this.folder = Files.createTempDirectory("cmm-kafka-cluster");
        this.logs = Files.createDirectories(Path.of("target", "child-kafka"));
        this.settings = Map.copyOf(settings);
        for (int id = 1; id <= nodes; id++) {
            ports.put(id, FreePorts.next());
            controllerPorts.put(id, FreePorts.next());
        }
        voters = controllerPorts.entrySet().stream().map(e -> e.getKey() + "@127.0.0.1:" + e.getValue())
                .collect(Collectors.joining(","));
    }

    /** Settings for n nodes with replication factor n (at most 3) and min.insync.replicas 2 for everything. */
    public static Map<String, String> replicated(int replicationFactor, int minInsync) {
        Map<String, String> s = new HashMap<>();
        s.put("default.replication.factor", String.valueOf(replicationFactor));
        s.put("min.insync.replicas", String.valueOf(minInsync));
        s.put("offsets.topic.replication.factor", String.valueOf(replicationFactor));
        s.put("offsets.topic.num.partitions", "4");
        s.put("transaction.state.log.replication.factor", String.valueOf(replicationFactor));
        s.put("transaction.state.log.min.isr", String.valueOf(minInsync));
        s.put("num.partitions", "1");
        return s;
    }

    /** Starts every node and waits until the cluster sees all of them. */
    public ChildKafkaCluster start() throws Exception {
        try {
            for (int id : ports.keySet()) {
                startNode(id);
            }
            awaitNodes(ports.size());
        } catch (Exception | Error e) {
            close(); // a node that did start must not outlive the test
            throw e;
        }
        return this;
    }

    private void startNode(int id) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xms64m");
        command.add("-Xmx256m");
        command.add("-XX:+UseSerialGC");
        command.add("-XX:TieredStopAtLevel=1");
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(KafkaNodeMain.class.getName());
        command.add(String.valueOf(id));
        command.add(String.valueOf(ports.get(id)));
        command.add(String.valueOf(controllerPorts.get(id)));
        command.add(voters);
        command.add(folder.resolve("node-" + id).toString());
        command.add(clusterId);
        settings.forEach((k, v) -> command.add(k + "=" + v));
        Process process = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logs.resolve(folder.getFileName() + "-node-" + id
                        + ".log").toFile()))
                .directory(new File(System.getProperty("user.dir"))).start();
        processes.put(id, process);
    }

    /** Waits (up to 4 minutes: JVMs starting side by side on a loaded 2-core CI) until this many nodes are registered. */
    public void awaitNodes(int count) {
        await().atMost(Duration.ofMinutes(4)).pollInterval(Duration.ofMillis(500)).ignoreExceptions().until(() -> {
            try (Admin admin = admin()) {
                return admin.describeCluster().nodes().get(5, TimeUnit.SECONDS).size() >= count;
            }
        });
    }

    public String bootstrapServers() {
        return ports.values().stream().map(p -> "127.0.0.1:" + p).collect(Collectors.joining(","));
    }

    public int port(int nodeId) {
        return ports.get(nodeId);
    }

    public Admin admin() {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "10000");
        return Admin.create(p);
    }

    /** Creates a topic with this many partitions and the cluster's default replication factor. */
    public void createTopic(String topic, int partitions, short replicationFactor) throws Exception {
        try (Admin admin = admin()) {
            admin.createTopics(List.of(new NewTopic(topic, partitions, replicationFactor))).all().get(30, TimeUnit.SECONDS);
        }
    }

    /** The node leading a partition now. */
    public int leaderOf(String topic, int partition) throws Exception {
        try (Admin admin = admin()) {
            TopicDescription d = admin.describeTopics(List.of(topic)).allTopicNames().get(10, TimeUnit.SECONDS).get(topic);
            return d.partitions().get(partition).leader().id();
        }
    }

    /** SIGKILL: the node dies at once, no shutdown hook, no controlled shutdown, nothing flushed. */
    public void kill(int nodeId) throws InterruptedException {
        Process p = processes.remove(nodeId);
        p.destroyForcibly();
        p.waitFor(30, TimeUnit.SECONDS);
    }

    /** SIGSTOP: the node is frozen; its sockets stay open, nothing is answered. */
    public void pause(int nodeId) throws Exception {
        signal(nodeId, "-STOP");
    }

    /** SIGCONT after {@link #pause(int)}: the node carries on with what it had received. */
    public void resume(int nodeId) throws Exception {
        signal(nodeId, "-CONT");
    }

    private void signal(int nodeId, String signal) throws Exception {
        Process kill = new ProcessBuilder("kill", signal, String.valueOf(processes.get(nodeId).pid()))
                .redirectErrorStream(true).start();
        if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
            throw new IllegalStateException("kill " + signal + " failed for node " + nodeId);
        }
    }

    /** Starts a killed node again on its data folder. */
    public void restart(int nodeId) throws IOException {
        startNode(nodeId);
    }

    @Override
    public void close() throws Exception {
        for (Process p : processes.values()) {
            p.destroyForcibly(); // SIGKILL also ends a paused (SIGSTOPped) node
        }
        for (Process p : processes.values()) {
            p.waitFor(30, TimeUnit.SECONDS);
        }
        processes.clear();
        EmbeddedKafkaBroker.deleteDataDir(folder);
    }
}
