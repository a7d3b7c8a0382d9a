package org.cmm.eventbroker.platform.http;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The connection limits of the platform HTTP server (config/http.properties, issue 17 floods) over real sockets on
 * loopback, against the event API flow (a cheap GET and an SSE stream) and the EHR webhooks: a silent connection is
 * closed after the idle timeout, a request trickled a byte at a time is answered 408 after the read timeout (headers or
 * body), a connection over its address's share is answered 503 at once while the open ones keep being served, with
 * every slot held by idle and trickling connections from several addresses whole requests are served in their place,
 * with every slot busy a newcomer is answered 503 at once, an SSE stream and a WebSocket stream with heartbeats outlive
 * the idle timeout (and the WebSocket's client frames are not taken for a slow request), and HTTPS gets the same limits.
 * Three runtimes on one broker: short timeouts, low connection limits with the default timeouts (so the held
 * connections stay while the test looks), TLS.
 */
class HttpConnectionLimitsIT {

    private static final String TOPIC = "limits.sse";
    /** A cheap GET of the flow (a document it builds once). */
    private static final String CHEAP = "/openapi.json";
    private static final int IDLE_SECONDS = 3;
    private static final int READ_SECONDS = 2;
    private static final int MAX_CONNECTIONS = 20;
    private static final int MAX_PER_ADDRESS = 10;
    private static final int SLOW_REQUEST_MS = 1000;
    /** A byte every this long: a trickler, far below the minimum rate. */
    private static final long TRICKLE_EVERY_MS = 200;
    private static final String PASSWORD = "test-only-password";

    private static RuntimeUnderTest timeouts;
    private static RuntimeUnderTest limited;
    private static RuntimeUnderTest tls;
    private static SSLContext clientTls;

    @BeforeAll
    static void start() throws Exception {
        Path dir = Files.createTempDirectory("cmm-http-limits");
        Path keystore = dir.resolve("server.p12");
        // one self-signed certificate for 127.0.0.1 (a keytool run; a whole CA would take several)
        Process keytool = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair", "-alias", "server", "-keyalg", "EC", "-groupname", "secp256r1", "-dname",
                "CN=127.0.0.1,O=CMM Tests", "-ext", "san=ip:127.0.0.1", "-validity", "2", "-keystore",
                keystore.toString(), "-storetype", "PKCS12", "-storepass", PASSWORD, "-keypass", PASSWORD)
                .redirectErrorStream(true).start();
        timeouts = RuntimeUnderTest.flows("event-api").with(Map.of(
                HttpConnectionLimits.IDLE_TIMEOUT, String.valueOf(IDLE_SECONDS),
                HttpConnectionLimits.REQUEST_READ_TIMEOUT, String.valueOf(READ_SECONDS),
                "cmm.eventapi.stream.heartbeat-ms", "1000")).start();
        try (Admin admin = KafkaClients.forBootstrap(timeouts.bootstrapServers()).admin("http-limits-it", Map.of())) {
            admin.createTopics(List.of(new NewTopic(TOPIC, 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
        }
        limited = RuntimeUnderTest.flows("event-api", "ehr-api-events").broker(timeouts.broker()).with(Map.of(
                HttpConnectionLimits.MAX_CONNECTIONS, String.valueOf(MAX_CONNECTIONS),
                HttpConnectionLimits.MAX_CONNECTIONS_PER_ADDRESS, String.valueOf(MAX_PER_ADDRESS),
                HttpConnectionLimits.SLOW_REQUEST, String.valueOf(SLOW_REQUEST_MS))).start();
        String keytoolOutput = new String(keytool.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(keytool.waitFor(60, TimeUnit.SECONDS) && keytool.exitValue() == 0, keytoolOutput);
        KeyStore trusted = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(keystore)) {
            trusted.load(in, PASSWORD.toCharArray());
        }
        TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trust.init(trusted);
        clientTls = SSLContext.getInstance("TLS");
        clientTls.init(null, trust.getTrustManagers(), null);
        tls = RuntimeUnderTest.flows("event-api").broker(timeouts.broker()).with(Map.of(
                "camel.ssl.enabled", "true",
                "cmm.security.tls.keystore", keystore.toString(),
                "cmm.security.tls.keystore-password", PASSWORD,
                HttpConnectionLimits.IDLE_TIMEOUT, String.valueOf(IDLE_SECONDS),
                HttpConnectionLimits.REQUEST_READ_TIMEOUT, String.valueOf(READ_SECONDS))).start();
        // the flow builds its document at the first request: once here, not inside a test's timeout
        for (RuntimeUnderTest env : List.of(timeouts, limited)) {
            try (Socket warm = connect("127.0.0.1", env.httpPort())) {
                assertEquals(200, statusOf(exchange(warm, get(CHEAP))));
            }
        }
        try (Socket warm = connectTls(tls.httpPort())) {
            assertEquals(200, statusOf(exchange(warm, get(CHEAP))));
        }
        // and the webhook flow its Kafka producer and de-duplication at the first event
        try (Socket warm = connect("127.0.0.1", limited.httpPort())) {
            assertEquals(202, statusOf(exchange(warm, webhook("warm-up"))));
        }
    }

    @AfterAll
    static void stop() throws Exception {
        for (RuntimeUnderTest env : new RuntimeUnderTest[] {tls, limited}) {
            if (env != null) {
                env.stopRuntime();
            }
        }
        if (timeouts != null) {
            timeouts.close();
        }
    }

    @Test
    void aSilentConnectionIsClosedAfterTheIdleTimeoutNotBefore() throws Exception {
        try (Socket socket = connect("127.0.0.1", timeouts.httpPort())) {
            long opened = System.nanoTime();
            assertClosedByServer(socket);
            long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - opened);
            assertTrue(seconds >= IDLE_SECONDS - 1, "closed after " + seconds + " s, before the idle timeout");
        }
    }

    @Test
    void aKeptAliveConnectionIsServedThenClosedWhenItFallsSilent() throws Exception {
        try (Socket socket = connect("127.0.0.1", timeouts.httpPort())) {
            assertEquals(200, statusOf(exchange(socket, get(CHEAP))));
            assertEquals(200, statusOf(exchange(socket, get(CHEAP))));
            assertClosedByServer(socket);
        }
    }

    /**
     * Two requests written at once (HTTP/1.1 pipelining): the second, a read waiting longer than the idle timeout for
     * records, is answered although the connection saw no traffic for that long after the first answer.
     */
    @Test
    void aPipelinedRequestStillBeingWorkedOnKeepsItsConnection() throws Exception {
        String clusters = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                + timeouts.httpPort() + "/v3/clusters")).build(), HttpResponse.BodyHandlers.ofString()).body();
        int at = clusters.indexOf("\"cluster_id\":\"") + 14;
        String cluster = clusters.substring(at, clusters.indexOf('"', at));
        String waiting = "/v3/clusters/" + cluster + "/topics/" + TOPIC + "/records?from=latest&timeout_ms="
                + (IDLE_SECONDS + 1) * 1000;
        try (Socket socket = connect("127.0.0.1", timeouts.httpPort())) {
            long sent = System.nanoTime();
            socket.getOutputStream().write((get(CHEAP) + get(waiting)).getBytes(StandardCharsets.US_ASCII));
            assertEquals(200, statusOf(exchange(socket, "")));
            assertEquals(200, statusOf(exchange(socket, "")));
            // nothing is written to the topic: the read waited its whole timeout, longer than the idle timeout
            long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sent);
            assertTrue(waited >= IDLE_SECONDS * 1000L, "the second answer came after " + waited + " ms: it did not wait");
        }
    }

    @Test
    void headersTrickledOneByteAtATimeAreAnswered408AfterTheReadTimeout() throws Exception {
        try (Socket socket = connect("127.0.0.1", timeouts.httpPort())) {
            String answer = trickle(socket, "GET " + CHEAP + " HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
                    + "a".repeat(200) + "\r\n\r\n");
            assertTrue(answer.startsWith("HTTP/1.1 408"), answer);
        }
    }

    @Test
    void aBodyTrickledOneByteAtATimeIsAnswered408AfterTheReadTimeout() throws Exception {
        try (Socket socket = connect("127.0.0.1", timeouts.httpPort())) {
            OutputStream out = socket.getOutputStream();
            out.write(("POST /v3/clusters/any/topics/" + TOPIC + "/records HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    + "Content-Type: application/json\r\nContent-Length: 200\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String answer = trickle(socket, "{\"value\":{\"type\":\"STRING\",\"data\":\"" + "b".repeat(200));
            assertTrue(answer.startsWith("HTTP/1.1 408"), answer);
        }
    }

    @Test
    void anSseStreamWithHeartbeatsOutlivesTheIdleTimeout() throws Exception {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        HttpResponse<InputStream> stream = http.send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + timeouts.httpPort() + "/streams/" + TOPIC)).GET().build(),
                HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, stream.statusCode());
        long opened = System.nanoTime();
        int heartbeats = 0;
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(stream.body(), StandardCharsets.UTF_8))) {
            // more than two idle timeouts' worth of heartbeats on one connection: it was never cut as idle
            while (System.nanoTime() - opened < TimeUnit.SECONDS.toNanos(2L * IDLE_SECONDS + 1)) {
                String line = lines.readLine();
                assertTrue(line != null, "the stream ended after " + heartbeats + " heartbeats");
                if (line.equals(": heartbeat")) {
                    heartbeats++;
                }
            }
        }
        assertTrue(heartbeats >= 2, heartbeats + " heartbeats");
    }

    @Test
    void aWebSocketStreamWithPingsBothWaysOutlivesTheIdleTimeoutAndTheReadDeadline() throws Exception {
        BlockingQueue<String> events = new LinkedBlockingQueue<>();
        WebSocket ws = HttpClient.newHttpClient().newWebSocketBuilder().buildAsync(URI.create("ws://127.0.0.1:"
                + timeouts.httpPort() + "/ws/streams/" + TOPIC), new WebSocket.Listener() {
                    @Override
                    public CompletionStage<?> onPing(WebSocket webSocket, ByteBuffer message) {
                        events.add("ping");
                        // frames from the client too: after the upgrade they are not a request to time out
                        webSocket.sendPing(ByteBuffer.wrap("client".getBytes(StandardCharsets.US_ASCII)));
                        webSocket.request(1);
                        return null;
                    }

                    @Override
                    public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
                        events.add("close " + statusCode + " " + reason);
                        return null;
                    }

                    @Override
                    public void onError(WebSocket webSocket, Throwable error) {
                        events.add("error " + error);
                    }
                }).get(30, TimeUnit.SECONDS);
        long opened = System.nanoTime();
        int pings = 0;
        while (System.nanoTime() - opened < TimeUnit.SECONDS.toNanos(2L * IDLE_SECONDS + 1)) {
            String event = events.poll(30, TimeUnit.SECONDS);
            assertEquals("ping", event, "after " + pings + " heartbeats");
            pings++;
        }
        assertTrue(pings >= 2, pings + " heartbeats");
        ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(30, TimeUnit.SECONDS);
    }

    @Test
    void overItsAddressShareANewConnectionGets503AtOnceWhileOpenConnectionsAreServed() throws Exception {
        List<Socket> held = new ArrayList<>();
        try (Socket normal = connect("127.0.0.1", limited.httpPort())) {
            assertEquals(200, statusOf(exchange(normal, get(CHEAP))));
            // one host takes its share; the next connection from it is refused (even with idle slots to take back),
            // other hosts are not
            for (int i = 0; i < MAX_PER_ADDRESS; i++) {
                held.add(connect("127.0.0.2", limited.httpPort()));
            }
            assertEquals(200, statusOf(exchange(held.get(0), get(CHEAP))));
            try (Socket over = connect("127.0.0.2", limited.httpPort())) {
                assertRefused(over);
            }
            try (Socket other = connect("127.0.0.3", limited.httpPort())) {
                assertEquals(200, statusOf(exchange(other, get(CHEAP))));
            }

            // the connection that was open before keeps being served
            assertEquals(200, statusOf(exchange(normal, get(CHEAP))));

            // one of the host's connections closes: its next one is served
            held.remove(0).close();
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).until(() -> {
                try (Socket again = connect("127.0.0.2", limited.httpPort())) {
                    return statusOf(exchange(again, get(CHEAP))) == 200;
                }
            });
        } finally {
            for (Socket s : held) {
                s.close();
            }
        }
    }

    /**
     * A flood spread over several addresses (each within its share) holds every slot with idle connections and
     * requests trickled a byte at a time; normal webhook senders, each on a new connection kept open, are still served:
     * each whole request takes the slot of an idle connection (closed without an answer) or of a request trickling in
     * longer than the slow-request threshold (answered 408). Before: every one of them answered 503.
     */
    @Test
    void wholeRequestsOverTheLimitTakeTheSlotsOfIdleAndTricklingConnections() throws Exception {
        List<Socket> open = new ArrayList<>();
        List<Trickler> tricklers = new ArrayList<>();
        try {
            int half = MAX_CONNECTIONS / 2;
            CountDownLatch slow = new CountDownLatch(half);
            for (int i = 0; i < half; i++) {
                Socket socket = connect("127.0.0." + (20 + i % 2), limited.httpPort());
                open.add(socket);
                // headers trickled by some, a body after whole headers by the others
                String head = i % 2 == 0 ? "" : "POST /ehr/epic/Patient/updated HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        + "Content-Type: application/json\r\nContent-Length: 500\r\n\r\n";
                String trickled = i % 2 == 0 ? "POST /ehr/epic/Patient/updated HTTP/1.1\r\nX-Slow: " + "a".repeat(500)
                        : "{\"resourceType\":\"Patient\",\"id\":\"" + "b".repeat(500);
                tricklers.add(new Trickler(socket, head, trickled, slow));
            }
            for (int i = 0; i < MAX_CONNECTIONS - half; i++) {
                open.add(connect("127.0.0." + (30 + i % 2), limited.httpPort()));
            }
            // every trickler has been sending longer than the slow-request threshold
            assertTrue(slow.await(30, TimeUnit.SECONDS), "the tricklers did not get going");

            // as many senders as slots, each within its address's share too
            for (int i = 0; i < MAX_CONNECTIONS; i++) {
                Socket sender = connect("127.0.0." + (50 + i % 4), limited.httpPort());
                open.add(sender);
                long sent = System.nanoTime();
                String answer = exchange(sender, webhook("flood-" + i));
                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sent);
                assertEquals(202, statusOf(answer), "sender " + i + ": " + answer);
                assertTrue(ms < 5000, "sender " + i + " answered after " + ms + " ms");
            }
            for (Trickler t : tricklers) {
                String answer = t.answer();
                assertTrue(answer.startsWith("HTTP/1.1 408"), answer);
            }
            for (Socket idle : open.subList(half, MAX_CONNECTIONS)) {
                assertClosedByServer(idle);
            }
            // the senders hold every slot now, idle between requests: the next whole request takes the slot of the one
            // idle longest (its answer written out: idle, not busy)
            try (Socket next = connect("127.0.0.60", limited.httpPort())) {
                assertEquals(202, statusOf(exchange(next, webhook("flood-next"))));
            }
            assertClosedByServer(open.get(MAX_CONNECTIONS));
        } finally {
            for (Trickler t : tricklers) {
                t.stop();
            }
            for (Socket s : open) {
                s.close();
            }
        }
    }

    /**
     * Every slot busy with real work (SSE streams being delivered): a newcomer's whole request takes no slot and is
     * answered 503 with Retry-After at once, and a freed slot serves the next caller.
     */
    @Test
    void whenEverySlotIsBusyANewcomerIsAnswered503AtOnce() throws Exception {
        List<Socket> streams = new ArrayList<>();
        try {
            // open streams until the server refuses one: then every slot is a stream (a leftover idle connection of
            // another test would have given its slot to a stream)
            boolean full = false;
            for (int i = 0; i < 2 * MAX_CONNECTIONS && !full; i++) {
                Socket socket = connect("127.0.0." + (40 + i % 3), limited.httpPort());
                String head = readHead(socket, "GET /streams/" + TOPIC + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        + "Accept: text/event-stream\r\n\r\n");
                if (statusOf(head) == 200) {
                    streams.add(socket);
                } else {
                    assertEquals(503, statusOf(head), head);
                    socket.close();
                    full = true;
                }
            }
            assertTrue(full, "never full after " + streams.size() + " streams");

            try (Socket newcomer = connect("127.0.0.1", limited.httpPort())) {
                long sent = System.nanoTime();
                String answer = exchange(newcomer, webhook("busy"));
                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sent);
                assertEquals(503, statusOf(answer), answer);
                assertTrue(answer.contains("Retry-After: 1"), answer);
                assertTrue(ms < 3000, "answered after " + ms + " ms");
                assertEquals(-1, newcomer.getInputStream().read());
            }

            streams.remove(0).close();
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).until(() -> {
                try (Socket next = connect("127.0.0.1", limited.httpPort())) {
                    return statusOf(exchange(next, webhook("freed"))) == 202;
                }
            });
        } finally {
            for (Socket s : streams) {
                s.close();
            }
        }
    }

    @Test
    void httpsConnectionsGetTheSameIdleTimeoutAndReadDeadline() throws Exception {
        try (Socket idle = connectTls(tls.httpPort())) {
            assertClosedByServer(idle);
        }
        try (Socket served = connectTls(tls.httpPort())) {
            assertEquals(200, statusOf(exchange(served, get(CHEAP))));
        }
        try (Socket slow = connectTls(tls.httpPort())) {
            String answer = trickle(slow, "GET " + CHEAP + " HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
                    + "a".repeat(200) + "\r\n\r\n");
            assertTrue(answer.startsWith("HTTP/1.1 408"), answer);
        }
    }

    // --- helpers

    private static Socket connect(String from, int port) throws IOException {
        Socket socket = new Socket();
        socket.bind(new InetSocketAddress(from, 0));
        socket.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
        socket.setSoTimeout(30_000);
        return socket;
    }

    private static Socket connectTls(int port) throws IOException {
        SSLSocket socket = (SSLSocket) clientTls.getSocketFactory().createSocket();
        socket.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
        socket.setSoTimeout(30_000);
        socket.startHandshake();
        return socket;
    }

    private static String get(String path) {
        return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    }

    /** A webhook of the EHR API events flow (answered 202 once on Kafka). */
    private static String webhook(String id) {
        String body = "{\"resourceType\":\"Patient\",\"id\":\"" + id + "\"}";
        return "POST /ehr/epic/Patient/updated HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + body.length() + "\r\n\r\n" + body;
    }

    /** Sends one request and reads its answer's status line and headers only (a stream's body never ends). */
    private static String readHead(Socket socket, String request) throws IOException {
        OutputStream out = socket.getOutputStream();
        out.write(request.getBytes(StandardCharsets.US_ASCII));
        out.flush();
        InputStream in = socket.getInputStream();
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("closed before the answer's headers: " + head);
            }
            head.write(b);
        }
        return head.toString(StandardCharsets.ISO_8859_1);
    }

    /** Sends one request and reads its whole answer (by Content-Length or chunked end). */
    private static String exchange(Socket socket, String request) throws IOException {
        String headers = readHead(socket, request);
        InputStream in = socket.getInputStream();
        String lower = headers.toLowerCase();
        int at = lower.indexOf("content-length:");
        if (at >= 0) {
            int length = Integer.parseInt(lower.substring(at + 15, lower.indexOf("\r\n", at)).trim());
            in.readNBytes(length);
        } else if (lower.contains("transfer-encoding: chunked")) {
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            while (!body.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n0\r\n\r\n")
                    && !body.toString(StandardCharsets.ISO_8859_1).startsWith("0\r\n\r\n")) {
                int b = in.read();
                if (b < 0) {
                    throw new IOException("closed in the answer's body");
                }
                body.write(b);
            }
        }
        return headers;
    }

    private static int statusOf(String headers) {
        return Integer.parseInt(headers.substring(9, 12));
    }

    /** Writes {@code text} a byte every 500 ms (below the idle timeout) until the server answers or closes. */
    private static String trickle(Socket socket, String text) throws Exception {
        ByteArrayOutputStream answer = new ByteArrayOutputStream();
        Thread reader = new Thread(() -> {
            try {
                InputStream in = socket.getInputStream();
                byte[] buffer = new byte[1024];
                for (int n; (n = in.read(buffer)) > 0;) {
                    synchronized (answer) {
                        answer.write(buffer, 0, n);
                    }
                }
            } catch (IOException closed) {
                // the answer (if any) was read first
            }
        });
        reader.start();
        OutputStream out = socket.getOutputStream();
        byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
        long started = System.nanoTime();
        try {
            for (int i = 0; i < bytes.length && reader.isAlive(); i++) {
                out.write(bytes[i]);
                out.flush();
                reader.join(500);
                assertTrue(System.nanoTime() - started < TimeUnit.SECONDS.toNanos(60), "never cut");
            }
        } catch (IOException cut) {
            // the server closed while we trickled
        }
        reader.join(30_000);
        assertTrue(!reader.isAlive(), "the connection was not closed");
        synchronized (answer) {
            return answer.toString(StandardCharsets.US_ASCII);
        }
    }

    /**
     * Writes {@code head} at once, then {@code trickled} a byte every {@link #TRICKLE_EVERY_MS} on its own thread until
     * the server answers or closes; counts {@code slow} down once it has sent for longer than the slow-request
     * threshold.
     */
    private static final class Trickler {
        private final Socket socket;
        private final Thread writer;
        private final Thread reader;
        private final ByteArrayOutputStream answer = new ByteArrayOutputStream();

        Trickler(Socket socket, String head, String trickled, CountDownLatch slow) throws IOException {
            this.socket = socket;
            reader = new Thread(() -> {
                try {
                    InputStream in = socket.getInputStream();
                    byte[] buffer = new byte[1024];
                    for (int n; (n = in.read(buffer)) > 0;) {
                        synchronized (answer) {
                            answer.write(buffer, 0, n);
                        }
                    }
                } catch (IOException closed) {
                    // the answer (if any) was read first
                }
            }, "trickler-reader");
            reader.start();
            OutputStream out = socket.getOutputStream();
            out.write(head.getBytes(StandardCharsets.US_ASCII));
            out.flush();
            byte[] bytes = trickled.getBytes(StandardCharsets.US_ASCII);
            long slowAfterBytes = SLOW_REQUEST_MS / TRICKLE_EVERY_MS + 2;
            writer = new Thread(() -> {
                try {
                    for (int i = 0; i < bytes.length && reader.isAlive(); i++) {
                        out.write(bytes[i]);
                        out.flush();
                        if (i + 1 == slowAfterBytes) {
                            slow.countDown();
                        }
                        reader.join(TRICKLE_EVERY_MS); // the pace, and an early end when the server answers
                    }
                } catch (IOException | InterruptedException cut) {
                    // the server closed while we trickled, or the test ended
                }
            }, "trickler-writer");
            writer.start();
        }

        /** What the server answered before it closed the connection. */
        String answer() throws InterruptedException {
            reader.join(30_000);
            assertTrue(!reader.isAlive(), "the trickling connection was not closed");
            synchronized (answer) {
                return answer.toString(StandardCharsets.US_ASCII);
            }
        }

        void stop() throws IOException, InterruptedException {
            socket.close();
            writer.interrupt();
            writer.join(10_000);
            reader.join(10_000);
        }
    }

    private static void assertClosedByServer(Socket socket) throws IOException {
        try {
            int b = socket.getInputStream().read();
            assertEquals(-1, b, "expected the server to close the connection");
        } catch (SocketTimeoutException stillOpen) {
            throw new AssertionError("still open after 30 s", stillOpen);
        } catch (IOException reset) {
            // closed (reset or TLS alert)
        }
    }

    private static void assertRefused(Socket socket) throws IOException {
        String headers = exchange(socket, get(CHEAP));
        assertEquals(503, statusOf(headers), headers);
        assertTrue(headers.toLowerCase().contains("connection: close"), headers);
        assertEquals(-1, socket.getInputStream().read());
    }
}
