package org.cmm.eventbroker.analytics;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.cmm.eventbroker.testsupport.MllpTestClient;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;

/**
 * The streaming analytics benchmark (docs/analytics.md), three numbers:
 * <ol>
 * <li>events/s through the topology flat out, in-process (TopologyTestDriver, exactly-once settings, in-memory stores):
 *     the rules' own cost;</li>
 * <li>events/s through the runtime's Streams application on a real broker (RocksDB, changelogs, exactly_once_v2): a
 *     backlog of ADT records produced to hl7.adt.*, until the application's consumer group has no lag, on its inputs
 *     and on its own repartition topic (the second hop);</li>
 * <li>the time from the AA of an A01 at the MLLP client to the census update it causes on
 *     analytics.realtime.bed-occupancy (read_committed), at a paced 1,000 msg/s over several connections: p50/p99,
 *     after a warm-up at the same rate; side by side, the baseline: the time from the same AA to the ADT record itself
 *     reaching a plain read_committed consumer of hl7.adt.a01 (what any consumer of the topic sees).</li>
 * </ol>
 * System properties: bench.analytics.events (60000), bench.analytics.rate (1000), bench.analytics.seconds (30),
 * bench.analytics.connections (8), bench.analytics.warmupSeconds (10), bench.analytics.parts, bench.analytics.settings.
 */
public final class AnalyticsBenchmark {

    private static final int EVENTS = Integer.getInteger("bench.analytics.events", 60_000);
    private static final int RATE = Integer.getInteger("bench.analytics.rate", 1000);
    private static final int SECONDS = Integer.getInteger("bench.analytics.seconds", 30);
    private static final int CONNECTIONS = Integer.getInteger("bench.analytics.connections", 8);
    /** Seconds at the same rate before the measured ones (not measured). */
    private static final int WARMUP_SECONDS = Integer.getInteger("bench.analytics.warmupSeconds", 10);
    /** Which parts run: topology, broker, latency (comma-separated; default all three). */
    private static final String PARTS = System.getProperty("bench.analytics.parts", "topology,broker,latency");
    /** Runtime settings for this run, "key=value;key=value" (e.g. cmm.analytics.commit-interval-ms=50). */
    private static final String SETTINGS = System.getProperty("bench.analytics.settings", "");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int LAT_WARDS = 50;
    private static final java.util.regex.Pattern LAT_PATIENT = java.util.regex.Pattern.compile("LAT-P(\\d+)");

