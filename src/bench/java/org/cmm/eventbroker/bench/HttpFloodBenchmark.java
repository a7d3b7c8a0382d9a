package org.cmm.eventbroker.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.HdrHistogram.Histogram;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;

/**
 * Connection flood on the platform HTTP port (issue 17 item 6), bench profile: the EHR webhook intake
 * ({@code ehr-api-events}) with the default limits of {@code config/http.properties}; normal senders (keep-alive HTTP/1.1
 * clients from 127.0.0.1, one request after the other) measure their answer latency quiet, then again while
 * {@code bench.flood.connections} connections from other loopback addresses (half idle, half trickling a request one
 * byte a second, each reopened as soon as the runtime cuts it, as a determined flood would) hold the port. Prints both
 * p99s, their ratio (target: ≤ 2), the senders' failures, and what the runtime did to the flood: connections cut, 503
 * and 408 answers. No figure is asserted: the lead measures it on an idle machine.
 *
 * <pre>mvn -B -Pbench verify -Dbench.suite=flood -Dbench.flood.connections=1000 -Dbench.flood.senders=4 -Dbench.flood.messages=2000</pre>
 *
 * The flood runs {@code bench.flood.settleSeconds} (default 10) before the senders measure, so that they meet it in its
 * steady state. {@code bench.flood.sourceAddresses} (default 1: 127.0.0.2) spreads the flood over that many loopback addresses
 * (127.0.0.2, 127.0.0.3, ...): with 1 the per-address share ({@code cmm.http.max-connections-per-address}) is what
 * holds the flood; with 10 or more, the total ({@code cmm.http.max-connections}) is reached too.
 */
public final class HttpFloodBenchmark {

    private static final byte[] SLOW_REQUEST = ("POST /ehr/epic/Patient/updated HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + "Content-Type: application/json\r\nContent-Length: 64\r\n\r\n{\"resourceType\":\"Patient\",\"id\":\"slow\"}")
            .getBytes(StandardCharsets.US_ASCII);

    private HttpFloodBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int floodConnections = Integer.getInteger("bench.flood.connections", 1000);
        int senders = Integer.getInteger("bench.flood.senders", 4);
        int messages = Integer.getInteger("bench.flood.messages", 2000);
        int sourceAddresses = Integer.getInteger("bench.flood.sourceAddresses", 1);
        int settleSeconds = Integer.getInteger("bench.flood.settleSeconds", 10);
        try (RuntimeUnderTest env = RuntimeUnderTest.flows("ehr-api-events").with(Map.of()).start()) {
            int port = env.httpPort();
            send(port, senders, Math.max(100, messages / 10), "WARM"); // warm-up
            Result quiet = send(port, senders, messages, "QUIET");
            System.out.printf("HTTP quiet: %d accepted of %d, p99 %.2f ms, failures %d%n", quiet.accepted,
                    senders * messages, quiet.histogram.getValueAtPercentile(99) / 1000.0, quiet.failures);

            Flood flood = new Flood(port, floodConnections, sourceAddresses);
            ScheduledExecutorService ticks = Executors.newSingleThreadScheduledExecutor();
            flood.openAll();
            ticks.scheduleWithFixedDelay(flood::tick, 0, 1, TimeUnit.SECONDS);
            // the flood in its steady state before measuring: refused connections cut and reopened, tricklers waiting
            // for their deadline (30 s by default: a settle time above it shows the 408s too)
            TimeUnit.SECONDS.sleep(settleSeconds);
            Result flooded = send(port, senders, messages, "FLOOD");
            ticks.shutdownNow();
            ticks.awaitTermination(10, TimeUnit.SECONDS);
            System.out.printf("HTTP flood of %d connections from %d address(es) (half idle, half 1 byte/s, reopened when "
                    + "cut): %d accepted of %d, p99 %.2f ms, failures %d%n", floodConnections, sourceAddresses,
                    flooded.accepted, senders * messages, flooded.histogram.getValueAtPercentile(99) / 1000.0,
                    flooded.failures);
            System.out.printf("flood connections opened %d, cut by the runtime %d (answered 503: %d, 408: %d), "
                    + "connects failed %d (the flood ran %d s before the senders measured)%n", flood.opened, flood.cut, flood.refused503,
                    flood.timedOut408, flood.connectFailures, settleSeconds);
            flood.closeAll();
            double ratio = (double) flooded.histogram.getValueAtPercentile(99)
                    / Math.max(1, quiet.histogram.getValueAtPercentile(99));
            System.out.printf("HTTP p99 under flood / quiet: %.2f x (target <= 2)%n", ratio);
        }
    }

