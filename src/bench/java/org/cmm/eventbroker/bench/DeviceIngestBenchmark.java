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

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.cmm.eventbroker.dev.EmbeddedKafkaBroker;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.cmm.eventbroker.stack.MqttBroker;

/**
 * Device ingest, MQTT to Kafka, in one run on one machine: the runtime's device-mqtt-ingest route side by side with
 * a plain Java bridge ({@link PlainMqttKafkaBridge}), both in their own JVM against the same mosquitto (a child
 * process) and the same Kafka broker. For each: a warm-up, the throughput with every reading published flat out
 * (readings/s on Kafka, from the first publish to the last reading seen on the topic), and the latency at 1,000
 * devices reporting at 1 Hz (due time at the gateway to the record seen by a Kafka consumer, HdrHistogram). Each
 * run checks that every reading arrived (lost / duplicated). For the flat-out phase it also records where the CPU
 * went ({@link CpuShares}: the system, mosquitto, this JVM with Kafka and the gateways, how busy the cores were).
 *
 * <p>The alert path in the same paced phase: while the 1,000 devices report, alerts are published too (QoS 1,
 * canonical alert JSON, kind physiological, {@code bench.devices.alertsPerSecond} spread over the devices) on
 * {@code <system>alerts/patient-monitor/PM-<n>/alerts}; their latency is from the time each was due at the gateway
 * to its record on {@code device.alerts.physiological} (runtime, through device-alerts-mqtt-inbound) or
 * {@code bl.device.alerts.physiological} (the bridge, forwarding the payload as it came).
 *
 * <p>System properties: bench.devices (1000), bench.gateways (10), bench.devices.messages (100000),
 * bench.devices.warmup (20000; repeated, up to bench.devices.warmupRoundsMax (16) rounds, until the JIT compiled for
 * less than bench.devices.warmupJitQuietMs (300) in a round), bench.devices.hz (1), bench.devices.rateSeconds (30),
 * bench.devices.alertsPerSecond (20; 0 leaves the alert path out), bench.devices.alertWarmup (1000),
 * bench.devices.systems (bridge,runtime), bench.heap (512m).
 */
public final class DeviceIngestBenchmark {

