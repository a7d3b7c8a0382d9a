package org.cmm.eventbroker.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
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
import org.cmm.eventbroker.platform.mllp.MllpClient;
import org.cmm.eventbroker.testsupport.Hl7Samples;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;

/**
 * Connection flood on the MLLP port (issue 17 item 6), bench profile: the HL7 flow with its default limits; normal
 * senders measure their ACK latency quiet, then again while {@code bench.flood.connections} connections (half idle,
 * half trickling one byte of a frame a second) hold the port. Prints both p99s, their ratio (target: ≤ 2), the
 * senders' failures, and how many flood connections the runtime cut. No figure is asserted: the lead measures it on
 * an idle machine.
 *
 * <pre>mvn -B -Pbench verify -Dbench.suite=flood -Dbench.flood.connections=1000 -Dbench.flood.senders=4 -Dbench.flood.messages=2000</pre>
 */
public final class MllpFloodBenchmark {

    private MllpFloodBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int floodConnections = Integer.getInteger("bench.flood.connections", 1000);
        int senders = Integer.getInteger("bench.flood.senders", 4);
        int messages = Integer.getInteger("bench.flood.messages", 2000);
        try (RuntimeUnderTest env = RuntimeUnderTest.flows("hl7-mllp-inbound").with(Map.of()).start()) {
            int port = env.mllpPort();
            send(port, senders, Math.max(100, messages / 10), "WARM"); // warm-up
            Result quiet = send(port, senders, messages, "QUIET");
            System.out.printf("quiet: %d AA of %d, p99 %.2f ms, failures %d%n", quiet.accepted, senders * messages,
                    quiet.histogram.getValueAtPercentile(99) / 1000.0, quiet.failures);

            List<Socket> flood = new ArrayList<>();
            AtomicInteger cut = new AtomicInteger();
            ScheduledExecutorService trickle = Executors.newSingleThreadScheduledExecutor();
            for (int i = 0; i < floodConnections; i++) {
                try {
                    Socket s = new Socket();
                    s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
                    flood.add(s);
                } catch (IOException refused) {
                    cut.incrementAndGet();
                }
            }
            byte[] frame = MllpClient.frame(Hl7Samples.load("adt-a08.hl7", "SLOW").getBytes(StandardCharsets.ISO_8859_1));
            AtomicInteger position = new AtomicInteger();
            trickle.scheduleAtFixedRate(() -> {
                int at = position.getAndIncrement() % (frame.length - 2); // never the end block
                for (int i = 1; i < flood.size(); i += 2) {
                    Socket s = flood.get(i);
                    if (s.isClosed()) {
                        continue;
                    }
                    try {
                        OutputStream out = s.getOutputStream();
                        out.write(frame[at]);
                        out.flush();
                    } catch (IOException closed) {
                        cut.incrementAndGet();
                        try {
                            s.close();
                        } catch (IOException ignored) {
                            // counted
                        }
                    }
                }
            }, 0, 1, TimeUnit.SECONDS);

            Result flooded = send(port, senders, messages, "FLOOD");
            System.out.printf("flood of %d connections (half idle, half 1 byte/s): %d AA of %d, p99 %.2f ms, failures %d%n",
                    floodConnections, flooded.accepted, senders * messages,
                    flooded.histogram.getValueAtPercentile(99) / 1000.0, flooded.failures);
            trickle.shutdownNow();
            int closedByRuntime = 0;
            for (Socket s : flood) {
                if (!s.isClosed() && closedByPeer(s)) {
                    closedByRuntime++;
                }
                s.close();
            }
            System.out.printf("flood connections cut by the runtime: %d (writes failed) + %d (closed) of %d%n", cut.get(),
                    closedByRuntime, floodConnections);
            double ratio = (double) flooded.histogram.getValueAtPercentile(99)
                    / Math.max(1, quiet.histogram.getValueAtPercentile(99));
            System.out.printf("p99 under flood / quiet: %.2f x (target <= 2)%n", ratio);
        }
    }

    private static boolean closedByPeer(Socket s) {
        try {
            s.setSoTimeout(1);
            InputStream in = s.getInputStream();
            return in.read() < 0;
        } catch (java.net.SocketTimeoutException open) {
            return false;
        } catch (IOException reset) {
            return true;
        }
    }

    private record Result(Histogram histogram, int accepted, int failures) {
    }

    /** Each sender sends its messages one after the other, reconnecting after a failure, as an interface engine does. */
    private static Result send(int port, int senders, int messages, String tag) throws Exception {
        Histogram histogram = new Histogram(TimeUnit.MINUTES.toMicros(5), 3);
        AtomicInteger accepted = new AtomicInteger();
        AtomicInteger failures = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(senders);
        List<Future<?>> done = new ArrayList<>();
        for (int s = 0; s < senders; s++) {
            int sender = s;
            done.add(pool.submit(() -> {
                MllpClient client = null;
                for (int i = 0; i < messages; i++) {
                    byte[] message = Hl7Samples.load("adt-a08.hl7", tag + "-" + sender + "-" + i + "-" + System.nanoTime())
                            .getBytes(StandardCharsets.ISO_8859_1);
                    long started = System.nanoTime();
                    try {
                        if (client == null) {
                            client = new MllpClient("127.0.0.1", port, 60_000);
                        }
                        client.send(message);
                        String ack = new String(client.readFrame(), StandardCharsets.ISO_8859_1);
                        if (ack.contains("MSA|AA")) {
                            accepted.incrementAndGet();
                        }
                        synchronized (histogram) {
                            histogram.recordValue(Math.min(histogram.getHighestTrackableValue(),
                                    (System.nanoTime() - started) / 1000));
                        }
                    } catch (IOException e) {
                        failures.incrementAndGet();
                        try {
                            if (client != null) {
                                client.close();
                            }
                        } catch (IOException ignored) {
                            // reconnect next
                        }
                        client = null;
                    }
                }
                if (client != null) {
                    try {
                        client.close();
                    } catch (IOException ignored) {
                        // done
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
