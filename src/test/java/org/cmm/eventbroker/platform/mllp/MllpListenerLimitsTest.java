package org.cmm.eventbroker.platform.mllp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import ca.uhn.hl7v2.preparser.PreParser;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.impl.DefaultCamelContext;
import org.awaitility.Awaitility;
import org.cmm.eventbroker.testsupport.FreePorts;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The MLLP listener's limits against misbehaving connections, on a real socket with a route that only answers AA
 * (no Kafka: what is proved here is the listener's own behaviour): ACKs are always written, bytes outside frames
 * are bounded, tricklers and silent connections are cut by a total frame-read deadline (not reset per byte) and do
 * not keep new senders out, and an ACK write into a sender that never reads is bounded.
 */
class MllpListenerLimitsTest {

    private static final String ADT = "MSH|^~\\&|EPIC|GENHOSP|BROKER|CMM|20240101120000||ADT^A08|%s|P|2.5\r"
            + "PID|1||123456^^^GENHOSP^MR||DOE^JOHN\r";

    private DefaultCamelContext context;
    private final List<Socket> sockets = new ArrayList<>();
    private final ScheduledExecutorService tricklers = Executors.newScheduledThreadPool(2);
    private int port;

    private void start(int maxConnections, int frameReadTimeoutMs, int ackWriteTimeoutMs) throws Exception {
        port = FreePorts.next();
        context = new DefaultCamelContext();
        MllpListenerComponent component = context.getComponent("mllp-listener", MllpListenerComponent.class);
        component.setFrameReadTimeoutMs(frameReadTimeoutMs);
        component.setAckWriteTimeoutMs(ackWriteTimeoutMs);
        context.addRoutes(new RouteBuilder() {
            @Override
            public void configure() {
                from("mllp-listener:127.0.0.1:" + port + "?maxConnections=" + maxConnections).routeId("limits")
                        .process(e -> {
                            String body = new String(e.getMessage().getBody(byte[].class), StandardCharsets.ISO_8859_1);
                            if (body.contains("|CNS|")) {
                                // what the HL7 inspector said before: decodable, but Java cannot encode in it
                                e.getMessage().setHeader(MllpListenerHeaders.CHARSET, "ISO-2022-CN");
                            }
                            e.getMessage().setHeader(MllpListenerHeaders.ACKNOWLEDGEMENT_CODE, "AA");
                        });
            }
        });
        context.start();
    }

    @AfterEach
    void stop() throws Exception {
        tricklers.shutdownNow();
        for (Socket s : sockets) {
            s.close();
        }
        if (context != null) {
            context.stop();
        }
    }

    private Socket connect() throws IOException {
        Socket s = new Socket("127.0.0.1", port);
        sockets.add(s);
        return s;
    }

    private static String ackCode(String ack) throws Exception {
        return PreParser.getFields(ack, "MSA-1")[0];
    }

    @Test
    void theAckIsWrittenEvenWhenTheMessagesCharsetCannotEncode() throws Exception {
        start(10, 30_000, 5_000);
        try (MllpClient client = new MllpClient("127.0.0.1", port, 5_000)) {
            client.send(String.format(ADT, "CNS1").replace("|2.5\r", "|2.5|||||CNS\r").getBytes(StandardCharsets.US_ASCII));
            String ack = new String(client.readFrame(), StandardCharsets.ISO_8859_1);
            assertEquals("AA", ackCode(ack));
        }
    }

    @Test
    void bytesOutsideFramesPastTheLimitCloseTheConnection() throws Exception {
        start(10, 30_000, 5_000);
        Socket s = connect();
        byte[] garbage = new byte[64 * 1024];
        java.util.Arrays.fill(garbage, (byte) 'x');
        CompletableFuture<Long> written = CompletableFuture.supplyAsync(() -> {
            long total = 0;
            try {
                OutputStream out = s.getOutputStream();
                while (total < 64L * 1024 * 1024) {
                    out.write(garbage);
                    total += garbage.length;
                }
            } catch (IOException closedByTheListener) {
                return total;
            }
            return total;
        });
        long total = written.get(20, TimeUnit.SECONDS);
        assertTrue(total < 16L * 1024 * 1024, "the listener took " + total + " bytes outside any frame without closing");
    }

    @Test
    void tricklersAboveMaxConnectionsAreCutAndANewSenderStillGetsItsAck() throws Exception {
        int max = 4;
        start(max, 1_500, 5_000);
        AtomicInteger cut = new AtomicInteger();
        for (int i = 0; i < max + 3; i++) {
            Socket s = connect();
            OutputStream out = s.getOutputStream();
            out.write(MllpFrameReader.START_BLOCK); // a frame that never ends: one byte every 200 ms
            tricklers.scheduleAtFixedRate(() -> {
                try {
                    out.write('x');
                } catch (IOException e) {
                    cut.incrementAndGet();
                    throw new IllegalStateException("cut", e);
                }
            }, 200, 200, TimeUnit.MILLISECONDS);
        }
        long started = System.nanoTime();
        try (MllpClient client = new MllpClient("127.0.0.1", port, 10_000)) {
            client.send(String.format(ADT, "NEW1").getBytes(StandardCharsets.ISO_8859_1));
            assertEquals("AA", ackCode(new String(client.readFrame(), StandardCharsets.ISO_8859_1)));
        }
        long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        assertTrue(tookMs < 6_000, "the new sender waited " + tookMs + " ms");
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> cut.get() >= max);
    }

    /**
     * Issue 17, measured from outside: with 120 connections trickling a byte a second (above the default
     * max-connections, 100, with the default 30 s frame-read timeout) a new sender got no ACK within 10 s. A waiting
     * connection whose sender has written its frame is served before those still trickling, and a slot held by a
     * frame that crawls is taken back for it.
     */
    @Test
    void aNewSenderBehindMaxConnectionsPlusTwentyTricklersGetsItsAckWithinTenSeconds() throws Exception {
        int max = 100;
        start(max, 30_000, 10_000);
        AtomicInteger cut = new AtomicInteger();
        List<OutputStream> outs = new ArrayList<>();
        for (int i = 0; i < max + 20; i++) {
            Socket s = connect();
            OutputStream out = s.getOutputStream();
            out.write(MllpFrameReader.START_BLOCK); // a frame that never ends: one byte a second
            outs.add(out);
        }
        tricklers.scheduleAtFixedRate(() -> {
            for (OutputStream out : outs) {
                try {
                    out.write('x');
                } catch (IOException e) {
                    cut.incrementAndGet();
                }
            }
        }, 1_000, 1_000, TimeUnit.MILLISECONDS);
        long started = System.nanoTime();
        for (int n = 1; n <= 3; n++) { // one new sender after the other, each on a new connection
            try (MllpClient client = new MllpClient("127.0.0.1", port, 10_000)) {
                client.send(String.format(ADT, "FLOOD" + n).getBytes(StandardCharsets.ISO_8859_1));
                assertEquals("AA", ackCode(new String(client.readFrame(), StandardCharsets.ISO_8859_1)));
            }
        }
        long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        assertTrue(tookMs < 10_000, "three new senders took " + tookMs + " ms");
    }

    @Test
    void silentConnectionsHoldingEverySlotMakeRoomForANewSender() throws Exception {
        start(2, 1_000, 5_000);
        Socket first = connect();
        Socket second = connect();
        try (MllpClient client = new MllpClient("127.0.0.1", port, 5_000)) {
            client.send(String.format(ADT, "NEW2").getBytes(StandardCharsets.ISO_8859_1));
            assertEquals("AA", ackCode(new String(client.readFrame(), StandardCharsets.ISO_8859_1)));
        }
        // the one closed to make room was closed before the new sender got its ACK
        first.setSoTimeout(1_000);
        second.setSoTimeout(1_000);
        int closed = 0;
        for (Socket s : List.of(first, second)) {
            try {
                closed += s.getInputStream().read() < 0 ? 1 : 0;
            } catch (java.net.SocketTimeoutException stillOpen) {
                // the other one kept its slot
            } catch (IOException reset) {
                closed++;
            }
        }
        assertEquals(1, closed, "exactly one silent connection was closed to make room");
    }

    @Test
    void aSenderThatNeverReadsItsAcksIsCutAfterTheAckWriteTimeout() throws Exception {
        start(4, 30_000, 1_000);
        Socket s = new Socket();
        s.setReceiveBufferSize(4096);
        s.connect(new java.net.InetSocketAddress("127.0.0.1", port));
        sockets.add(s);
        byte[] frame = MllpClient.frame(String.format(ADT, "W1").getBytes(StandardCharsets.ISO_8859_1));
        byte[] batch = new byte[frame.length * 100];
        for (int i = 0; i < 100; i++) {
            System.arraycopy(frame, 0, batch, i * frame.length, frame.length);
        }
        // sends frames and never reads an ACK: once the ACKs fill the buffers, the listener's ACK write blocks
        CompletableFuture<Boolean> cutOff = CompletableFuture.supplyAsync(() -> {
            try {
                OutputStream out = s.getOutputStream();
                while (true) {
                    out.write(batch);
                }
            } catch (IOException closedByTheListener) {
                return true;
            }
        });
        assertTrue(cutOff.get(30, TimeUnit.SECONDS));
    }
}