    /** The flood's connections, non-blocking, touched by the tick thread only. */
    private static final class Flood {
        private final int port;
        private final SocketChannel[] channels;
        private final int[] written;
        private final int sourceAddresses;
        private final ByteBuffer scratch = ByteBuffer.allocate(4096);
        int opened;
        int cut;
        int refused503;
        int timedOut408;
        int connectFailures;

        Flood(int port, int connections, int sourceAddresses) {
            this.port = port;
            this.channels = new SocketChannel[connections];
            this.written = new int[connections];
            this.sourceAddresses = Math.max(1, sourceAddresses);
        }

        void openAll() {
            for (int i = 0; i < channels.length; i++) {
                open(i);
            }
        }

        private void open(int i) {
            try {
                SocketChannel channel = SocketChannel.open();
                channel.bind(new InetSocketAddress("127.0.0." + (2 + i % sourceAddresses), 0));
                channel.connect(new InetSocketAddress("127.0.0.1", port));
                channel.configureBlocking(false);
                channels[i] = channel;
                written[i] = 0;
                opened++;
            } catch (IOException e) {
                channels[i] = null;
                connectFailures++;
            }
        }

        /** Every second: read what the runtime answered, reopen what it cut, trickle one byte on the odd ones. */
        void tick() {
            for (int i = 0; i < channels.length; i++) {
                SocketChannel channel = channels[i];
                if (channel == null) {
                    open(i);
                    continue;
                }
                boolean closed = false;
                try {
                    scratch.clear();
                    int n = channel.read(scratch);
                    if (n > 0) {
                        String answer = new String(scratch.array(), 0, n, StandardCharsets.US_ASCII);
                        if (answer.startsWith("HTTP/1.1 503")) {
                            refused503++;
                        } else if (answer.startsWith("HTTP/1.1 408")) {
                            timedOut408++;
                        }
                        closed = channel.read(scratch) < 0;
                    } else if (n < 0) {
                        closed = true;
                    }
                    if (!closed && i % 2 == 1) {
                        channel.write(ByteBuffer.wrap(SLOW_REQUEST, written[i] % (SLOW_REQUEST.length - 1), 1));
                        written[i]++; // never the last byte: the request is never complete
                    }
                } catch (IOException reset) {
                    closed = true;
                }
                if (closed) {
                    cut++;
                    close(channel);
                    open(i);
                }
            }
        }

        void closeAll() {
            for (SocketChannel channel : channels) {
                if (channel != null) {
                    close(channel);
                }
            }
        }

        private static void close(SocketChannel channel) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // counted as cut
            }
        }
    }

    private record Result(Histogram histogram, int accepted, int failures) {
    }

    /** Each sender posts its events one after the other on its own keep-alive client, as an EHR's webhook does. */
    private static Result send(int port, int senders, int messages, String tag) throws Exception {
        Histogram histogram = new Histogram(TimeUnit.MINUTES.toMicros(5), 3);
        AtomicInteger accepted = new AtomicInteger();
        AtomicInteger failures = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(senders);
        List<Future<?>> done = new ArrayList<>();
        URI uri = URI.create("http://127.0.0.1:" + port + "/ehr/epic/Patient/updated");
        for (int s = 0; s < senders; s++) {
            int sender = s;
            done.add(pool.submit(() -> {
                HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                        .connectTimeout(Duration.ofSeconds(30)).build();
                for (int i = 0; i < messages; i++) {
                    String body = "{\"resourceType\":\"Patient\",\"id\":\"" + tag + "-" + sender + "-" + i + "-"
                            + System.nanoTime() + "\"}";
                    HttpRequest request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(60))
                            .header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8)).build();
                    long started = System.nanoTime();
                    try {
                        HttpResponse<Void> response = client.send(request, HttpResponse.BodyHandlers.discarding());
                        if (response.statusCode() == 202) {
                            accepted.incrementAndGet();
                        } else {
                            failures.incrementAndGet();
                        }
                        synchronized (histogram) {
                            histogram.recordValue(Math.min(histogram.getHighestTrackableValue(),
                                    (System.nanoTime() - started) / 1000));
                        }
                    } catch (IOException e) {
                        failures.incrementAndGet();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return null;
                    }
                }
                return null;
            }));
        }
        for (Future<?> f : done) {
            f.get();
        }
        pool.shutdown();
        return new Result(histogram, accepted.get(), failures.get());
    }
}
