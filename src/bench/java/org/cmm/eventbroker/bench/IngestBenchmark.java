package org.cmm.eventbroker.bench;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.LongFunction;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.header.Header;
import org.cmm.eventbroker.dev.EmbeddedKafkaBroker;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.cmm.eventbroker.platform.kafka.TopicsToEnd;

/**
 * One run, one machine, one broker: the runtime's HL7 ingest path side by side with its two baselines (raw Kafka
 * sends, and a hand-written HAPI server + KafkaProducer), at saturation and at a fixed offered rate. Every message
 * acknowledged AA is then looked up on Kafka: it must be there exactly once, with the bytes sent.
 *
 * <p>System properties: bench.connections (16), bench.messages (100000), bench.warmup (20000; repeated up to
 * bench.warmupRoundsMax (8) times until a round's JIT compile time is under bench.warmupJitQuietMs (300)), bench.rate (1000),
 * bench.rateSeconds (30), bench.rateWarmupSeconds (90: every flow only, at the offered rate before the measured
 * seconds), bench.systems (raw,handwritten,runtime; also raw-secure, runtime-secure and runtime-all),
 * bench.heap (512m). {@code runtime} is the HL7 ingest flow alone; {@code runtime-all} (issue 17 item 8) is the runtime
 * as users start it, every flow in one JVM, with the default topic prefix so the flows consuming the HL7 topics work
 * on the same traffic: {@code -Dbench.systems=raw,runtime,runtime-all} gives raw, ingest alone and every flow side by
 * side in one run (ratios runtime/raw, runtime-all/raw; p99 at the offered rate; server CPU per message).
 *
 * <p>The secured systems (issue 12, {@link SecureBench}) run against a second broker of the same harness JVM in the
 * production posture (SASL_SSL SCRAM-SHA-512, the RBAC authorizer and its audit): raw-secure is the raw baseline over
 * it with the runtime's credentials, runtime-secure the runtime with cmm.security.enabled=true (MLLP over TLS with a
 * client certificate, its Kafka clients over SASL_SSL). Ratios: runtime-secure/runtime (the aim: at least
 * 0.8), raw-secure/raw and runtime-secure/raw-secure.
 */
public final class IngestBenchmark {

    private static final int CONNECTIONS = Integer.getInteger("bench.connections", 16);
    private static final long MESSAGES = Long.getLong("bench.messages", 100_000);
    private static final long WARMUP = Long.getLong("bench.warmup", 20_000);
    private static final double RATE = Double.parseDouble(System.getProperty("bench.rate", "1000"));
    private static final int RATE_SECONDS = Integer.getInteger("bench.rateSeconds", 30);
    /**
     * Every flow: seconds at the offered rate before the measured ones, so that the figure is the steady state's, not
     * the JIT's warm-up (with every flow in one JVM the compilers were still busy a minute after start: 18-25 % of the
     * runtime's CPU during the measured rate, by /proc per-thread CPU). Their p99 is reported too.
     */
    private static final int RATE_WARMUP_SECONDS_ALL = Integer.getInteger("bench.rateWarmupSeconds", 90);
    /** Warm-up rounds of bench.warmup messages, until one compiles for less than the quiet figure (ms of JIT). */
    private static final int WARMUP_ROUNDS_MAX = Integer.getInteger("bench.warmupRoundsMax", 8);
    private static final long WARMUP_JIT_QUIET_MS = Long.getLong("bench.warmupJitQuietMs", 300);
    private static final String HEAP = System.getProperty("bench.heap", "512m");
    /** The heap of the runtime with every flow (runtime-all): it holds every flow's consumers, state and windows. */
    private static final String HEAP_ALL = System.getProperty("bench.heapAll", "2g");
    private static final List<String> SYSTEMS = List.of(System.getProperty("bench.systems", "raw,handwritten,runtime").split(","));

    private IngestBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        Path work = Files.createTempDirectory("cmm-bench");
        Path out = Path.of("target", "benchmarks");
        Files.createDirectories(out);
        Map<String, Object> report = new LinkedHashMap<>();
        report.put("date", ZonedDateTime.now().toString());
        report.put("cores", Runtime.getRuntime().availableProcessors());
        report.put("java", System.getProperty("java.version"));
        report.put("connections", CONNECTIONS);
        report.put("messages", MESSAGES);
        report.put("offeredRate", RATE);
        Map<String, Map<String, Object>> systems = new LinkedHashMap<>();
        report.put("systems", systems);

