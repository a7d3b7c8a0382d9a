package org.cmm.eventbroker.bench;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Stream;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.cmm.eventbroker.kafka.EmbeddedKafkaBroker;
import org.cmm.eventbroker.stack.MqttBroker;

/**
 * Device ingest, MQTT to Kafka, in one run on one machine: the runtime's device-mqtt-ingest route side by side with
 * a plain Java bridge ({@link PlainMqttKafkaBridge}), both in their own JVM against the same mosquitto (a child
 * process) and the same Kafka broker. For each: a warm-up, the throughput with every reading published flat out
 * (readings/s on Kafka, from the first publish to the last reading seen on the topic), and the latency at 1,000
 * devices reporting at 1 Hz (due time at the gateway to the record seen by a Kafka consumer, HdrHistogram). Each
 * run checks that every reading arrived (lost / duplicated).
 *
 * <p>System properties: bench.devices (1000), bench.gateways (10), bench.devices.messages (100000),
 * bench.devices.warmup (20000), bench.devices.hz (1), bench.devices.rateSeconds (30),
 * bench.devices.systems (bridge,runtime), bench.heap (512m), bench.alerts (false).
 */
public final class DeviceIngestBenchmark {

    private static final int DEVICES = Integer.getInteger("bench.devices", 1000);
    private static final int GATEWAYS = Integer.getInteger("bench.gateways", 10);
    private static final long MESSAGES = Long.getLong("bench.devices.messages", 100_000);
    private static final long WARMUP = Long.getLong("bench.devices.warmup", 20_000);
    private static final double HZ = Double.parseDouble(System.getProperty("bench.devices.hz", "1"));
    private static final int RATE_SECONDS = Integer.getInteger("bench.devices.rateSeconds", 30);
    private static final String HEAP = System.getProperty("bench.heap", "512m");
    private static final boolean ALERTS = Boolean.getBoolean("bench.alerts");
    private static final List<String> SYSTEMS = List.of(System.getProperty("bench.devices.systems", "bridge,runtime")
            .split(","));

