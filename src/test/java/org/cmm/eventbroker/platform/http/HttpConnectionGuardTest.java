package org.cmm.eventbroker.platform.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Who gets a slot when every one is taken, on Netty channels whose event loops and clock the test drives: the pipeline
 * is the server's (HTTP/1.x decoder and encoder, the runtime's handler last, here one that keeps what reaches it), the
 * guard adds its handlers as on the real server. A connection over {@code max-connections} whose request is whole takes
 * the slot of the longest idle connection, else of a request trickling in longer than the slow-request threshold (408),
 * a keep-alive connection idle for a moment last; a connection busy with real work keeps its slot, and with every slot
 * busy the newcomer is answered 503. Partial, malformed and too large requests over the limit take no slot.
 */
class HttpConnectionGuardTest {

    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

    private final AtomicLong clock = new AtomicLong(1_000 * SECOND);
    private final List<Connection> connections = new ArrayList<>();

    private static HttpConnectionLimits limits(int maxConnections, int maxPerAddress) {
        return new HttpConnectionLimits(8081, Duration.ofSeconds(60), Duration.ofSeconds(30), 65536,
                Duration.ofSeconds(2), maxConnections, maxPerAddress);
    }

    private final HttpConnectionGuard guard = new HttpConnectionGuard(limits(2, 0), clock::get);

    @AfterEach
    void closeAll() {
        connections.forEach(c -> c.channel.finishAndReleaseAll());
    }

    /** A connection of the server's port from {@code address}, as Vert.x makes it, then given to the guard. */
    private Connection connect(HttpConnectionGuard to, String address) throws UnknownHostException {
        Connection connection = new Connection();
        connection.channel.pipeline().addLast("httpDecoder", new HttpRequestDecoder());
        connection.channel.pipeline().addLast("httpEncoder", new HttpResponseEncoder());
        connection.channel.pipeline().addLast("handler", connection.runtime);
        to.attach(connection.channel, InetAddress.getByName(address));
        connections.add(connection);
        return connection;
    }

    private Connection connect(String address) throws UnknownHostException {
        return connect(guard, address);
    }

    /** Runs what each connection's event loop has queued (a claim hops from one to another) until nothing is left. */
    private void settle() {
        for (int round = 0; round < 10; round++) {
            connections.forEach(c -> c.channel.runPendingTasks());
        }
    }

    private void later(long nanos) {
        clock.addAndGet(nanos);
    }

    private static String get(String path) {
        return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    }

    private static String post(String path, String body) {
        return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: "
                + body.length() + "\r\n\r\n" + body;
    }

    @Test
    void aWholeRequestOverTheLimitTakesTheSlotOfTheLongestIdleConnectionQuietly() throws Exception {
        Connection neverSent = connect("127.0.0.2");
        later(SECOND);
        Connection keptAlive = connect("127.0.0.3");
        keptAlive.send(get("/b"));
        keptAlive.answer();
        assertTrue(keptAlive.written().startsWith("HTTP/1.1 200"));
        later(3 * SECOND);

        Connection newcomer = connect("127.0.0.4");
        newcomer.send(post("/ehr/epic/Patient/updated", "{\"id\":\"c\"}"));
        settle();

        assertFalse(neverSent.channel.isOpen(), "the longest idle connection gave up its slot");
        assertEquals("", neverSent.written(), "closed quietly");
        assertTrue(keptAlive.channel.isOpen());
        assertEquals(List.of("POST /ehr/epic/Patient/updated"), newcomer.requests);
        assertEquals(1, newcomer.wholeRequests);
        newcomer.answer();
        assertTrue(newcomer.written().startsWith("HTTP/1.1 200"), newcomer.written());
        assertEquals(2, guard.open());
        assertEquals(0, guard.readAheadBytes());
        // and it is an admitted connection like any other: it gives its slot up in turn once idle longest
        later(3 * SECOND);
        keptAlive.send(get("/b2"));
        Connection next = connect("127.0.0.5");
        next.send(get("/d"));
        settle();
        assertFalse(newcomer.channel.isOpen());
        assertEquals(List.of("GET /d"), next.requests);
        assertEquals(2, guard.open());
    }

