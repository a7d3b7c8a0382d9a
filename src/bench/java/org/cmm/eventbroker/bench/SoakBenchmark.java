package org.cmm.eventbroker.bench;

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
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupListing;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.cmm.eventbroker.dev.EmbeddedKafkaBroker;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.cmm.eventbroker.platform.kafka.TopicsToEnd;

/**
 * Issue 17 item 4, the soak: {@code bench.soak.messages} HL7 messages (1,000,000 by default) at a fixed offered rate
 * through the runtime as users start it (every flow, in a child JVM, against a broker of this JVM), with the child's
 * heap in use, live threads, open file descriptors and the consumer lag of every group sampled every
 * {@code bench.soak.sampleSeconds} to a CSV; then a trend check (the second half of the run against the first, after
 * a warm-up fifth), every AA looked up on Kafka (exactly once), and a plot of the CSV (SVG).
 *
 * <pre>mvn -B -Pbench verify -Dbench.suite=soak [-Dbench.soak.messages=1000000 -Dbench.soak.rate=1000]</pre>
 *
 * Output: target/benchmarks/soak-latest.csv, soak-latest.svg, soak-latest.json.
 */
public final class SoakBenchmark {

    private static final long MESSAGES = Long.getLong("bench.soak.messages", 1_000_000);
    private static final double RATE = Double.parseDouble(System.getProperty("bench.soak.rate", "1000"));
    private static final int CONNECTIONS = Integer.getInteger("bench.soak.connections", 8);
    private static final int SAMPLE_SECONDS = Integer.getInteger("bench.soak.sampleSeconds", 5);
    private static final String HEAP = System.getProperty("bench.heapAll", "2g");
    /** Messages per load round (each round opens its connections again, as senders reconnect). */
    private static final long ROUND = Math.max(1000, (long) (RATE * 60));
    /** A group whose lag is at most this after the drain kept up with the load. */
    private static final long DRAINED = 1000;

    /**
     * @param lag     the lag summed over the groups that keep up (after the run: those that drained), the trend's
     * @param lagAll  the lag summed over every group
     * @param byGroup every group's lag
     */
    private record Sample(double seconds, long aa, double heapMb, int threads, long fds, long lag, long lagAll,
                          Map<String, Long> byGroup) {

        Sample over(Set<String> groups) {
            long kept = byGroup.entrySet().stream().filter(e -> groups.contains(e.getKey()))
                    .mapToLong(Map.Entry::getValue).sum();
            return new Sample(seconds, aa, heapMb, threads, fds, kept, lagAll, byGroup);
        }
    }