    private static final int DEVICES = Integer.getInteger("bench.devices", 1000);
    private static final int GATEWAYS = Integer.getInteger("bench.gateways", 10);
    private static final long MESSAGES = Long.getLong("bench.devices.messages", 100_000);
    private static final long WARMUP = Long.getLong("bench.devices.warmup", 20_000);
    private static final double HZ = Double.parseDouble(System.getProperty("bench.devices.hz", "1"));
    private static final int RATE_SECONDS = Integer.getInteger("bench.devices.rateSeconds", 30);
    private static final String HEAP = System.getProperty("bench.heap", "512m");
    private static final double ALERTS_PER_SECOND = Double.parseDouble(
            System.getProperty("bench.devices.alertsPerSecond", "20"));
    private static final long ALERT_WARMUP = Long.getLong("bench.devices.alertWarmup", 1000);
    private static final int WARMUP_ROUNDS_MAX = Integer.getInteger("bench.devices.warmupRoundsMax", 16);
    private static final long WARMUP_JIT_QUIET_MS = Long.getLong("bench.devices.warmupJitQuietMs", 300);
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
        report.put("alertsPerSecond", ALERTS_PER_SECOND);
        printTable(systems);
        System.out.println("load average " + report.get("loadAverageAtStart") + " -> " + report.get("loadAverageAtEnd"));
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
        String alertsPrefix = kafkaPrefix + "alerts";
        String topic = kafkaPrefix + ".patient-monitor.vitals";
        // the runtime's alert sink writes device.alerts.<kind> (no prefix setting); the bridge its own topic
        String alertTopic = (system.equals("runtime") ? "" : kafkaPrefix + ".") + "device.alerts.physiological";
        createTopic(bootstrap, topic);
        createTopic(bootstrap, alertTopic);
        String clientId = "bench-" + system + "-" + System.nanoTime();
        ChildJvm child;
        if (system.equals("bridge")) {
            child = new ChildJvm("plain Paho + KafkaProducer bridge", HEAP, freePort(), List.of(),
                    PlainMqttKafkaBridge.class.getName(),
                    List.of(mqttUrl, clientId, mqttPrefix, bootstrap, kafkaPrefix, alertsPrefix),
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
                    "-Dcmm.device.alerts.mqtt.topic-prefix=" + alertsPrefix,
                    "-Dcmm.device.alerts.mqtt.client-id=" + clientId + "-alerts",
                    // every listener on a free loopback port: other work shares this machine
                    "-Dcamel.management.host=127.0.0.1",
                    "-Dcamel.management.port=" + freePort(),
                    "-Dcamel.server.host=127.0.0.1",
                    "-Dcamel.server.port=" + freePort(),
                    "-Dcmm.mllp.host=127.0.0.1",
                    "-Dcmm.mllp.port=" + freePort(),
                    "-Dcmm.lab.results.host=127.0.0.1",
                    "-Dcmm.lab.results.port=" + freePort(),
                    "-Dcmm.pharmacy.dispensing.host=127.0.0.1",
                    "-Dcmm.pharmacy.dispensing.port=" + freePort(),
                    "-Dcmm.device.pcd.host=127.0.0.1",
                    "-Dcmm.device.pcd.port=" + freePort(),
                    "-Dcmm.device.alerts.pcd.host=127.0.0.1",
                    "-Dcmm.device.alerts.pcd.port=" + freePort()));
            String extra = System.getProperty("bench.runtimeJvmArgs", "");
            if (!extra.isBlank()) {
                props.addAll(List.of(extra.trim().split("\\s+")));
            }
            props.addAll(0, ChildJvm.RUNTIME_JVM_OPTIONS);
            child = new ChildJvm("runtime", HEAP, freePort(), props, "org.cmm.eventbroker.runtime.EventBrokerMain",
                    List.of(), out.resolve("device-runtime.log"));
        }
        Map<String, Object> figures = new LinkedHashMap<>();
        boolean alerts = ALERTS_PER_SECOND > 0;
        try (child; SimulatedGateways gateways = new SimulatedGateways(mqttUrl, mqttPrefix, alertsPrefix, GATEWAYS,
                DEVICES)) {
            awaitSubscribed(gateways, bootstrap, topic);
            if (alerts) {
                awaitAlertsSubscribed(gateways, bootstrap, alertTopic);
            }
            // warm-up: the JIT, Kafka's producer batches and the topic's partitions (and the alert path)
            long jitAtStart = child.compilationMillis();
            try (DeviceTopicWatcher w = new DeviceTopicWatcher(bootstrap, topic);
                 DeviceTopicWatcher a = new DeviceTopicWatcher(bootstrap, alertTopic, true)) {
                Thread watching = w.awaitInBackground("warmup", WARMUP, Duration.ofMinutes(5));
                Thread watchingAlerts = alerts ? a.awaitInBackground("warmup", ALERT_WARMUP, Duration.ofMinutes(5))
                        : null;
                if (alerts) {
                    gateways.alertsFlatOut("warmup", ALERT_WARMUP);
                }
                gateways.flatOut("warmup", WARMUP);
                watching.join();
                check("warm-up", w.distinct(), WARMUP);
                if (alerts) {
                    watchingAlerts.join();
                    check("alert warm-up", a.distinct(), ALERT_WARMUP);
                }
            }
            // more warm-up rounds while the JIT is still busy: a runtime with every flow compiles for a minute or
            // more after start, and that CPU would otherwise be counted against the readings measured below
            List<Long> warmupJit = new ArrayList<>(List.of(child.compilationMillis() - jitAtStart));
            for (int round = 2; round <= WARMUP_ROUNDS_MAX
                    && warmupJit.get(warmupJit.size() - 1) >= WARMUP_JIT_QUIET_MS; round++) {
                long jitBefore = child.compilationMillis();
                long cpuBefore = child.processCpuNanos();
                try (DeviceTopicWatcher w = new DeviceTopicWatcher(bootstrap, topic)) {
                    long start = System.nanoTime();
                    Thread watching = w.awaitInBackground("warmup" + round, WARMUP, Duration.ofMinutes(5));
                    gateways.flatOut("warmup" + round, WARMUP);
                    watching.join();
                    check("warm-up " + round, w.distinct(), WARMUP);
                    warmupJit.add(child.compilationMillis() - jitBefore);
                    System.out.printf(Locale.ROOT, "  warm-up %d: %.0f readings/s, %.1f us CPU per reading, JIT %d ms%n",
                            round, WARMUP / ((w.lastNanos - start) / 1e9),
                            (child.processCpuNanos() - cpuBefore) / 1000.0 / WARMUP, warmupJit.get(warmupJit.size() - 1));
                }
            }
            System.out.println("  warm-up rounds, JIT ms each: " + warmupJit);
            figures.put("warmupRoundsJitMillis", warmupJit);
            // throughput: every reading published flat out
            try (DeviceTopicWatcher w = new DeviceTopicWatcher(bootstrap, topic)) {
                List<Double> load = loadAverage();
                long jitBefore = child.compilationMillis();
                long cpuBefore = child.processCpuNanos();
                CpuShares sharesBefore = CpuShares.now(cpuBefore);
                long start = System.nanoTime();
                Thread watching = w.awaitInBackground("flat", MESSAGES, Duration.ofMinutes(10));
                gateways.flatOut("flat", MESSAGES);
                double publishSeconds = (System.nanoTime() - start) / 1e9;
                watching.join();
                long got = w.distinct();
                double seconds = (w.lastNanos - start) / 1e9;
                long cpuAfter = child.processCpuNanos();
                long cpu = cpuAfter - cpuBefore;
                figures.put("cpu", CpuShares.now(cpuAfter).since(sharesBefore, got));
                figures.put("readings", MESSAGES);
                figures.put("readingsPerSecond", round(got / seconds));
                figures.put("publishedPerSecond", round(MESSAGES / publishSeconds));
                figures.put("cpuMicrosPerReading", round(cpu / 1000.0 / got));
                figures.put("jitCompilationMillis", child.compilationMillis() - jitBefore);
                figures.put("lost", MESSAGES - got);
                figures.put("duplicated", w.duplicates);
                figures.put("publishFailures", gateways.failed.get());
                figures.put("loadAverage", load);
                System.out.println("  flat out: " + figures);
            }
            // latency at 1,000 devices x 1 Hz, and of the alerts published meanwhile
            try (DeviceTopicWatcher w = new DeviceTopicWatcher(bootstrap, topic);
                 DeviceTopicWatcher a = new DeviceTopicWatcher(bootstrap, alertTopic, true)) {
                long count = (long) (DEVICES * HZ * RATE_SECONDS);
                long alertCount = (long) (ALERTS_PER_SECOND * RATE_SECONDS);
                Thread watching = w.awaitInBackground("paced", count, Duration.ofSeconds(RATE_SECONDS + 120));
                Thread watchingAlerts = alerts
                        ? a.awaitInBackground("paced", alertCount, Duration.ofSeconds(RATE_SECONDS + 120)) : null;
                List<Double> loadBefore = loadAverage();
                gateways.paced("paced", HZ, RATE_SECONDS, "paced", ALERTS_PER_SECOND);
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
                lat.put("loadAverageBefore", loadBefore);
                lat.put("loadAverage", loadAverage());
                figures.put("paced", lat);
                System.out.println("  1,000 devices at 1 Hz: " + lat);
                if (alerts) {
                    watchingAlerts.join();
                    long gotAlerts = a.distinct();
                    Map<String, Object> al = new LinkedHashMap<>();
                    al.put("topic", alertTopic);
                    al.put("alerts", alertCount);
                    al.put("ratePerSecond", ALERTS_PER_SECOND);
                    al.put("p50Ms", round(a.latencyMicros.getValueAtPercentile(50) / 1000.0));
                    al.put("p99Ms", round(a.latencyMicros.getValueAtPercentile(99) / 1000.0));
                    al.put("p999Ms", round(a.latencyMicros.getValueAtPercentile(99.9) / 1000.0));
                    al.put("maxMs", round(a.latencyMicros.getMaxValue() / 1000.0));
                    al.put("lost", alertCount - gotAlerts);
                    al.put("duplicated", a.duplicates);
                    figures.put("alerts", al);
                    System.out.println("  alerts at " + ALERTS_PER_SECOND + "/s meanwhile: " + al);
                }
                figures.put("publishFailuresTotal", gateways.failed.get());
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

    /** Publishes a probe alert every 500 ms until one reaches {@code alertTopic}: the alert subscription exists. */
    private static void awaitAlertsSubscribed(SimulatedGateways gateways, String bootstrap, String alertTopic)
            throws Exception {
        try (DeviceTopicWatcher w = new DeviceTopicWatcher(bootstrap, alertTopic, true)) {
            long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
            for (long i = 0; w.distinct() == 0; i++) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("no alert reached " + alertTopic
                            + " in 3 minutes; see the child's log");
                }
                gateways.publishAlert("probe", 0, i, System.nanoTime());
                w.await("probe", 1, Duration.ofMillis(500));
            }
        }
    }

    private static void check(String what, long got, long expected) {
        if (got < expected) {
            throw new IllegalStateException(what + ": " + got + " of " + expected + " readings reached Kafka");
        }
    }

    private static void createTopic(String bootstrap, String topic) throws Exception {
        try (Admin admin = KafkaClients.forBootstrap(bootstrap).admin("device-benchmark", Map.of())) {
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
        System.out.printf(Locale.ROOT, "%-8s %12s %10s %10s %8s | %8s %8s %8s %8s %8s | %8s %8s %8s %8s %8s%n",
                "system", "readings/s", "cpu us/rd", "lost/dup", "heap MB", "p50 ms", "p99 ms", "p99.9 ms", "max ms",
                "lost/dup", "alert50", "alert99", "alert999", "alertmax", "lost/dup");
        for (Map.Entry<String, Map<String, Object>> e : systems.entrySet()) {
            Map<String, Object> s = e.getValue();
            Map<String, Object> p = (Map<String, Object>) s.get("paced");
            Map<String, Object> a = (Map<String, Object>) s.getOrDefault("alerts", Map.of());
            System.out.printf(Locale.ROOT, "%-8s %12s %10s %10s %8s | %8s %8s %8s %8s %8s | %8s %8s %8s %8s %8s%n",
                    e.getKey(), s.get("readingsPerSecond"), s.get("cpuMicrosPerReading"),
                    s.get("lost") + "/" + s.get("duplicated"), s.get("peakHeapMb"), p.get("p50Ms"), p.get("p99Ms"),
                    p.get("p999Ms"), p.get("maxMs"), p.get("lost") + "/" + p.get("duplicated"), a.get("p50Ms"),
                    a.get("p99Ms"), a.get("p999Ms"), a.get("maxMs"), a.get("lost") + "/" + a.get("duplicated"));
        }
        System.out.println();
        System.out.printf(Locale.ROOT, "%-8s %14s %14s %14s %14s  (flat out, CPU us per reading)%n", "system",
                "system", "mosquitto", "kafka+load", "cores busy");
        for (Map.Entry<String, Map<String, Object>> e : systems.entrySet()) {
            Map<String, Object> c = (Map<String, Object>) e.getValue().getOrDefault("cpu", Map.of());
            System.out.printf(Locale.ROOT, "%-8s %14s %14s %14s %14s%n", e.getKey(), c.get("systemMicrosPerReading"),
                    c.get("mosquittoMicrosPerReading"), c.get("harnessMicrosPerReading"), c.get("machineBusy"));
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