    @Test
    void aRequestTricklingLongerThanTheThresholdGivesUpItsSlotWith408() throws Exception {
        Connection trickler = connect("127.0.0.2");
        trickler.send("POST /ehr/epic/Patient/updated HTTP/1.1\r\nX-Slow: abc");
        Connection working = connect("127.0.0.3");
        working.send(get("/slow-answer")); // the runtime is working on it: busy
        later(3 * SECOND);

        Connection newcomer = connect("127.0.0.4");
        newcomer.send(get("/c"));
        settle();

        assertFalse(trickler.channel.isOpen());
        assertTrue(trickler.written().startsWith("HTTP/1.1 408"), trickler.written());
        assertTrue(working.channel.isOpen());
        assertEquals(List.of("GET /c"), newcomer.requests);
        assertEquals(2, guard.open());
    }

    @Test
    void aTricklingRequestGoesBeforeAKeepAliveConnectionIdleForAMoment() throws Exception {
        Connection trickler = connect("127.0.0.2");
        trickler.send("GET /a HTTP/1.1\r\nX-Slow: a");
        later(3 * SECOND);
        Connection keptAlive = connect("127.0.0.3");
        keptAlive.send(get("/b"));
        keptAlive.answer();
        later(SECOND / 10); // between two of its requests

        Connection newcomer = connect("127.0.0.4");
        newcomer.send(get("/c"));
        settle();

        assertFalse(trickler.channel.isOpen());
        assertTrue(keptAlive.channel.isOpen(), "a keep-alive connection idle for 100 ms gave up its slot first");
        assertEquals(List.of("GET /c"), newcomer.requests);
    }

    @Test
    void aLargeBodyArrivingFasterThanTheMinimumRateKeepsItsSlot() throws Exception {
        Connection upload = connect("127.0.0.2");
        upload.send("POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000\r\n\r\n" + "x".repeat(200_000));
        Connection working = connect("127.0.0.3");
        working.send(get("/slow-answer"));
        later(3 * SECOND); // 200,000 bytes in 3 s: above 65,536 bytes a second

        Connection newcomer = connect("127.0.0.4");
        newcomer.send(get("/c"));
        settle();

        assertTrue(upload.channel.isOpen());
        assertEquals("", upload.written());
        assertRefused(newcomer);
    }

    @Test
    void withEverySlotBusyTheWholeRequestIsAnswered503AndNothingIsTaken() throws Exception {
        Connection working = connect("127.0.0.2");
        working.send(get("/slow-answer"));
        Connection stream = connect("127.0.0.3");
        stream.send(get("/streams/x"));
        stream.startStream(); // an SSE stream: its answer never ends
        later(60 * SECOND);

        Connection newcomer = connect("127.0.0.4");
        newcomer.send(post("/ehr/epic/Patient/updated", "{\"id\":\"c\"}"));
        settle();

        assertRefused(newcomer);
        assertTrue(newcomer.requests.isEmpty(), "nothing reached the runtime");
        assertTrue(working.channel.isOpen());
        assertTrue(stream.channel.isOpen());
        assertEquals(2, guard.open());
        assertEquals(0, guard.readAheadBytes());
    }

    @Test
    void aConnectionThatTurnedBusyBeforeGivingUpItsSlotKeepsItAndTheNextIsTaken() throws Exception {
        Connection first = connect("127.0.0.2");
        later(SECOND);
        Connection second = connect("127.0.0.3");
        later(3 * SECOND);

        Connection newcomer = connect("127.0.0.4");
        newcomer.send(get("/c")); // chooses first, whose event loop has not confirmed yet
        first.send(get("/a")); // ...and reads a request before it does
        settle();

        assertTrue(first.channel.isOpen());
        assertEquals(List.of("GET /a"), first.requests);
        assertFalse(second.channel.isOpen());
        assertEquals(List.of("GET /c"), newcomer.requests);
        assertEquals(2, guard.open());
    }

    @Test
    void aPartialRequestOverTheLimitTakesNoSlotAndIsToldToComeBackAfterTheGrace() throws Exception {
        Connection idle = connect("127.0.0.2");
        connect("127.0.0.3");
        later(10 * SECOND);

        Connection newcomer = connect("127.0.0.4");
        newcomer.send("POST /ehr/epic/Patient/updated HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{\"id\"");
        settle();
        assertTrue(idle.channel.isOpen());
        assertTrue(newcomer.channel.isOpen(), "waits for the rest");

        newcomer.channel.advanceTimeBy(HttpConnectionLimits.REFUSAL_GRACE.toMillis(), TimeUnit.MILLISECONDS);
        newcomer.channel.runScheduledPendingTasks();
        assertRefused(newcomer);
        assertTrue(idle.channel.isOpen());
        assertEquals(0, guard.readAheadBytes());
    }

