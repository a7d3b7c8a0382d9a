package org.cmm.eventbroker.platform.mllp;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.apache.camel.Exchange;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.impl.DefaultCamelContext;
import org.cmm.eventbroker.platform.delivery.DeliveryFailedException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The MLLP sender's time limits against a real peer on loopback that misbehaves: the ACK timeout is a deadline for
 * the whole ACK (a peer trickling stray bytes does not hold the lane), and a write into a peer that stopped reading
 * is bounded too.
 */
class MllpSenderDeadlinesTest {

    private static final String ORDER = "MSH|^~\\&|CMM|HOSP|LIS|LAB|20240101120000||ORM^O01|ORD1|P|2.5\r"
            + "PID|1||123456^^^GENHOSP^MR||DOE^JOHN\r";

    private final ScheduledExecutorService peerThreads = Executors.newScheduledThreadPool(3);
    private DefaultCamelContext context;
    private ProducerTemplate template;
    private ServerSocket peer;

    @BeforeEach
    void start() throws Exception {
        peer = new ServerSocket(0, 5, InetAddress.getLoopbackAddress());
        context = new DefaultCamelContext();
        context.start();
        template = context.createProducerTemplate();
    }

    @AfterEach
    void stop() throws Exception {
        peerThreads.shutdownNow();
        peer.close();
        context.stop();
    }

    private Exception send(String body) {
        Exchange result = template.send("mllp-sender:127.0.0.1:" + peer.getLocalPort()
                + "?ackTimeoutMs=1000&writeTimeoutMs=1000&connectTimeoutMs=1000", e -> e.getMessage().setBody(body));
        return result.getException();
    }

    @Test
    void aPeerTricklingStrayBytesIsCutAtTheAckDeadline() {
        peerThreads.execute(() -> {
            try {
                Socket s = peer.accept();
                InputStream in = s.getInputStream();
                while (in.read() != MllpFrameReader.END_BLOCK) {
                    // read the order
                }
                OutputStream out = s.getOutputStream();
                peerThreads.scheduleAtFixedRate(() -> {
                    try {
                        out.write('x'); // never an ACK, but never silent for a whole read timeout either
                    } catch (IOException closed) {
                        throw new IllegalStateException(closed);
                    }
                }, 0, 100, TimeUnit.MILLISECONDS);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
        long started = System.nanoTime();
        Exception failure = assertTimeoutPreemptively(Duration.ofSeconds(8), () -> send(ORDER));
        long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        assertInstanceOf(DeliveryFailedException.class, failure);
        assertTrue(failure.getMessage().contains("within 1000 ms"), failure.getMessage());
        assertTrue(tookMs < 4_000, "took " + tookMs + " ms");
    }

    @Test
    void aWriteIntoAPeerThatStoppedReadingIsBounded() {
        peerThreads.execute(() -> {
            try {
                Socket s = peer.accept();
                s.setReceiveBufferSize(4096); // accepts the connection, then never reads
                peerThreads.schedule(() -> s, 1, TimeUnit.HOURS);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
        String large = ORDER + "NTE|1||" + "x".repeat(32 * 1024 * 1024) + "\r";
        long started = System.nanoTime();
        Exception failure = assertTimeoutPreemptively(Duration.ofSeconds(10), () -> send(large));
        long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        assertInstanceOf(DeliveryFailedException.class, failure);
        assertTrue(failure.getMessage().contains("did not complete within 1000 ms"), failure.getMessage());
        assertTrue(tookMs < 6_000, "took " + tookMs + " ms");
    }
}
