package org.cmm.eventbroker.bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.HdrHistogram.Histogram;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;

/**
 * REST produce through the event API (Kafka REST Proxy v3 {@code POST .../records}, one record per request, answered
 * after Kafka acknowledged) against a plain KafkaProducer with the same concurrency and the same semantics (each
 * thread waits for the acknowledgement of its record before sending the next). Not a test; run (docs/event-api.md):
 *
 * <pre>
 * mvn -B -o -q -Pbench -DskipTests test-compile dependency:build-classpath -Dmdep.outputFile=target/bench.cp -Dmdep.includeScope=test
 * java -Xmx1g -Dbench.threads=8 -Dbench.records=20000 -cp target/classes:target/test-classes:$(cat target/bench.cp) \
 *   org.cmm.eventbroker.bench.EventApiProduceBenchmark
 * </pre>
 */
public final class EventApiProduceBenchmark {

    private EventApiProduceBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int threads = Integer.getInteger("bench.threads", 8);
        int records = Integer.getInteger("bench.records", 20000);
        int warmup = Integer.getInteger("bench.warmup", 2000);
        byte[] value = "{\"patient\":\"p-0001\",\"result\":\"7.2\",\"unit\":\"mmol/L\",\"flag\":\"N\"}"
                .getBytes(StandardCharsets.UTF_8);
        try (RuntimeUnderTest env = RuntimeUnderTest.flows("event-api").with(Map.of(
                "cmm.eventapi.usage.topic", "")).start()) {
            try (Admin admin = KafkaClients.forBootstrap(env.bootstrapServers()).admin("bench", Map.of())) {
                admin.createTopics(List.of(new NewTopic("bench.rest", 3, (short) 1), new NewTopic("bench.plain", 3,
                        (short) 1))).all().get(30, TimeUnit.SECONDS);
            }
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            String base = "http://127.0.0.1:" + env.httpPort();
            String cluster = new ObjectMapper().readTree(http.send(HttpRequest.newBuilder(URI.create(base
                    + "/v3/clusters")).build(), HttpResponse.BodyHandlers.ofString()).body()).path("data").get(0)
                    .path("cluster_id").asText();
            URI produce = URI.create(base + "/v3/clusters/" + cluster + "/topics/bench.rest/records");
            String body = "{\"key\":{\"type\":\"STRING\",\"data\":\"%s\"},\"value\":{\"type\":\"JSON\",\"data\":"
                    + new String(value, StandardCharsets.UTF_8) + "}}";
            Sender rest = key -> {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(produce).header("Content-Type",
                        "application/json").POST(HttpRequest.BodyPublishers.ofString(body.formatted(key))).build(),
                        HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() != 200) {
                    throw new IllegalStateException("HTTP " + r.statusCode());
                }
            };
            KafkaProducer<String, byte[]> producer = KafkaClients.forBootstrap(env.bootstrapServers())
                    .producer("bench-plain", Map.of("linger.ms", "0"));
            Sender plain = key -> producer.send(new ProducerRecord<>("bench.plain", key, value)).get();
            run("warm-up REST", rest, threads, warmup);
            run("warm-up plain", plain, threads, warmup);
            Result r = run("REST produce (event API)", rest, threads, records);
            Result p = run("KafkaProducer (plain)", plain, threads, records);
            System.out.printf("%nREST / plain throughput: %.2f%n", r.perSecond / p.perSecond);
            producer.close();
        }
    }

    private interface Sender {
        void send(String key) throws Exception;
    }

    private record Result(double perSecond) {
    }

    private static Result run(String name, Sender sender, int threads, int records) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        Histogram latency = new Histogram(TimeUnit.SECONDS.toMicros(60), 3);
        int each = records / threads;
        long start = System.nanoTime();
        List<Future<Histogram>> done = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int thread = t;
            Callable<Histogram> work = () -> {
                Histogram h = new Histogram(TimeUnit.SECONDS.toMicros(60), 3);
                for (int i = 0; i < each; i++) {
                    long s = System.nanoTime();
                    sender.send("p-" + thread + "-" + (i % 100));
                    h.recordValue(Math.max(1, (System.nanoTime() - s) / 1000));
                }
                return h;
            };
            done.add(pool.submit(work));
        }
        for (Future<Histogram> f : done) {
            latency.add(f.get());
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        pool.shutdown();
        double rate = each * threads / seconds;
        System.out.printf("%-26s %8d records, %d threads: %9.0f records/s, latency p50 %6.2f ms, p99 %6.2f ms%n", name,
                each * threads, threads, rate, latency.getValueAtPercentile(50) / 1000.0,
                latency.getValueAtPercentile(99) / 1000.0);
        return new Result(rate);
    }
}
