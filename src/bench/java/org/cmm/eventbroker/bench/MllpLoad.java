package org.cmm.eventbroker.bench;

import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongFunction;

import org.HdrHistogram.Histogram;
import org.cmm.eventbroker.platform.mllp.MllpClient;

/**
 * MLLP senders that behave like real ones: one message in flight per connection, the next only after the ACK.
 * Closed model (as fast as ACKs come back) or open model (each message has an intended send time at a fixed
 * offered rate; latency is measured from that time, so a stall is not hidden by the sender waiting).
 */
public final class MllpLoad {

    /** What one run produced. */
    public static final class Result {
        public final Histogram latencyMicros = new Histogram(60_000_000L, 3);
        public final AtomicLong aa = new AtomicLong();
        public final AtomicLong ae = new AtomicLong();
        public final AtomicLong ar = new AtomicLong();
        public final AtomicLong timeouts = new AtomicLong();
        /**
         * control id -> the message's sequence number, for every message answered AA: the expected record is made
         * again from it for the check (keeping every message's bytes filled the harness's heap, whose GC pauses then
         * stalled the broker it also runs)
         */
        public final Map<String, Long> accepted = new ConcurrentHashMap<>();
        public long elapsedNanos;
        public long sent;

        public double throughput() {
            return aa.get() / (elapsedNanos / 1e9);
        }
    }

    private final int port;
    private final int connections;
    private final javax.net.ssl.SSLSocketFactory tls;

    public MllpLoad(int port, int connections) {
        this(port, connections, null);
    }

    /** MLLP over TLS when {@code tls} is not null (a client certificate in its key managers when the listener needs one). */
    public MllpLoad(int port, int connections, javax.net.ssl.SSLSocketFactory tls) {
        this.port = port;
        this.connections = connections;
        this.tls = tls;
    }

    private MllpClient connect() throws IOException {
        if (tls == null) {
            return new MllpClient("127.0.0.1", port, 15_000);
        }
        javax.net.ssl.SSLSocket socket = (javax.net.ssl.SSLSocket) tls.createSocket("127.0.0.1", port);
        socket.startHandshake();
        return new MllpClient(socket, 15_000);
    }

    /** Closed model: messages 0..count-1 are split across the connections, each sent after the previous ACK. */
    public Result closed(LongFunction<SyntheticMessages.Sample> messages, long first, long count) throws Exception {
        return run(messages, first, count, 0);
    }

    /** Open model at a fixed offered rate (messages per second across all connections). */
    public Result open(LongFunction<SyntheticMessages.Sample> messages, long first, long count, double ratePerSecond) throws Exception {
        return run(messages, first, count, ratePerSecond);
    }

    private Result run(LongFunction<SyntheticMessages.Sample> messages, long first, long count, double rate) throws Exception {
        Result result = new Result();
        AtomicLong next = new AtomicLong();
        List<Thread> threads = new ArrayList<>();
        List<Histogram> histograms = new ArrayList<>();
        long start = System.nanoTime();
        double intervalNanos = rate > 0 ? 1e9 / rate : 0;
        for (int c = 0; c < connections; c++) {
            Histogram h = new Histogram(60_000_000L, 3);
            histograms.add(h);
            Thread t = new Thread(() -> {
                try (MllpClient client = connect()) {
                    long i;
                    while ((i = next.getAndIncrement()) < count) {
                        SyntheticMessages.Sample sample = messages.apply(first + i);
                        long intended = rate > 0 ? start + (long) (i * intervalNanos) : System.nanoTime();
                        if (rate > 0) {
                            long wait;
                            while ((wait = intended - System.nanoTime()) > 0) {
                                java.util.concurrent.locks.LockSupport.parkNanos(wait);
                            }
                        }
                        client.send(sample.bytes());
                        String ack;
                        try {
                            ack = new String(client.readFrame(), StandardCharsets.ISO_8859_1);
                        } catch (SocketTimeoutException e) {
                            result.timeouts.incrementAndGet();
                            return; // the connection is out of step now; stop this sender
                        }
                        // clamped to the histogram's range: a system far behind its offered rate (over 60 s late)
                        // would otherwise end this sender with an exception (the first soak run)
                        h.recordValue(Math.min(h.getHighestTrackableValue(),
                                Math.max(0, (System.nanoTime() - intended) / 1000)));
                        int msa = ack.indexOf("MSA|");
                        String code = msa >= 0 ? ack.substring(msa + 4, msa + 6) : "??";
                        switch (code) {
                            case "AA" -> {
                                result.aa.incrementAndGet();
                                result.accepted.put(sample.controlId(), first + i);
                            }
                            case "AE" -> result.ae.incrementAndGet();
                            case "AR" -> result.ar.incrementAndGet();
                            default -> result.timeouts.incrementAndGet();
                        }
                    }
                } catch (IOException e) {
                    System.err.println("sender failed: " + e);
                }
            }, "mllp-sender-" + c);
            threads.add(t);
            t.start();
        }
        for (Thread t : threads) {
            t.join();
        }
        result.elapsedNanos = System.nanoTime() - start;
        result.sent = Math.min(next.get(), count);
        histograms.forEach(result.latencyMicros::add);
        return result;
    }

    /**
     * Waits until the runtime answers AA (issue 17): with every flow loaded the MLLP port opens well before the last
     * routes have started, and a load started then only meets timeouts. Sends one small ADT^A08 (control id
     * {@code id}) until it is answered AA.
     */
    public static void awaitAccepting(int port, String id, long timeoutMs) throws Exception {
        long deadline = System.currentTimeMillis() + timeoutMs;
        String message = "MSH|^~\\&|EPIC|GENHOSP|CMM|CMM|20240101120000||ADT^A08^ADT_A01|" + id
                + "|P|2.5.1\rPID|1||MRN-WARMUP^^^GENHOSP^MR||DOE^JOHN\rPV1|1|I|4WEST^401\r";
        while (System.currentTimeMillis() < deadline) {
            try (MllpClient client = new MllpClient("127.0.0.1", port, 15_000)) {
                client.send(message.getBytes(StandardCharsets.ISO_8859_1));
                if (new String(client.readFrame(), StandardCharsets.ISO_8859_1).contains("MSA|AA|")) {
                    return;
                }
            } catch (IOException notYet) {
                // not accepting yet
            }
            java.util.concurrent.locks.LockSupport.parkNanos(1_000_000_000L);
        }
        throw new IllegalStateException("the runtime did not answer AA within " + timeoutMs + " ms");
    }
}