    private SoakBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        Path work = Files.createTempDirectory("cmm-soak");
        Path out = Path.of("target", "benchmarks");
        Files.createDirectories(out);
        List<Sample> samples = new ArrayList<>();
        Set<String> accepted = ConcurrentHashMap.newKeySet();
        Set<String> keptUp = ConcurrentHashMap.newKeySet();
        AtomicLong ae = new AtomicLong();
        AtomicLong ar = new AtomicLong();
        AtomicLong timeouts = new AtomicLong();
        Map<String, Object> report = new LinkedHashMap<>();
        report.put("date", ZonedDateTime.now().toString());
        report.put("messages", MESSAGES);
        report.put("offeredRate", RATE);
        report.put("connections", CONNECTIONS);
        int port = IngestBenchmark.freePort();
        try (EmbeddedKafkaBroker broker = new EmbeddedKafkaBroker("127.0.0.1", IngestBenchmark.freePort(),
                IngestBenchmark.freePort(), work.resolve("kafka"), Map.of("num.partitions", "4"))) {
            broker.start();
            String bootstrap = broker.bootstrapServers();
            List<String> props = new ArrayList<>(List.of(
                    "-Dcmm.kafka.bootstrap-servers=" + bootstrap,
                    "-Dcmm.mllp.host=127.0.0.1",
                    "-Dcmm.mllp.port=" + port,
                    "-Dcamel.management.host=127.0.0.1",
                    "-Dcamel.management.port=" + IngestBenchmark.freePort(),
                    "-Dcamel.server.host=127.0.0.1",
                    "-Dcamel.server.port=" + IngestBenchmark.freePort()));
            // every other listener and peer on a free loopback port: other work may share this machine
            for (String key : List.of("cmm.lab.results.port", "cmm.pharmacy.dispensing.port", "cmm.device.pcd.port",
                    "cmm.device.alerts.pcd.port", "cmm.fhir.subscription.websocket.port", "cmm.lab.lis.port",
                    "cmm.pharmacy.system.port", "cmm.ehr.mllp.port", "cmm.fhir.subscription.email.smtp-port")) {
                props.add("-D" + key + "=" + IngestBenchmark.freePort());
            }
            props.add("-Dcmm.device.mqtt.broker-url=tcp://127.0.0.1:" + IngestBenchmark.freePort());
            props.addAll(0, ChildJvm.RUNTIME_JVM_OPTIONS);
            try (ChildJvm runtime = new ChildJvm("runtime (every flow)", HEAP, IngestBenchmark.freePort(), props,
                    "org.cmm.eventbroker.runtime.EventBrokerMain", List.of(), out.resolve("soak-runtime.log"));
                 Admin admin = KafkaClients.forBootstrap(bootstrap).admin("soak-lag", Map.of())) {
                runtime.awaitPort(port, 300_000);
                MllpLoad.awaitAccepting(port, "SOAK-WARMUP", 600_000);
                long started = System.nanoTime();
                ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor();
                sampler.scheduleAtFixedRate(() -> {
                    try {
                        Map<String, Long> byGroup = lagByGroup(admin);
                        long total = byGroup.values().stream().mapToLong(Long::longValue).sum();
                        Sample s = new Sample((System.nanoTime() - started) / 1e9, accepted.size(),
                                runtime.heapUsedMb(), runtime.threadCount(), runtime.openFileDescriptors(), total,
                                total, byGroup);
                        synchronized (samples) {
                            samples.add(s);
                        }
                        System.out.printf(Locale.ROOT, "  %6.0f s  %9d AA  heap %6.1f MB  threads %4d  fds %5d  lag %d%n",
                                s.seconds(), s.aa(), s.heapMb(), s.threads(), s.fds(), s.lag());
                    } catch (Exception e) {
                        System.err.println("sample failed: " + e);
                    }
                }, 0, SAMPLE_SECONDS, TimeUnit.SECONDS);

                SyntheticMessages messages = new SyntheticMessages("SOAK-", 5_000, 17);
                MllpLoad load = new MllpLoad(port, CONNECTIONS);
                for (long first = 0; first < MESSAGES; first += ROUND) {
                    MllpLoad.Result r = load.open(messages::message, first, Math.min(ROUND, MESSAGES - first), RATE);
                    accepted.addAll(r.accepted.keySet());
                    ae.addAndGet(r.ae.get());
                    ar.addAndGet(r.ar.get());
                    timeouts.addAndGet(r.timeouts.get());
                }
                // the consumers catch up (every flow reading the HL7 topics), then a last sample; a group whose peer
                // does not exist here (LIS, pharmacy, EHR over MLLP) never catches up: stop when the lag stays put
                long drainDeadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
                long previous = -1;
                int unchanged = 0;
                long current;
                while ((current = lag(admin)) > 0 && unchanged < 3 && System.nanoTime() < drainDeadline) {
                    unchanged = current == previous ? unchanged + 1 : 0;
                    previous = current;
                    java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(5));
                }
                sampler.shutdown();
                sampler.awaitTermination(1, TimeUnit.MINUTES);
                report.put("seconds", round((System.nanoTime() - started) / 1e9));
                Map<String, Long> finalLag = lagByGroup(admin);
                report.put("lagAfterDrain", finalLag.values().stream().mapToLong(Long::longValue).sum());
                // the groups whose peer does not exist in the benchmark (workflow engine, LIS, pharmacy, EHR) retry
                // and never drain: named in the report, left out of the lag's trend
                Map<String, Long> stuck = new java.util.TreeMap<>();
                finalLag.forEach((group, groupLag) -> {
                    if (groupLag > DRAINED) {
                        stuck.put(group, groupLag);
                    } else {
                        keptUp.add(group);
                    }
                });
                report.put("groupsThatKeptUp", keptUp.size());
                report.put("groupsNotDrained", stuck);
            }
            report.put("aa", accepted.size());
            report.put("ae", ae.get());
            report.put("ar", ar.get());
            report.put("timeouts", timeouts.get());
            report.put("verification", verify(bootstrap, accepted));
        } finally {
            EmbeddedKafkaBroker.deleteDataDir(work);
        }

        List<Sample> all;
        synchronized (samples) {
            all = samples.stream().map(s -> s.over(keptUp)).toList();
        }
        StringBuilder csv = new StringBuilder("seconds,aa,heap_mb,threads,fds,consumer_lag,consumer_lag_all_groups\n");
        all.forEach(s -> csv.append(String.format(Locale.ROOT, "%.1f,%d,%.1f,%d,%d,%d,%d%n", s.seconds(), s.aa(),
                s.heapMb(), s.threads(), s.fds(), s.lag(), s.lagAll())));
        Files.writeString(out.resolve("soak-latest.csv"), csv);
        Files.writeString(out.resolve("soak-latest.svg"), plot(all));
        Map<String, Object> trends = trends(all);
        report.put("trends", trends);
        String json = Json.write(report);
        Files.writeString(out.resolve("soak-latest.json"), json);
        System.out.println(json);
        System.out.println("CSV, plot and figures in " + out.toAbsolutePath() + " (soak-latest.*)");
        @SuppressWarnings("unchecked")
        Map<String, Object> v = (Map<String, Object>) report.get("verification");
        List<String> problems = new ArrayList<>();
        if (((Number) v.get("missing")).longValue() > 0 || ((Number) v.get("duplicated")).longValue() > 0) {
            problems.add("not exactly once: " + v);
        }
        trends.forEach((metric, verdict) -> {
            if (verdict instanceof Map<?, ?> m && Boolean.TRUE.equals(m.get("rising"))) {
                problems.add(metric + " rises: " + m);
            }
        });
        if (!problems.isEmpty()) {
            throw new AssertionError("soak failed: " + problems);
        }
    }

    /** Sum over every consumer group of (end offset - committed offset) on the partitions it has committed. */
    private static long lag(Admin admin) throws Exception {
        return lagByGroup(admin).values().stream().mapToLong(Long::longValue).sum();
    }

    /** Each consumer group's (end offset - committed offset), summed over the partitions it has committed. */
    private static Map<String, Long> lagByGroup(Admin admin) throws Exception {
        Map<String, Long> byGroup = new java.util.TreeMap<>();
        for (ConsumerGroupListing g : admin.listConsumerGroups().all().get(10, TimeUnit.SECONDS)) {
            Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(g.groupId())
                    .partitionsToOffsetAndMetadata().get(10, TimeUnit.SECONDS);
            Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
            committed.keySet().forEach(tp -> latest.put(tp, OffsetSpec.latest()));
            if (latest.isEmpty()) {
                continue;
            }
            Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> ends =
                    admin.listOffsets(latest).all().get(10, TimeUnit.SECONDS);
            long lag = 0;
            for (Map.Entry<TopicPartition, OffsetAndMetadata> e : committed.entrySet()) {
                if (e.getValue() != null && ends.containsKey(e.getKey())) {
                    lag += Math.max(0, ends.get(e.getKey()).offset() - e.getValue().offset());
                }
            }
            byGroup.put(g.groupId(), lag);
        }
        return byGroup;
    }

    /** Every AA'd control id on the HL7 topics exactly once (ids only: a million samples' bytes would not fit). */
    private static Map<String, Object> verify(String bootstrap, Set<String> accepted) {
        Map<String, Integer> seen = new HashMap<>();
        try (KafkaConsumer<String, byte[]> consumer = KafkaClients.forBootstrap(bootstrap).consumer("soak-verify", null,
                Map.of(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false", ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "5000",
                        ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"))) {
            List<String> topics = consumer.listTopics().keySet().stream()
                    .filter(t -> t.matches("hl7\\.(adt|oru)\\.[a-z0-9]+")).toList();
            TopicsToEnd.read(consumer, topics, 0, Duration.ofMinutes(10), rec -> {
                Header h = rec.headers().lastHeader("hl7_control_id");
                if (h != null) {
                    String id = new String(h.value(), StandardCharsets.UTF_8);
                    if (accepted.contains(id)) {
                        seen.merge(id, 1, Integer::sum);
                    }
                }
            });
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("acknowledged", accepted.size());
        m.put("missing", accepted.stream().filter(id -> !seen.containsKey(id)).count());
        m.put("duplicated", seen.values().stream().filter(n -> n > 1).count());
        System.out.println("  verification " + m);
        return m;
    }

    /**
     * After a warm-up fifth, the second half of the samples against the first: heap (the lowest reading of each
     * half, i.e. after collections), threads and file descriptors (means) must not grow by more than a quarter plus
     * a small allowance; the consumer lag's mean must not grow by more than a quarter plus one round of messages.
     */
    static Map<String, Object> trends(List<Sample> samples) {
        Map<String, Object> t = new LinkedHashMap<>();
        int from = samples.size() / 5;
        List<Sample> steady = samples.subList(from, samples.size());
        if (steady.size() < 4) {
            t.put("note", "too few samples for a trend (" + samples.size() + ")");
            return t;
        }
        List<Sample> first = steady.subList(0, steady.size() / 2);
        List<Sample> second = steady.subList(steady.size() / 2, steady.size());
        t.put("heapMbFloor", verdict(first.stream().mapToDouble(Sample::heapMb).min().orElse(0),
                second.stream().mapToDouble(Sample::heapMb).min().orElse(0), 32));
        t.put("threads", verdict(first.stream().mapToInt(Sample::threads).average().orElse(0),
                second.stream().mapToInt(Sample::threads).average().orElse(0), 10));
        t.put("fds", verdict(first.stream().mapToLong(Sample::fds).average().orElse(0),
                second.stream().mapToLong(Sample::fds).average().orElse(0), 20));
        t.put("consumerLag", verdict(first.stream().mapToLong(Sample::lag).average().orElse(0),
                second.stream().mapToLong(Sample::lag).average().orElse(0), ROUND));
        return t;
    }

    private static Map<String, Object> verdict(double first, double second, double allowance) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("firstHalf", round(first));
        m.put("secondHalf", round(second));
        m.put("rising", second > first * 1.25 + allowance);
        return m;
    }

    /** Four panels (heap, threads, fds, lag) against time, as SVG. */
    static String plot(List<Sample> samples) {
        int w = 900;
        int panelH = 160;
        StringBuilder svg = new StringBuilder();
        svg.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(w).append("\" height=\"")
                .append(panelH * 4 + 40).append("\" font-family=\"sans-serif\" font-size=\"12\">\n");
        svg.append("<text x=\"10\" y=\"20\">Soak: ").append(samples.isEmpty() ? 0 : samples.get(samples.size() - 1).aa())
                .append(" messages AA, every flow (issue 17)</text>\n");
        String[] names = {"heap in use (MB)", "threads", "open file descriptors", "consumer lag (records)"};
        for (int p = 0; p < 4; p++) {
            int top = 30 + p * panelH;
            int panel = p;
            double[] ys = samples.stream().mapToDouble(s -> switch (panel) {
                case 0 -> s.heapMb();
                case 1 -> s.threads();
                case 2 -> s.fds();
                default -> s.lag();
            }).toArray();
            double maxY = 1;
            for (double y : ys) {
                maxY = Math.max(maxY, y);
            }
            double maxX = samples.isEmpty() ? 1 : Math.max(1, samples.get(samples.size() - 1).seconds());
            svg.append("<rect x=\"60\" y=\"").append(top + 10).append("\" width=\"").append(w - 80)
                    .append("\" height=\"").append(panelH - 40).append("\" fill=\"none\" stroke=\"#999\"/>\n");
            svg.append(String.format(Locale.ROOT, "<text x=\"65\" y=\"%d\">%s (max %.0f; x: 0-%.0f s)</text>%n",
                    top + 25, names[p], maxY, maxX));
            StringBuilder points = new StringBuilder();
            for (int i = 0; i < ys.length; i++) {
                double x = 60 + (w - 80) * samples.get(i).seconds() / maxX;
                double y = top + 10 + (panelH - 40) * (1 - ys[i] / (maxY * 1.1));
                points.append(String.format(Locale.ROOT, "%.1f,%.1f ", x, y));
            }
            svg.append("<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\" points=\"").append(points)
                    .append("\"/>\n");
        }
        svg.append("</svg>\n");
        return svg.toString();
    }

    private static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }
}