    @Test
    void aRequestTooLargeToReadAheadIsAnswered503AtOnce() throws Exception {
        Connection idle = connect("127.0.0.2");
        connect("127.0.0.3");
        later(10 * SECOND);

        Connection newcomer = connect("127.0.0.4");
        newcomer.send("POST /big HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n"
                + "x".repeat(HttpConnectionLimits.READ_AHEAD_BYTES));
        settle();
        assertRefused(newcomer);
        assertTrue(idle.channel.isOpen());
        assertEquals(0, guard.readAheadBytes());
    }

    @Test
    void overItsAddressShareAWholeRequestTakesNoSlot() throws Exception {
        HttpConnectionGuard shared = new HttpConnectionGuard(limits(2, 1), clock::get);
        Connection idle = connect(shared, "127.0.0.2");
        connect(shared, "127.0.0.3");
        later(10 * SECOND);

        Connection newcomer = connect(shared, "127.0.0.2");
        newcomer.send(get("/c"));
        settle();
        assertRefused(newcomer);
        assertTrue(idle.channel.isOpen());
        assertEquals(2, shared.open());
    }

    @Test
    void anExpectContinueRequestOverTheLimitIsToldToSendItsBodyAndServed() throws Exception {
        Connection idle = connect("127.0.0.2");
        later(SECOND);
        connect("127.0.0.3");
        later(10 * SECOND);

        Connection newcomer = connect("127.0.0.4");
        newcomer.send("POST /ehr/epic/Patient/updated HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\n"
                + "Content-Length: 10\r\n\r\n");
        assertEquals("HTTP/1.1 100 Continue\r\n\r\n", newcomer.written());
        newcomer.send("{\"id\":\"c\"}");
        settle();

        assertFalse(idle.channel.isOpen());
        assertEquals(List.of("POST /ehr/epic/Patient/updated"), newcomer.requests);
        assertFalse(newcomer.expectedContinue, "the runtime would send a second 100 Continue");
        assertEquals(1, newcomer.wholeRequests);
    }

    private static void assertRefused(Connection connection) {
        String answer = connection.written();
        assertTrue(answer.startsWith("HTTP/1.1 503"), answer);
        assertTrue(answer.contains("Retry-After: 1\r\n"), answer);
        assertFalse(connection.channel.isOpen());
    }

    /** One connection: its channel, and what reached the runtime's handler. */
    private static final class Connection {
        final EmbeddedChannel channel = new EmbeddedChannel();
        final List<String> requests = new ArrayList<>();
        int wholeRequests;
        boolean expectedContinue;
        private ChannelHandlerContext handler;
        private final StringBuilder written = new StringBuilder();

        final ChannelInboundHandlerAdapter runtime = new ChannelInboundHandlerAdapter() {
            @Override
            public void handlerAdded(ChannelHandlerContext ctx) {
                handler = ctx;
            }

            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (msg instanceof HttpRequest request) {
                    requests.add(request.method() + " " + request.uri());
                    expectedContinue |= request.headers().contains(HttpHeaderNames.EXPECT);
                }
                if (msg instanceof LastHttpContent) {
                    wholeRequests++;
                }
                ReferenceCountUtil.release(msg);
            }
        };

        Connection() {
            channel.freezeTime();
        }

        void send(String text) {
            channel.writeInbound(Unpooled.copiedBuffer(text, StandardCharsets.US_ASCII));
        }

        /** The runtime answers the oldest request. */
        void answer() {
            DefaultFullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
            response.headers().set(HttpHeaderNames.CONTENT_LENGTH, 0);
            handler.writeAndFlush(response);
        }

        /** The runtime starts a stream's answer (chunked, never ended). */
        void startStream() {
            DefaultHttpResponse response = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
            response.headers().set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
            handler.writeAndFlush(response);
        }

        /** Everything written to the peer so far. */
        String written() {
            for (Object out; (out = channel.readOutbound()) != null;) {
                if (out instanceof ByteBuf buf) {
                    written.append(buf.toString(StandardCharsets.US_ASCII));
                }
                ReferenceCountUtil.release(out);
            }
            return written.toString();
        }
    }
}
