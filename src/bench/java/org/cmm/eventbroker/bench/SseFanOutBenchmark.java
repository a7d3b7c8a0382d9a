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
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;

/**
 * SSE fan-out of the event API: {@code bench.subscribers} concurrent Server-Sent Events clients of one topic
 * ({@code GET /streams/{topic}}, java.net.http with an asynchronous line subscriber: no thread per client), while a
 * KafkaProducer writes {@code bench.rate} events per second for {@code bench.seconds}. Each event carries its
 * {@code System.nanoTime()} at send (runtime, producer and clients share this JVM), so every delivery gives the
 * end-to-end latency producer send to SSE line received; reports p50/p99/max, deliveries expected and received, and
 * the heap used (after a GC) before the clients connect, once they are connected and after the run, with the
 * highest heap seen in between. Every client is its own stream session (its own assign-only consumer, bounded
 * buffer). Not a test; run (docs/event-api.md, Benchmark):
 *
 * <pre>
 * mvn -B -o -q -Pbench -DskipTests test-compile dependency:build-classpath -Dmdep.outputFile=target/bench.cp -Dmdep.includeScope=test
 * java -Xmx2g -Dbench.subscribers=1000 -Dbench.rate=1000 -Dbench.seconds=30 \
 *   -cp target/classes:target/test-classes:$(cat target/bench.cp) org.cmm.eventbroker.bench.SseFanOutBenchmark
 * </pre>
 */
public final class SseFanOutBenchmark {

    private static final Pattern SENT = Pattern.compile("\\\\?\"sent_ns\\\\?\":(\\d+)");

    private SseFanOutBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int subscribers = Integer.getInteger("bench.subscribers", 1000);
        int rate = Integer.getInteger("bench.rate", 1000);
        int seconds = Integer.getInteger("bench.seconds", 30);
        String topic = "bench.sse";
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        try (RuntimeUnderTest env = RuntimeUnderTest.flows("event-api").with(Map.of(
                "cmm.eventapi.usage.topic", "",
                "cmm.eventapi.stream.max-clients", String.valueOf(subscribers + 10),
                "cmm.eventapi.stream.max-per-client", String.valueOf(subscribers + 10),
                // every subscriber comes from 127.0.0.1: the HTTP port's per-address share (100) would refuse them
                "cmm.http.max-connections", String.valueOf(subscribers + 100),
                "cmm.http.max-connections-per-address", "0")).start()) {
            try (Admin admin = KafkaClients.forBootstrap(env.bootstrapServers()).admin("bench", Map.of())) {
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
            List<CompletableFuture<HttpResponse<Void>>> responses = new ArrayList<>();
            for (int i = 0; i < subscribers; i++) {
                Client c = new Client(latency, connected, received);
                clients.add(c);
                CompletableFuture<HttpResponse<Void>> r = http.sendAsync(HttpRequest.newBuilder(stream).GET().build(),
                        HttpResponse.BodyHandlers.fromLineSubscriber(c));
                r.whenComplete((v, e) -> ended.incrementAndGet());
                responses.add(r);
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
            System.out.printf("%d SSE subscribers connected%n", subscribers);

            KafkaProducer<String, byte[]> producer = KafkaClients.forBootstrap(env.bootstrapServers())
                    .producer("bench-sse", Map.of("linger.ms", "0"));
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
            while (received.get() < expected && System.currentTimeMillis() < deadline) {
                heapMax = Math.max(heapMax, memory.getHeapMemoryUsage().getUsed());
                TimeUnit.MILLISECONDS.sleep(200);
            }
            long heapAfter = heapAfterGc(memory);
            Histogram h = latency.getIntervalHistogram();
            System.out.printf("%n%d subscribers, %d events at %d/s (sent in %.1f s): deliveries %d of %d%s%n",
                    subscribers, events, rate, sendSeconds, received.get(), expected,
                    received.get() == expected ? "" : "  (INCOMPLETE)");
            System.out.printf("end-to-end latency (producer send to SSE line received): p50 %.2f ms, p99 %.2f ms, "
                    + "p99.9 %.2f ms, max %.2f ms%n", h.getValueAtPercentile(50) / 1e6, h.getValueAtPercentile(99) / 1e6,
                    h.getValueAtPercentile(99.9) / 1e6, h.getMaxValue() / 1e6);
            System.out.printf("heap used after GC: %d MiB before the clients, %d MiB with %d clients connected, %d MiB "
                    + "after the run; highest seen during the run %d MiB (runtime, broker and clients share this JVM)%n",
                    heapBefore >> 20, heapConnected >> 20, subscribers, heapAfter >> 20, heapMax >> 20);
            clients.forEach(Client::cancel);
            producer.close();
            if (received.get() != expected) {
                System.exit(1);
            }
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