    private AnalyticsBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        System.out.println("== analytics benchmark: " + EVENTS + " events, " + RATE + " msg/s for " + SECONDS + " s over "
                + CONNECTIONS + " MLLP connections; " + Runtime.getRuntime().availableProcessors() + " cores; parts " + PARTS);
        if (PARTS.contains("topology")) {
            topologyFlatOut();
        }
        Map<String, String> settings = new HashMap<>(Map.of(
                "cmm.analytics.state-dir", Files.createTempDirectory("analytics-bench").toString(),
                "cmm.analytics.session-timeout-ms", "6000"));
        for (String kv : SETTINGS.split(";")) {
            if (kv.contains("=")) {
                settings.put(kv.substring(0, kv.indexOf('=')).trim(), kv.substring(kv.indexOf('=') + 1).trim());
            }
        }
        if (!SETTINGS.isBlank()) {
            System.out.println("runtime settings: " + SETTINGS);
        }
        try (RuntimeUnderTest env = RuntimeUnderTest.flows("hl7-mllp-inbound", "analytics-queries").with(settings)
                .start()) {
            awaitRunning(env);
            if (PARTS.contains("broker")) {
                brokerFlatOut(env);
            }
            if (PARTS.contains("latency")) {
                latencyAtRate(env);
            }
        }
        System.exit(0);
    }

    private static List<AdtStream.Message> stream(String prefix, int events) {
        List<AdtStream.Message> all = new ArrayList<>();
        AdtStream generator = new AdtStream(99, System.currentTimeMillis());
        int batch = 0;
        while (all.size() < events) {
            all.addAll(generator.generate(prefix + (batch++) + "-", 500));
        }
        return all.subList(0, events);
    }

    private static void topologyFlatOut() throws Exception {
        AnalyticsSettings settings = new AnalyticsSettings(AnalyticsSettings.adtTopics("hl7.adt",
                String.join(",", AnalyticsSettings.TRIGGER_EVENTS)), "analytics.realtime.bed-occupancy",
                "analytics.realtime.patient-flow", "analytics.realtime.wait-times", "analytics.dlq", Set.of(), Set.of("E"),
                ZoneOffset.UTC, 300_000L, 7 * 86_400_000L, 500, 300_000L, 3_600_000L, 900_000L, 300_000L, 1_000L);
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, "analytics-bench");
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        p.put(StreamsConfig.STATE_DIR_CONFIG, Files.createTempDirectory("analytics-bench-ttd").toString());
        List<AdtStream.Message> messages = stream("TTD", EVENTS);
        try (TopologyTestDriver driver = new TopologyTestDriver(AnalyticsTopology.build(settings, AnalyticsCounters.NONE,
                false), p)) {
            Map<String, TestInputTopic<String, byte[]>> inputs = new HashMap<>();
            for (String t : AnalyticsSettings.TRIGGER_EVENTS) {
                inputs.put(t.toUpperCase(Locale.ROOT), driver.createInputTopic("hl7.adt." + t, new StringSerializer(),
                        new ByteArraySerializer()));
            }
            int warm = Math.min(5_000, messages.size() / 5);
            for (AdtStream.Message m : messages.subList(0, warm)) {
                inputs.get(m.trigger()).pipeInput(m.patient(), m.er7().getBytes(StandardCharsets.ISO_8859_1));
            }
            long start = System.nanoTime();
            for (AdtStream.Message m : messages.subList(warm, messages.size())) {
                inputs.get(m.trigger()).pipeInput(m.patient(), m.er7().getBytes(StandardCharsets.ISO_8859_1));
            }
            double s = (System.nanoTime() - start) / 1e9;
            System.out.printf(Locale.ROOT, "topology flat out (TopologyTestDriver, in-memory stores): %d events in %.1f s"
                    + " = %.0f events/s%n", messages.size() - warm, s, (messages.size() - warm) / s);
        }
    }

    private static void brokerFlatOut(RuntimeUnderTest env) throws Exception {
        List<AdtStream.Message> messages = stream("KAFKA", EVENTS);
        KafkaClients clients = KafkaClients.forBootstrap(env.bootstrapServers());
        long start = System.nanoTime();
        try (KafkaProducer<String, byte[]> producer = clients.producer("analytics-bench", Map.of("linger.ms", "5"))) {
            for (AdtStream.Message m : messages) {
                producer.send(new ProducerRecord<>("hl7.adt." + m.trigger().toLowerCase(Locale.ROOT), m.patient(),
                        m.er7().getBytes(StandardCharsets.ISO_8859_1)));
            }
        }
        double produced = (System.nanoTime() - start) / 1e9;
        try (Admin admin = clients.admin("analytics-bench", Map.of())) {
            while (java.util.Arrays.stream(lagByHop(admin)).sum() > 0) {
                TimeUnit.MILLISECONDS.sleep(100);
            }
        }
        double s = (System.nanoTime() - start) / 1e9;
        System.out.printf(Locale.ROOT, "runtime Streams application flat out (real broker, RocksDB, exactly_once_v2): %d"
                + " events (produced in %.1f s) processed in %.1f s = %.0f events/s%n", messages.size(), produced, s,
                messages.size() / s);
    }

    /** The analytics group's lag: [0] on the ADT input topics, [1] on its internal (repartition) topics. */
    private static long[] lagByHop(Admin admin) throws Exception {
        Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets("cmm-analytics")
                .partitionsToOffsetAndMetadata().get(10, TimeUnit.SECONDS);
        Map<TopicPartition, org.apache.kafka.clients.admin.OffsetSpec> latest = new HashMap<>();
        committed.keySet().forEach(tp -> latest.put(tp, org.apache.kafka.clients.admin.OffsetSpec.latest()));
        var ends = admin.listOffsets(latest).all().get(10, TimeUnit.SECONDS);
        long[] lags = new long[2];
        for (var e : ends.entrySet()) {
            long lag = Math.max(0, e.getValue().offset() - committed.get(e.getKey()).offset());
            lags[e.getKey().topic().startsWith("cmm-analytics-") ? 1 : 0] += lag;
        }
        return lags;
    }

    private static void latencyAtRate(RuntimeUnderTest env) throws Exception {
        // a warm-up at the same rate first (JIT, RocksDB, producers), not measured
        int warmup = RATE * WARMUP_SECONDS;
        int total = warmup + RATE * SECONDS;
        int wards = LAT_WARDS;
        Map<String, Long> acked = new ConcurrentHashMap<>();
        Map<String, Long> seen = new ConcurrentHashMap<>();
        Map<String, Long> seenAdt = new ConcurrentHashMap<>();
        AtomicBoolean watching = new AtomicBoolean(true);
        Thread watcher = new Thread(() -> {
            try (KafkaConsumer<String, byte[]> consumer = KafkaClients.forBootstrap(env.bootstrapServers()).consumer(
                    "analytics-bench-watch", null, Map.of("isolation.level", "read_committed"))) {
                List<TopicPartition> parts = new ArrayList<>();
                for (String topic : List.of("analytics.realtime.bed-occupancy", "hl7.adt.a01")) {
                    consumer.partitionsFor(topic).forEach(pi -> parts.add(new TopicPartition(pi.topic(), pi.partition())));
                }
                consumer.assign(parts);
                consumer.seekToEnd(parts);
                parts.forEach(consumer::position);
                while (watching.get()) {
                    for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(50))) {
                        long now = System.nanoTime();
                        if (r.topic().equals("hl7.adt.a01")) {
                            java.util.regex.Matcher m = LAT_PATIENT.matcher(new String(r.value(),
                                    StandardCharsets.ISO_8859_1));
                            if (m.find()) {
                                int i = Integer.parseInt(m.group(1));
                                seenAdt.putIfAbsent("LAT" + (i % LAT_WARDS) + "#" + (i / LAT_WARDS + 1), now);
                            }
                            continue;
                        }
                        JsonNode n = JSON.readTree(r.value());
                        if (n.path("ward").asText().startsWith("LAT")) {
                            seen.putIfAbsent(n.path("ward").asText() + "#" + n.path("occupied").asInt(), now);
                        }
                    }
                }
            } catch (Exception e) {
                e.printStackTrace();
            }
        }, "census-watcher");
        watcher.start();
        // every second: the analytics group's lag on its ADT inputs and on its own (repartition) topics, to see which
        // hop falls behind
        List<String> lagTimeline = new java.util.concurrent.CopyOnWriteArrayList<>();
        Thread lagSampler = new Thread(() -> {
            try (Admin admin = KafkaClients.forBootstrap(env.bootstrapServers()).admin("analytics-bench-lag", Map.of())) {
                long t0 = System.nanoTime();
                while (watching.get()) {
                    long[] lags = lagByHop(admin);
                    lagTimeline.add(String.format(Locale.ROOT, "%3ds in %d rep %d", (System.nanoTime() - t0) / 1_000_000_000L,
                            lags[0], lags[1]));
                    TimeUnit.SECONDS.sleep(1);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (Exception e) {
                lagTimeline.add("lag sampling failed: " + e);
            }
        }, "lag-sampler");
        lagSampler.start();
        TimeUnit.SECONDS.sleep(2);
        long now = System.currentTimeMillis() - 60_000L;
        ExecutorService pool = Executors.newFixedThreadPool(CONNECTIONS);
        long start = System.nanoTime();
        long intervalNanos = TimeUnit.SECONDS.toNanos(1) / RATE;
        List<Future<?>> senders = new ArrayList<>();
        for (int c = 0; c < CONNECTIONS; c++) {
            int connection = c;
            senders.add(pool.submit(() -> {
                try (MllpTestClient mllp = new MllpTestClient(env.mllpPort())) {
                    for (int i = connection; i < total; i += CONNECTIONS) {
                        long due = start + i * intervalNanos;
                        long wait = due - System.nanoTime();
                        if (wait > 0) {
                            TimeUnit.NANOSECONDS.sleep(wait);
                        }
                        // the k-th admission to ward LAT<w> makes its census k: (ward, k) names the update
                        String ward = "LAT" + (i % wards);
                        int k = i / wards + 1;
                        String patient = "LAT-P" + i;
                        String ack = mllp.sendAndReceive(AdtStream.er7("BENCH", patient, "LAT" + i, "A01", now, now, "I",
                                ward, "1-A", "", "", ""));
                        if (ack.contains("MSA|AA|") && i >= warmup) {
                            acked.put(ward + "#" + k, System.nanoTime());
                        }
                    }
                }
                return null;
            }));
        }
        for (Future<?> f : senders) {
            f.get();
        }
        double sendSeconds = (System.nanoTime() - start) / 1e9;
        long measuredStart = start + TimeUnit.SECONDS.toNanos(WARMUP_SECONDS);
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        // every measured update (the warm-up's are in seen too, so not a count)
        while (!(seen.keySet().containsAll(acked.keySet()) && seenAdt.keySet().containsAll(acked.keySet()))
                && System.nanoTime() < until) {
            TimeUnit.MILLISECONDS.sleep(100);
        }
        watching.set(false);
        watcher.join();
        lagSampler.join();
        pool.shutdown();
        System.out.println("analytics group lag (ADT inputs / its own repartition topics), per second: "
                + String.join(" | ", lagTimeline));
        // the latency per 5 s of the run (by AA time): does it grow?
        StringBuilder slices = new StringBuilder("AA -> census update per 5 s of the run (p50/p99 ms):");
        for (int slice = 0; slice * 5L < sendSeconds - WARMUP_SECONDS + 1; slice++) {
            long from = measuredStart + TimeUnit.SECONDS.toNanos(slice * 5L);
            long to = from + TimeUnit.SECONDS.toNanos(5);
            long[] l = acked.entrySet().stream().filter(e -> seen.containsKey(e.getKey()) && e.getValue() >= from
                    && e.getValue() < to).mapToLong(e -> Math.max(0, seen.get(e.getKey()) - e.getValue())).sorted()
                    .toArray();
            if (l.length == 0) {
                continue;
            }
            slices.append(String.format(Locale.ROOT, " [%d-%ds %.0f/%.0f]", slice * 5, slice * 5 + 5, pct(l, 50),
                    pct(l, 99)));
        }
        System.out.println(slices);
        long[] latencies = acked.entrySet().stream().filter(e -> seen.containsKey(e.getKey()))
                .mapToLong(e -> Math.max(0, seen.get(e.getKey()) - e.getValue())).sorted().toArray();
        long[] baseline = acked.entrySet().stream().filter(e -> seenAdt.containsKey(e.getKey()))
                .mapToLong(e -> Math.max(0, seenAdt.get(e.getKey()) - e.getValue())).sorted().toArray();
        System.out.printf(Locale.ROOT, "AA -> census update at %d msg/s (offered; %.0f msg/s achieved over %d connections,"
                + " after %d s of warm-up): %d acked, %d updates seen; p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms%n",
                RATE, total / sendSeconds, CONNECTIONS, WARMUP_SECONDS, acked.size(), latencies.length,
                pct(latencies, 50), pct(latencies, 90), pct(latencies, 99),
                latencies.length == 0 ? 0 : latencies[latencies.length - 1] / 1e6);
        System.out.printf(Locale.ROOT, "baseline, AA -> the ADT record at a plain read_committed consumer of hl7.adt.a01:"
                + " %d seen; p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms%n", baseline.length, pct(baseline, 50),
                pct(baseline, 90), pct(baseline, 99), baseline.length == 0 ? 0 : baseline[baseline.length - 1] / 1e6);
    }

    /** Until the Streams application answers its queries (started, partitions assigned, state restored). */
    private static void awaitRunning(RuntimeUnderTest env) throws Exception {
        java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while (System.nanoTime() < until) {
            int status = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:"
                    + env.httpPort() + "/analytics/bed-occupancy")).build(),
                    java.net.http.HttpResponse.BodyHandlers.discarding()).statusCode();
            if (status == 200) {
                return;
            }
            TimeUnit.MILLISECONDS.sleep(500);
        }
        throw new IllegalStateException("the analytics application did not start within 180 s");
    }

    private static double pct(long[] sorted, double p) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int rank = (int) Math.ceil(p / 100 * sorted.length);
        return sorted[Math.max(1, rank) - 1] / 1e6;
    }

}
