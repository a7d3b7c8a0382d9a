package org.cmm.eventbroker.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;

/**
 * SSE fan-out of the event API against a plain Kafka consumer, side by side in one run. For each case of
 * {@code bench.cases} ({@code <subscribers>x<events per second>}, comma-separated; default {@code 1000x10,20x1000}):
 * that many concurrent Server-Sent Events clients of a fresh topic ({@code GET /streams/{topic}}, java.net.http with an
 * asynchronous line subscriber: no thread per client) and, as the baseline, one plain {@code KafkaConsumer} tailing the
 * same topic, while a KafkaProducer writes the rate for {@code bench.seconds}. Each event carries its
 * {@code System.nanoTime()} at send (runtime, broker, producer and clients share this JVM), so every delivery gives the
 * end-to-end latency producer send to receipt, for SSE lines and baseline records alike. Per case it reports
 * deliveries expected and received, SSE and baseline p50/p99/p99.9/max, the heap used (after a GC) before the clients
 * connect, once they are connected and after the run, with the highest heap seen in between, and the Kafka consumers
 * the streams held (the gauge {@code cmm_eventapi_stream_consumers}: shared tail readers, streams on their own). The
 * streams share one tail reader per topic (docs/event-api.md, Streams). Not a test; run (docs/event-api.md, Benchmark):
 *
 * <pre>
 * mvn -B -o -q -Pbench -DskipTests test-compile dependency:build-classpath -Dmdep.outputFile=target/bench.cp \
 *   -Dmdep.includeScope=test
 * java -Xmx2g -Dbench.cases=1000x10,20x1000 -Dbench.seconds=20 \
 *   -cp target/classes:target/test-classes:$(cat target/bench.cp) org.cmm.eventbroker.bench.SseFanOutBenchmark
 * </pre>
 */
public final class SseFanOutBenchmark {

    private static final Pattern SENT = Pattern.compile("\\\\?\"sent_ns\\\\?\":(\\d+)");
    private static final Pattern SENT_VALUE = Pattern.compile("\"sent_ns\":(\\d+)");

    private SseFanOutBenchmark() {
    }

    /** One case's figures. */
    private record Result(int subscribers, int rate, long events, double sendSeconds, long received, long expected,
            Histogram sse, Histogram baseline, long baselineReceived, long heapBefore, long heapConnected,
            long heapAfter, long heapMax, String consumers) {
    }

    public static void main(String[] args) throws Exception {
        String cases = System.getProperty("bench.cases", "1000x10,20x1000");
        int seconds = Integer.getInteger("bench.seconds", 20);
        List<int[]> parsed = new ArrayList<>();
        for (String c : cases.split(",")) {
            String[] sr = c.trim().split("x");
            parsed.add(new int[] {Integer.parseInt(sr[0]), Integer.parseInt(sr[1])});
        }
        int most = parsed.stream().mapToInt(c -> c[0]).max().orElse(1);
        List<Result> results = new ArrayList<>();
        try (RuntimeUnderTest env = RuntimeUnderTest.flows("event-api").with(Map.of(
                "cmm.eventapi.usage.topic", "",
                "cmm.eventapi.stream.max-clients", String.valueOf(most + 10),
                "cmm.eventapi.stream.max-per-client", String.valueOf(most + 10),
                // every subscriber comes from 127.0.0.1: the HTTP port's per-address share (100) would refuse them
                "cmm.http.max-connections", String.valueOf(most + 100),
                "cmm.http.max-connections-per-address", "0")).start()) {
            int n = 0;
            for (int[] c : parsed) {
                results.add(run(env, "bench.sse." + (n++), c[0], c[1], seconds));
            }
        }
        System.out.printf("%n%-22s %-24s %-38s %-32s %-34s %s%n", "subscribers x events/s", "SSE deliveries",
                "SSE p50 / p99 / p99.9 / max (ms)", "plain consumer p50 / p99 (ms)",
                "heap MiB before/clients/after; max", "stream consumers");
        boolean complete = true;
        for (Result r : results) {
            complete &= r.received() == r.expected() && r.baselineReceived() == r.events();
            System.out.printf("%-22s %-24s %-38s %-32s %-34s %s%n", r.subscribers() + " x " + r.rate(),
                    r.received() + " of " + r.expected() + (r.received() == r.expected() ? "" : " (INCOMPLETE)"),
                    String.format("%.1f / %.1f / %.1f / %.1f", ms(r.sse(), 50), ms(r.sse(), 99), ms(r.sse(), 99.9),
                            r.sse().getMaxValue() / 1e6),
                    String.format("%.1f / %.1f%s", ms(r.baseline(), 50), ms(r.baseline(), 99),
                            r.baselineReceived() == r.events() ? "" : " (INCOMPLETE)"),
                    String.format("%d/%d/%d; %d", r.heapBefore() >> 20, r.heapConnected() >> 20, r.heapAfter() >> 20,
                            r.heapMax() >> 20),
                    r.consumers());
        }
        System.out.printf("(%d s per case; latency is producer send to receipt; runtime, broker and clients share "
                + "this JVM; the plain consumer tails the same topic at the same time)%n", seconds);
        if (!complete) {
            System.exit(1);
        }
    }