        try (EmbeddedKafkaBroker broker = new EmbeddedKafkaBroker("127.0.0.1", freePort(), freePort(), work.resolve("kafka"),
                Map.of("num.partitions", "4"))) {
            broker.start();
            String bootstrap = broker.bootstrapServers();
            SecureBench secure = null;
            try {
                if (SYSTEMS.stream().anyMatch(s -> s.endsWith("-secure"))) {
                    secure = SecureBench.start(work.resolve("security"), work.resolve("kafka-secure"));
                }
                for (String system : SYSTEMS) {
                    systems.put(system, runSystem(system, bootstrap, secure, out));
                }
            } finally {
                if (secure != null) {
                    secure.close();
                }
            }
        } finally {
            EmbeddedKafkaBroker.deleteDataDir(work);
        }

        double raw = throughput(systems, "raw");
        double hand = throughput(systems, "handwritten");
        double rt = throughput(systems, "runtime");
        Map<String, Object> ratios = new LinkedHashMap<>();
        if (rt > 0 && raw > 0) {
            ratios.put("runtime/raw", round(rt / raw));
        }
        if (rt > 0 && hand > 0) {
            ratios.put("runtime/handwritten", round(rt / hand));
        }
        double all = throughput(systems, "runtime-all");
        if (all > 0 && raw > 0) {
            ratios.put("runtime-all/raw", round(all / raw));
        }
        if (all > 0 && rt > 0) {
            ratios.put("runtime-all/runtime", round(all / rt));
        }
        double rawSecure = throughput(systems, "raw-secure");
        double rtSecure = throughput(systems, "runtime-secure");
        if (rtSecure > 0 && rt > 0) {
            ratios.put("runtime-secure/runtime", round(rtSecure / rt));
        }
        if (rawSecure > 0 && raw > 0) {
            ratios.put("raw-secure/raw", round(rawSecure / raw));
        }
        if (rtSecure > 0 && rawSecure > 0) {
            ratios.put("runtime-secure/raw-secure", round(rtSecure / rawSecure));
        }
        Object cpu = serverCpu(systems, "runtime");
        Object cpuSecure = serverCpu(systems, "runtime-secure");
        if (cpu instanceof Number c && cpuSecure instanceof Number cs && c.doubleValue() > 0) {
            ratios.put("runtime-secure/runtime server CPU per message", round(cs.doubleValue() / c.doubleValue()));
        }
        report.put("ratios", ratios);
        printTable(systems, ratios);
        String json = Json.write(report);
        Path file = out.resolve("ingest-" + System.currentTimeMillis() + ".json");
        Files.writeString(file, json);
        Files.writeString(out.resolve("ingest-latest.json"), json);
        System.out.println("figures written to " + file);
    }

    private static Map<String, Object> runSystem(String system, String plainBootstrap, SecureBench secure, Path out)
            throws Exception {
        System.out.println("=== " + system + " ===");
        String prefix = switch (system) {
            case "raw" -> "raw";
            case "raw-secure" -> "raws";
            case "handwritten" -> "hw";
            case "runtime" -> "rt";
            // issue 17 item 8: every flow, as users start it; the default prefix, so that the flows consuming the
            // HL7 topics (CDS, workflow triggers, analytics) process the same traffic in the same JVM
            case "runtime-all" -> "hl7";
            case "runtime-secure" -> "rts";
            default -> throw new IllegalArgumentException("unknown system " + system);
        };
        boolean secured = system.endsWith("-secure");
        String bootstrap = secured ? secure.bootstrapServers() : plainBootstrap;
        KafkaClients verifier = secured ? secure.adminClients() : KafkaClients.forBootstrap(bootstrap);
        SyntheticMessages messages = new SyntheticMessages(prefix.toUpperCase() + "-", 5_000, 42);
        LongFunction<SyntheticMessages.Sample> source = messages::message;
        Map<String, Object> figures = new LinkedHashMap<>();
        ChildJvm child = null;
        int port = freePort();
        try {
            if (system.startsWith("raw")) {
                try (RawKafkaLoad raw = secured ? new RawKafkaLoad(bootstrap, secure.clientSecurity(false), prefix, CONNECTIONS)
                        : new RawKafkaLoad(bootstrap, prefix, CONNECTIONS)) {
                    // the broker in this JVM warms up with it: rounds until the JIT is quiet, as for the runtime
                    java.lang.management.CompilationMXBean jit = java.lang.management.ManagementFactory.getCompilationMXBean();
                    long first = 0;
                    List<Long> warmupJit = new ArrayList<>();
                    do {
                        long jitBefore = jit.getTotalCompilationTime();
                        raw.run(source, first, WARMUP);
                        first += WARMUP;
                        warmupJit.add(jit.getTotalCompilationTime() - jitBefore);
                    } while (warmupJit.size() < WARMUP_ROUNDS_MAX && warmupJit.get(warmupJit.size() - 1) >= WARMUP_JIT_QUIET_MS);
                    System.out.println("  warm-up rounds of " + WARMUP + ", JIT ms each (this JVM, the broker's): " + warmupJit);
                    figures.put("warmupRoundsJitMillis", warmupJit);
                    long harnessBefore = harnessCpuNanos();
                    MllpLoad.Result r = raw.run(source, first, MESSAGES);
                    Map<String, Object> sat = describe(r);
                    sat.put("brokerAndLoadCpuMicrosPerMessage", round((harnessCpuNanos() - harnessBefore) / 1000.0 / r.sent));
                    System.out.println("  broker + producer threads CPU per message " + sat.get("brokerAndLoadCpuMicrosPerMessage") + " us");
                    figures.put("saturation", sat);
                    figures.put("verification", verify(verifier, prefix, r, source));
                }
                return figures;
            }
            if (system.equals("handwritten")) {
                child = new ChildJvm("hand-written HAPI + KafkaProducer server", HEAP, freePort(), List.of(),
                        HandWrittenHapiKafkaServer.class.getName(), List.of(String.valueOf(port), bootstrap, prefix),
                        out.resolve("handwritten.log"));
            } else {
                boolean everyFlow = system.equals("runtime-all");
                List<String> props = new ArrayList<>(List.of(
                        "-Dcmm.kafka.bootstrap-servers=" + bootstrap,
                        "-Dcmm.mllp.host=127.0.0.1",
                        "-Dcmm.mllp.port=" + port,
                        "-Dcmm.hl7.topic-prefix=" + prefix,
                        "-Dcmm.hl7.dedup.topic=" + prefix + ".dedup",
                        "-Dcamel.management.host=127.0.0.1",
                        "-Dcamel.management.port=" + freePort(),
                        // the HL7 ingest flow alone, as the baselines: otherwise the flows that consume its topics
                        // (CDS and workflow triggers read hl7.adt.*) process the same traffic in the same JVM
                        "-Dcamel.main.routes-include-pattern=" + System.getProperty("bench.runtimeRoutes",
                                "file:routes/ehr/hl7-mllp-inbound.camel.yaml,file:routes/error-handling/mllp-inbound-error-handling.camel.yaml,"
                                        + "file:routes/platform/health-checks.camel.yaml"),
                        // the other listeners on free loopback ports too: other work may share this machine
                        "-Dcamel.server.host=127.0.0.1",
                        "-Dcamel.server.port=" + freePort(),
                        "-Dcmm.lab.results.host=127.0.0.1",
                        "-Dcmm.lab.results.port=" + freePort(),
                        "-Dcmm.pharmacy.dispensing.host=127.0.0.1",
                        "-Dcmm.pharmacy.dispensing.port=" + freePort(),
                        "-Dcmm.device.pcd.host=127.0.0.1",
                        "-Dcmm.device.pcd.port=" + freePort(),
                        "-Dcmm.device.alerts.pcd.host=127.0.0.1",
                        "-Dcmm.device.alerts.pcd.port=" + freePort()));
                if (everyFlow) {
                    props.removeIf(p -> p.startsWith("-Dcamel.main.routes-include-pattern="));
                    for (String key : List.of("cmm.fhir.subscription.websocket.port", "cmm.lab.lis.port",
                            "cmm.pharmacy.system.port", "cmm.ehr.mllp.port", "cmm.fhir.subscription.email.smtp-port")) {
                        props.add("-D" + key + "=" + freePort());
                    }
                    props.add("-Dcmm.device.mqtt.broker-url=tcp://127.0.0.1:" + freePort());
                }
                if (secured) {
                    props.addAll(secure.runtimeProperties());
                }
                String extra = System.getProperty("bench.runtimeJvmArgs", "");
                if (!extra.isBlank()) {
                    props.addAll(List.of(extra.trim().split("\\s+")));
                }
                props.addAll(0, ChildJvm.RUNTIME_JVM_OPTIONS);
                child = new ChildJvm("runtime", everyFlow ? HEAP_ALL : HEAP, freePort(), props,
                        "org.cmm.eventbroker.runtime.EventBrokerMain", List.of(), out.resolve("runtime.log"));
            }
            child.awaitPort(port, 120_000);
            if (system.equals("runtime-all")) {
                MllpLoad.awaitAccepting(port, "ALL-WARMUP", 600_000); // every flow: the port opens before all routes run
            }
            MllpLoad load = new MllpLoad(port, CONNECTIONS, secured ? secure.mllpTls() : null);
            long jitAtStart = child.compilationMillis();
            load.closed(source, 0, WARMUP);
            long first = WARMUP;
            // more warm-up rounds while the JIT is busy: its compilations during the measured saturation counted
            // against the system under test (5 s of JIT in the 20 s of one ingest-alone run)
            List<Long> warmupJit = new ArrayList<>(List.of(child.compilationMillis() - jitAtStart));
            while (warmupJit.size() < WARMUP_ROUNDS_MAX && warmupJit.get(warmupJit.size() - 1) >= WARMUP_JIT_QUIET_MS) {
                long jitBefore = child.compilationMillis();
                load.closed(source, first, WARMUP);
                first += WARMUP;
                warmupJit.add(child.compilationMillis() - jitBefore);
            }
            System.out.println("  warm-up rounds of " + WARMUP + ", JIT ms each: " + warmupJit);
            figures.put("warmupRoundsJitMillis", warmupJit);
            // the offered rate in the steady state: once the flows consuming the warm-up's messages (every flow) have
            // caught up, so that the figure is the intake's at that rate, not a backlog's
            figures.put("quietBeforeRate", awaitQuiet(child));
            MllpLoad.Result rateWarmup = null;
            if (system.equals("runtime-all") && RATE_WARMUP_SECONDS_ALL > 0) {
                long warmCount = (long) (RATE * RATE_WARMUP_SECONDS_ALL);
                long jitBefore = child.compilationMillis();
                rateWarmup = load.open(source, first, warmCount, RATE);
                first += warmCount;
                Map<String, Object> warm = describe(rateWarmup);
                warm.put("jitCompilationMillis", child.compilationMillis() - jitBefore);
                System.out.println("  the offered rate while warming up (" + RATE_WARMUP_SECONDS_ALL + " s), JIT "
                        + warm.get("jitCompilationMillis") + " ms");
                figures.put("offeredRateWarmingUp", warm);
                figures.put("quietAfterRateWarmup", awaitQuiet(child));
            }
            long rateCount = (long) (RATE * RATE_SECONDS);
            long steadyCpuBefore = child.processCpuNanos();
            long jitBefore = child.compilationMillis();
            MllpLoad.Result steady = load.open(source, first, rateCount, RATE);
            Map<String, Object> rate = describe(steady);
            rate.put("jitCompilationMillis", child.compilationMillis() - jitBefore);
            // everything the runtime spends per message at that rate, the consuming flows' share included
            rate.put("serverCpuMicrosPerMessage", round((child.processCpuNanos() - steadyCpuBefore) / 1000.0 / steady.sent));
            System.out.println("  server CPU per message at the offered rate " + rate.get("serverCpuMicrosPerMessage")
                    + " us; JIT " + rate.get("jitCompilationMillis") + " ms");
            figures.put("offeredRate", rate);
            child.resetPeakHeap();
            long cpuBefore = child.processCpuNanos();
            long harnessBefore = harnessCpuNanos();
            MllpLoad.Result saturation = load.closed(source, first + rateCount, MESSAGES);
            long cpuAfter = child.processCpuNanos();
            long harnessAfter = harnessCpuNanos();
            Map<String, Object> sat = describe(saturation);
            sat.put("serverCpuMicrosPerMessage", round((cpuAfter - cpuBefore) / 1000.0 / saturation.sent));
            sat.put("brokerAndLoadCpuMicrosPerMessage", round((harnessAfter - harnessBefore) / 1000.0 / saturation.sent));
            System.out.println("  server CPU per message " + sat.get("serverCpuMicrosPerMessage") + " us; broker + load generator "
                    + sat.get("brokerAndLoadCpuMicrosPerMessage") + " us");
            figures.put("saturation", sat);
            // the same rate right after saturation: with every flow, the consumers then catch up on the backlog the
            // saturation left (they run below the intake's priority), so this is the intake while they do
            MllpLoad.Result after = load.open(source, first + rateCount + MESSAGES, rateCount, RATE);
            figures.put("offeredRateAfterSaturation", describe(after));
            figures.put("peakHeapMb", round(child.peakHeapMb()));
            MllpLoad.Result both = new MllpLoad.Result();
            if (rateWarmup != null) {
                both.accepted.putAll(rateWarmup.accepted);
            }
            both.accepted.putAll(steady.accepted);
            both.accepted.putAll(saturation.accepted);
            both.accepted.putAll(after.accepted);
            figures.put("verification", verify(verifier, prefix, both, source));
            return figures;
        } finally {
            if (child != null) {
                child.close();
            }
        }
    }

    private static Map<String, Object> describe(MllpLoad.Result r) {
        return describe(r, true);
    }

    private static Map<String, Object> describe(MllpLoad.Result r, boolean print) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("sent", r.sent);
        m.put("seconds", round(r.elapsedNanos / 1e9));
        m.put("throughputPerSecond", round(r.throughput()));
        m.put("aa", r.aa.get());
        m.put("ae", r.ae.get());
        m.put("ar", r.ar.get());
        m.put("timeouts", r.timeouts.get());
        m.put("p50Ms", round(r.latencyMicros.getValueAtPercentile(50) / 1000.0));
        m.put("p95Ms", round(r.latencyMicros.getValueAtPercentile(95) / 1000.0));
        m.put("p99Ms", round(r.latencyMicros.getValueAtPercentile(99) / 1000.0));
        m.put("maxMs", round(r.latencyMicros.getMaxValue() / 1000.0));
        System.out.println("  " + m);
        return m;
    }

    /** Reads the system's topics and checks every AA'd message is there exactly once with its bytes. */
    static Map<String, Object> verify(KafkaClients clients, String prefix, MllpLoad.Result r,
            LongFunction<SyntheticMessages.Sample> source) {
        Map<String, Integer> seen = new HashMap<>();
        long[] mismatched = {0};
        try (KafkaConsumer<String, byte[]> consumer = clients.consumer("ingest-benchmark-verify",
                null, Map.of(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false", ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "5000"))) {
            List<String> topics = consumer.listTopics().keySet().stream()
                    .filter(t -> t.startsWith(prefix + ".") && !t.endsWith("dedup") && !t.endsWith("dlq")).toList();
            TopicsToEnd.read(consumer, topics, 0, Duration.ofMinutes(5), rec -> {
                Header h = rec.headers().lastHeader("hl7_control_id");
                if (h == null) {
                    return;
                }
                String id = new String(h.value(), StandardCharsets.UTF_8);
                Long sequence = r.accepted.get(id);
                if (sequence == null) {
                    return; // warm-up traffic
                }
                SyntheticMessages.Sample expected = source.apply(sequence);
                seen.merge(id, 1, Integer::sum);
                if (!java.util.Arrays.equals(expected.bytes(), rec.value()) || !expected.patientId().equals(rec.key())) {
                    mismatched[0]++;
                }
            });
        }
        long missing = r.accepted.keySet().stream().filter(id -> !seen.containsKey(id)).count();
        long duplicated = seen.values().stream().filter(n -> n > 1).count();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("acknowledged", r.accepted.size());
        m.put("missing", missing);
        m.put("duplicated", duplicated);
        m.put("mismatched", mismatched[0]);
        System.out.println("  verification " + m);
        return m;
    }

    @SuppressWarnings("unchecked")
    private static double throughput(Map<String, Map<String, Object>> systems, String name) {
        Map<String, Object> s = systems.get(name);
        if (s == null) {
            return 0;
        }
        return ((Number) ((Map<String, Object>) s.get("saturation")).get("throughputPerSecond")).doubleValue();
    }

    @SuppressWarnings("unchecked")
    private static Object serverCpu(Map<String, Map<String, Object>> systems, String name) {
        Map<String, Object> s = systems.get(name);
        return s == null ? null : ((Map<String, Object>) s.get("saturation")).get("serverCpuMicrosPerMessage");
    }

    @SuppressWarnings("unchecked")
    private static void printTable(Map<String, Map<String, Object>> systems, Map<String, Object> ratios) {
        System.out.println();
        System.out.printf(Locale.ROOT, "%-15s %10s %8s %8s %8s %8s %6s %6s %6s | %8s %8s %8s %9s | %9s %9s %s%n", "system",
                "msg/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "AE", "AR", "t/o", "p50@rate", "p99@rate", "max@rate",
                "p99@after", "heap MB", "cpu us/msg", "lost/dup/mismatch");
        for (Map.Entry<String, Map<String, Object>> e : systems.entrySet()) {
            Map<String, Object> s = (Map<String, Object>) e.getValue().get("saturation");
            Map<String, Object> o = (Map<String, Object>) e.getValue().getOrDefault("offeredRate", Map.of());
            Map<String, Object> a = (Map<String, Object>) e.getValue().getOrDefault("offeredRateAfterSaturation", Map.of());
            Map<String, Object> v = (Map<String, Object>) e.getValue().get("verification");
            System.out.printf(Locale.ROOT, "%-15s %10s %8s %8s %8s %8s %6s %6s %6s | %8s %8s %8s %9s | %9s %9s %s/%s/%s%n", e.getKey(),
                    s.get("throughputPerSecond"), s.get("p50Ms"), s.get("p95Ms"), s.get("p99Ms"), s.get("maxMs"),
                    s.get("ae"), s.get("ar"), s.get("timeouts"), o.getOrDefault("p50Ms", "-"), o.getOrDefault("p99Ms", "-"),
                    o.getOrDefault("maxMs", "-"), a.getOrDefault("p99Ms", "-"), e.getValue().getOrDefault("peakHeapMb", "-"),
                    s.getOrDefault("serverCpuMicrosPerMessage", "-"), v.get("missing"),
                    v.get("duplicated"), v.get("mismatched"));
        }
        System.out.println("ratios: " + ratios);
    }

    /**
     * Waits until the runtime is quiet: under a quarter of a core over 3 s (the flows consuming earlier traffic have
     * caught up), at most 3 minutes. Returns how long it took and whether it got quiet.
     */
    private static Map<String, Object> awaitQuiet(ChildJvm child) throws Exception {
        long started = System.nanoTime();
        long deadline = started + TimeUnit.MINUTES.toNanos(3);
        boolean quiet = false;
        long cpu = child.processCpuNanos();
        long at = System.nanoTime();
        while (!quiet && System.nanoTime() < deadline) {
            new java.util.concurrent.CountDownLatch(1).await(3, TimeUnit.SECONDS); // a sampling interval, not a wait for an event
            long cpuNow = child.processCpuNanos();
            long atNow = System.nanoTime();
            quiet = (cpuNow - cpu) < (atNow - at) / 4;
            cpu = cpuNow;
            at = atNow;
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("quiet", quiet);
        m.put("seconds", round((System.nanoTime() - started) / 1e9));
        System.out.println("  quiet before the offered rate: " + m);
        return m;
    }

    /** CPU used so far by this JVM: the broker, the load generator and (for raw) the producer threads. */
    private static long harnessCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    private static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