    private DeviceIngestBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        Path work = Files.createTempDirectory("cmm-device-bench");
        Path out = Path.of("target", "benchmarks");
        Files.createDirectories(out);
        Map<String, Object> report = new LinkedHashMap<>();
        report.put("date", ZonedDateTime.now().toString());
        report.put("cores", Runtime.getRuntime().availableProcessors());
        report.put("java", System.getProperty("java.version"));
        report.put("devices", DEVICES);
        report.put("gateways", GATEWAYS);
        report.put("messages", MESSAGES);
        report.put("loadAverageAtStart", loadAverage());
        Map<String, Map<String, Object>> systems = new LinkedHashMap<>();
        report.put("systems", systems);
        Path mosquittoBinary = MqttBroker.findExecutable().orElseThrow(() -> new IllegalStateException(
                "mosquitto is required (apt-get install mosquitto)"));
        // no queue or in-flight caps of its own: the subscriber's receive maximum (1000) is the only window, as the
        // runtime configures it; mosquitto's default of 1000 queued messages would drop QoS 1 readings when flat out
        try (EmbeddedKafkaBroker kafka = new EmbeddedKafkaBroker("127.0.0.1", freePort(), freePort(),
                work.resolve("kafka"), Map.of("num.partitions", "4"));
             MqttBroker mosquitto = new MqttBroker(mosquittoBinary, "127.0.0.1", freePort(), work.resolve("mosquitto"))
                     .extraConfig("max_queued_messages 0\nmax_inflight_messages 0\n")) {
            kafka.start();
            mosquitto.start(10_000);
            String bootstrap = kafka.bootstrapServers();
            for (String system : SYSTEMS) {
                systems.put(system, runSystem(system, bootstrap, mosquitto.url(), out));
            }
        } finally {
            EmbeddedKafkaBroker.deleteDataDir(work);
        }
        report.put("loadAverageAtEnd", loadAverage());
        Map<String, Object> bridge = systems.get("bridge");
        Map<String, Object> runtime = systems.get("runtime");
        if (bridge != null && runtime != null) {
            report.put("runtime/bridge", round(number(runtime, "readingsPerSecond") / number(bridge, "readingsPerSecond")));
        }
        report.put("alerts", alertLatency());
        printTable(systems);
        System.out.println("load average " + report.get("loadAverageAtStart") + " -> " + report.get("loadAverageAtEnd")
                + "; alerts: " + report.get("alerts"));
        String json = Json.write(report);
        Path file = out.resolve("devices-" + System.currentTimeMillis() + ".json");
        Files.writeString(file, json);
        Files.writeString(out.resolve("devices-latest.json"), json);
        System.out.println("figures written to " + file);
    }

    private static Map<String, Object> runSystem(String system, String bootstrap, String mqttUrl, Path out)
            throws Exception {
        System.out.println("=== " + system + " ===");
        String kafkaPrefix = switch (system) {
            case "bridge" -> "bl";
            case "runtime" -> "rt";
            default -> throw new IllegalArgumentException("unknown system " + system);
        };
        String mqttPrefix = kafkaPrefix + "dev";
        String topic = kafkaPrefix + ".patient-monitor.vitals";
        createTopic(bootstrap, topic);
        String clientId = "bench-" + system + "-" + System.nanoTime();
        ChildJvm child;
        if (system.equals("bridge")) {
            child = new ChildJvm("plain Paho + KafkaProducer bridge", HEAP, freePort(), List.of(),
                    PlainMqttKafkaBridge.class.getName(), List.of(mqttUrl, clientId, mqttPrefix, bootstrap, kafkaPrefix),
                    out.resolve("device-bridge.log"));
        } else {
            List<String> props = new ArrayList<>(List.of(
                    "-Dcmm.kafka.bootstrap-servers=" + bootstrap,
                    "-Dcmm.device.mqtt.enabled=true",
                    "-Dcmm.device.mqtt.broker-url=" + mqttUrl,
                    "-Dcmm.device.mqtt.client-id=" + clientId,
                    "-Dcmm.device.mqtt.topic-prefix=" + mqttPrefix,
                    "-Dcmm.device.topic-prefix=" + kafkaPrefix,
                    "-Dcmm.device.dead-letter-topic=" + kafkaPrefix + ".device.dlq",
                    // every listener on a free loopback port: other work shares this machine
                    "-Dcamel.management.host=127.0.0.1",
                    "-Dcamel.management.port=" + freePort(),
                    "-Dcamel.server.host=127.0.0.1",
                    "-Dcamel.server.port=" + freePort(),
                    "-Dcmm.mllp.host=127.0.0.1",
                    "-Dcmm.mllp.port=" + freePort(),
                    "-Dcmm.lab.results.port=" + freePort(),
                    "-Dcmm.pharmacy.dispensing.port=" + freePort(),
                    "-Dcmm.device.pcd.host=127.0.0.1",
                    "-Dcmm.device.pcd.port=" + freePort()));
            String extra = System.getProperty("bench.runtimeJvmArgs", "");
            if (!extra.isBlank()) {
                props.addAll(List.of(extra.trim().split("\\s+")));
            }
            child = new ChildJvm("runtime", HEAP, freePort(), props, "org.cmm.eventbroker.runtime.EventBrokerMain",
                    List.of(), out.resolve("device-runtime.log"));
        }
        Map<String, Object> figures = new LinkedHashMap<>();
        try (child; SimulatedGateways gateways = new SimulatedGateways(mqttUrl, mqttPrefix, GATEWAYS, DEVICES)) {
            awaitSubscribed(gateways, bootstrap, topic);
            // warm-up: the JIT, Kafka's producer batches and the topic's partitions
            try (DeviceTopicWatcher w = new DeviceTopicWatcher(bootstrap, topic)) {
                Thread watching = w.awaitInBackground("warmup", WARMUP, Duration.ofMinutes(5));
                gateways.flatOut("warmup", WARMUP);
                watching.join();
                check("warm-up", w.distinct(), WARMUP);
            }
            // throughput: every reading published flat out
            try (DeviceTopicWatcher w = new DeviceTopicWatcher(bootstrap, topic)) {
                List<Double> load = loadAverage();
                long cpuBefore = child.processCpuNanos();
                long start = System.nanoTime();
                Thread watching = w.awaitInBackground("flat", MESSAGES, Duration.ofMinutes(10));
                gateways.flatOut("flat", MESSAGES);
                double publishSeconds = (System.nanoTime() - start) / 1e9;
                watching.join();
                long got = w.distinct();
                double seconds = (w.lastNanos - start) / 1e9;
                long cpu = child.processCpuNanos() - cpuBefore;
                figures.put("readings", MESSAGES);
                figures.put("readingsPerSecond", round(got / seconds));
                figures.put("publishedPerSecond", round(MESSAGES / publishSeconds));
                figures.put("cpuMicrosPerReading", round(cpu / 1000.0 / got));
                figures.put("lost", MESSAGES - got);
                figures.put("duplicated", w.duplicates);
                figures.put("publishFailures", gateways.failed.get());
                figures.put("loadAverage", load);
                System.out.println("  flat out: " + figures);
            }
            // latency at 1,000 devices x 1 Hz
            try (DeviceTopicWatcher w = new DeviceTopicWatcher(bootstrap, topic)) {
                long count = (long) (DEVICES * HZ * RATE_SECONDS);
                Thread watching = w.awaitInBackground("paced", count, Duration.ofSeconds(RATE_SECONDS + 120));
                gateways.paced("paced", HZ, RATE_SECONDS);
                watching.join();
                long got = w.distinct();
                Map<String, Object> lat = new LinkedHashMap<>();
                lat.put("readings", count);
                lat.put("ratePerSecond", DEVICES * HZ);
                lat.put("p50Ms", round(w.latencyMicros.getValueAtPercentile(50) / 1000.0));
                lat.put("p99Ms", round(w.latencyMicros.getValueAtPercentile(99) / 1000.0));
                lat.put("p999Ms", round(w.latencyMicros.getValueAtPercentile(99.9) / 1000.0));
                lat.put("maxMs", round(w.latencyMicros.getMaxValue() / 1000.0));
                lat.put("lost", count - got);
                lat.put("duplicated", w.duplicates);
                lat.put("loadAverage", loadAverage());
                figures.put("paced", lat);
                System.out.println("  1,000 devices at 1 Hz: " + lat);
            }
            figures.put("peakHeapMb", round(child.peakHeapMb()));
        }
        return figures;
    }

    /** Publishes a probe every 500 ms until one reaches Kafka: the subscription exists and the path works. */
    private static void awaitSubscribed(SimulatedGateways gateways, String bootstrap, String topic) throws Exception {
        try (DeviceTopicWatcher w = new DeviceTopicWatcher(bootstrap, topic)) {
            long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
            for (long i = 0; w.distinct() == 0; i++) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("no reading reached " + topic + " in 3 minutes; see the child's log");
                }
                gateways.publish("probe", 0, i, System.nanoTime());
                w.await("probe", 1, Duration.ofMillis(500));
            }
        }
    }

    /**
     * TODO(device alerts): the alert path (device.alerts.*) is being built on another branch. When its route exists,
     * publish readings that cross an alert threshold at 1,000 readings/s and measure p99 from publish to the record on
     * device.alerts.* (the target: 50 ms). Until then this reports it as skipped instead of measuring something else.
     */
    private static String alertLatency() throws IOException {
        boolean alertRoute;
        try (Stream<Path> files = Files.walk(Path.of("routes"))) {
            alertRoute = files.filter(Files::isRegularFile).anyMatch(f -> {
                try {
                    return Files.readString(f).contains("device.alerts");
                } catch (IOException e) {
                    return false;
                }
            });
        }
        if (!alertRoute) {
            return "skipped: no route publishes to device.alerts.* on this branch";
        }
        if (!ALERTS) {
            return "skipped: an alert route exists; run with -Dbench.alerts=true once its measurement is written";
        }
        throw new UnsupportedOperationException("alert latency measurement not written yet (see alertLatency)");
    }

    private static void check(String what, long got, long expected) {
        if (got < expected) {
            throw new IllegalStateException(what + ": " + got + " of " + expected + " readings reached Kafka");
        }
    }

    private static void createTopic(String bootstrap, String topic) throws Exception {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        try (Admin admin = Admin.create(p)) {
            admin.createTopics(List.of(new NewTopic(topic, 4, (short) 1))).all().get();
        }
    }

    /** The 1, 5 and 15 minute load averages: the machine is shared, the figures mean little without them. */
    private static List<Double> loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return List.of(Double.parseDouble(f[0]), Double.parseDouble(f[1]), Double.parseDouble(f[2]));
        } catch (IOException | RuntimeException e) {
            return List.of();
        }
    }

    @SuppressWarnings("unchecked")
    private static void printTable(Map<String, Map<String, Object>> systems) {
        System.out.println();
        System.out.printf(Locale.ROOT, "%-8s %12s %10s %10s %8s | %8s %8s %8s %8s | %8s%n", "system", "readings/s",
                "cpu us/rd", "lost/dup", "heap MB", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "lost/dup");
        for (Map.Entry<String, Map<String, Object>> e : systems.entrySet()) {
            Map<String, Object> s = e.getValue();
            Map<String, Object> p = (Map<String, Object>) s.get("paced");
            System.out.printf(Locale.ROOT, "%-8s %12s %10s %10s %8s | %8s %8s %8s %8s | %8s%n", e.getKey(),
                    s.get("readingsPerSecond"), s.get("cpuMicrosPerReading"), s.get("lost") + "/" + s.get("duplicated"),
                    s.get("peakHeapMb"), p.get("p50Ms"), p.get("p99Ms"), p.get("p999Ms"), p.get("maxMs"),
                    p.get("lost") + "/" + p.get("duplicated"));
        }
    }

    private static double number(Map<String, Object> m, String key) {
        return ((Number) m.get(key)).doubleValue();
    }

    private static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