    private static double ms(Histogram h, double percentile) {
        return h.getValueAtPercentile(percentile) / 1e6;
    }

    private static Result run(RuntimeUnderTest env, String topic, int subscribers, int rate, int seconds)
            throws Exception {
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        KafkaClients kafka = KafkaClients.forBootstrap(env.bootstrapServers());
        try (Admin admin = kafka.admin("bench", Map.of())) {
            admin.createTopics(List.of(new NewTopic(topic, 3, (short) 1))).all().get(30, TimeUnit.SECONDS);
        }
        long heapBefore = heapAfterGc(memory);
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(30)).build();
        URI stream = URI.create("http://127.0.0.1:" + env.httpPort() + "/streams/" + topic);
        Recorder latency = new Recorder(TimeUnit.SECONDS.toNanos(60), 3);
        AtomicInteger connected = new AtomicInteger();
        AtomicInteger ended = new AtomicInteger();
        AtomicLong received = new AtomicLong();
        List<Client> clients = new ArrayList<>();
        for (int i = 0; i < subscribers; i++) {
            Client c = new Client(latency, connected, received);
            clients.add(c);
            CompletableFuture<HttpResponse<Void>> r = http.sendAsync(HttpRequest.newBuilder(stream).GET().build(),
                    HttpResponse.BodyHandlers.fromLineSubscriber(c));
            r.whenComplete((v, e) -> ended.incrementAndGet());
        }
        long deadline = System.currentTimeMillis() + 120_000;
        while (connected.get() < subscribers && System.currentTimeMillis() < deadline && ended.get() == 0) {
            TimeUnit.MILLISECONDS.sleep(100);
        }
        if (connected.get() < subscribers) {
            throw new IllegalStateException("only " + connected.get() + " of " + subscribers + " subscribers "
                    + "connected (" + ended.get() + " ended)");
        }
        long heapConnected = heapAfterGc(memory);
        String consumers = streamConsumers(http, env.managementPort());
        System.out.printf("%d SSE subscribers of %s connected (stream consumers: %s)%n", subscribers, topic, consumers);

        // the baseline: a plain consumer tailing the same topic, positioned at the end before anything is produced
        Recorder plain = new Recorder(TimeUnit.SECONDS.toNanos(60), 3);
        AtomicLong plainReceived = new AtomicLong();
        AtomicBoolean stop = new AtomicBoolean();
        KafkaConsumer<String, byte[]> tail = kafka.consumer("bench-plain", null, Map.of());
        List<TopicPartition> tps = List.of(new TopicPartition(topic, 0), new TopicPartition(topic, 1),
                new TopicPartition(topic, 2));
        tail.assign(tps);
        tail.seekToEnd(tps);
        tps.forEach(tail::position);
        Thread baseline = new Thread(() -> {
            try (tail) {
                while (!stop.get()) {
                    for (ConsumerRecord<String, byte[]> r : tail.poll(Duration.ofMillis(100))) {
                        long now = System.nanoTime();
                        Matcher m = SENT_VALUE.matcher(new String(r.value(), StandardCharsets.UTF_8));
                        if (m.find()) {
                            plain.recordValue(Math.max(0, Math.min(now - Long.parseLong(m.group(1)),
                                    TimeUnit.SECONDS.toNanos(60))));
                        }
                        plainReceived.incrementAndGet();
                    }
                }
            }
        }, "bench-plain-consumer");
        baseline.start();

        KafkaProducer<String, byte[]> producer = kafka.producer("bench-sse", Map.of("linger.ms", "0"));
        long events = (long) rate * seconds;
        long start = System.nanoTime();
        long heapMax = 0;
        for (long n = 0; n < events; n++) {
            long due = start + n * 1_000_000_000L / rate;
            long wait = due - System.nanoTime();
            if (wait > 0) {
                TimeUnit.NANOSECONDS.sleep(wait);
            }
            byte[] value = ("{\"n\":" + n + ",\"sent_ns\":" + System.nanoTime() + "}").getBytes(StandardCharsets.UTF_8);
            producer.send(new ProducerRecord<>(topic, "k-" + (n % 100), value));
            if (n % rate == 0) {
                heapMax = Math.max(heapMax, memory.getHeapMemoryUsage().getUsed());
            }
        }
        producer.flush();
        double sendSeconds = (System.nanoTime() - start) / 1e9;
        long expected = events * subscribers;
        deadline = System.currentTimeMillis() + 120_000;
        while ((received.get() < expected || plainReceived.get() < events) && System.currentTimeMillis() < deadline) {
            heapMax = Math.max(heapMax, memory.getHeapMemoryUsage().getUsed());
            TimeUnit.MILLISECONDS.sleep(200);
        }
        stop.set(true);
        baseline.join(10_000);
        String consumersAfter = streamConsumers(http, env.managementPort());
        long heapAfter = heapAfterGc(memory);
        clients.forEach(Client::cancel);
        producer.close();
        System.out.printf("%s: %d subscribers, %d events at %d/s (sent in %.1f s): SSE deliveries %d of %d, plain "
                + "consumer %d of %d%n", topic, subscribers, events, rate, sendSeconds, received.get(), expected,
                plainReceived.get(), events);
        return new Result(subscribers, rate, events, sendSeconds, received.get(), expected,
                latency.getIntervalHistogram(), plain.getIntervalHistogram(), plainReceived.get(), heapBefore,
                heapConnected, heapAfter, heapMax, consumers + " connected, " + consumersAfter + " at the end");
    }

    /** The stream consumers gauge of the management server: {@code shared N, own M}. */
    private static String streamConsumers(HttpClient http, int managementPort) {
        try {
            String text = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + managementPort
                    + "/observe/metrics")).GET().build(), HttpResponse.BodyHandlers.ofString()).body();
            String shared = "?";
            String own = "?";
            for (String line : text.lines().toList()) {
                if (line.startsWith("cmm_eventapi_stream_consumers{")) {
                    String value = line.substring(line.lastIndexOf(' ') + 1).replace(".0", "");
                    if (line.contains("kind=\"shared\"")) {
                        shared = value;
                    } else if (line.contains("kind=\"own\"")) {
                        own = value;
                    }
                }
            }
            return "shared " + shared + ", own " + own;
        } catch (Exception e) {
            return "unknown (" + e.getClass().getSimpleName() + ")";
        }
    }

    @SuppressWarnings("java:S1215")
    private static long heapAfterGc(MemoryMXBean memory) {
        System.gc();
        return memory.getHeapMemoryUsage().getUsed();
    }

    /** One SSE client: counts its events and records each one's latency. */
    private static final class Client implements Flow.Subscriber<String> {
        private final Recorder latency;
        private final AtomicInteger connected;
        private final AtomicLong received;
        private volatile Flow.Subscription subscription;
        private boolean seenFirstLine;

        Client(Recorder latency, AtomicInteger connected, AtomicLong received) {
            this.latency = latency;
            this.connected = connected;
            this.received = received;
        }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            subscription = s;
            s.request(Long.MAX_VALUE);
        }

        @Override
        public void onNext(String line) {
            if (!seenFirstLine) {
                seenFirstLine = true;
                connected.incrementAndGet();
            }
            if (line.startsWith("data: ")) {
                long now = System.nanoTime();
                Matcher m = SENT.matcher(line);
                if (m.find()) {
                    latency.recordValue(Math.max(0, Math.min(now - Long.parseLong(m.group(1)),
                            TimeUnit.SECONDS.toNanos(60))));
                }
                received.incrementAndGet();
            }
        }

        @Override
        public void onError(Throwable t) {
            // reported as missing deliveries
        }

        @Override
        public void onComplete() {
            // the server ended the stream: reported as missing deliveries
        }

        void cancel() {
            Flow.Subscription s = subscription;
            if (s != null) {
                s.cancel();
            }
        }
    }
}
