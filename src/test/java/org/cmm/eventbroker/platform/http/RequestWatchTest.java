package org.cmm.eventbroker.platform.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import org.junit.jupiter.api.Test;

/**
 * The idle decision of {@link RequestWatch} on a Netty channel whose time the test drives: the handlers in the order
 * {@link HttpConnectionGuard} puts them around the HTTP decoder, the idle event fired as the idle timer would, the
 * answers written as the server would. A connection is closed as idle only when no request waits for its answer (also
 * when a client pipelines requests) and no bytes came in meanwhile (an event loop that runs the timer late reads what
 * waited on the socket first).
 */
class RequestWatchTest {

    private static final HttpConnectionLimits LIMITS = new HttpConnectionLimits(8081, Duration.ofSeconds(3),
            Duration.ofSeconds(2), 65536, Duration.ofSeconds(2), 1000, 100);

    private final List<String> requests = new ArrayList<>();

    private EmbeddedChannel connection() {
        RequestWatch watch = new RequestWatch(LIMITS, new HttpConnectionGuard(LIMITS), null,
                HttpConnectionGuard.Admission.ADMITTED);
        EmbeddedChannel channel = new EmbeddedChannel();
        channel.freezeTime();
        channel.pipeline().addLast("cmmRequestBytes", watch.bytes());
        channel.pipeline().addLast("decoder", new HttpRequestDecoder());
        channel.pipeline().addLast("cmmRequestExchanges", watch.exchanges());
        channel.pipeline().addLast("handler", new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (msg instanceof HttpRequest request) {
                    requests.add(request.uri());
                }
                ReferenceCountUtil.release(msg);
            }
        });
        return channel;
    }

    private static void receive(EmbeddedChannel channel, String... paths) {
        StringBuilder bytes = new StringBuilder();
        for (String path : paths) {
            bytes.append("GET ").append(path).append(" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        }
        channel.writeInbound(Unpooled.copiedBuffer(bytes, StandardCharsets.US_ASCII));
    }

    private static void answer(EmbeddedChannel channel) {
        channel.writeOutbound(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK));
        ReferenceCountUtil.release(channel.readOutbound());
    }

    /** The idle timer's event, then the time for its check to run. */
    private static void idleTimerFires(EmbeddedChannel channel) {
        channel.pipeline().fireUserEventTriggered(IdleStateEvent.ALL_IDLE_STATE_EVENT);
        channel.advanceTimeBy(RequestWatch.IDLE_RECHECK_MS, TimeUnit.MILLISECONDS);
        channel.runScheduledPendingTasks();
    }

    @Test
    void anAnsweredConnectionWithNothingWaitingIsClosedAsIdle() {
        EmbeddedChannel channel = connection();
        receive(channel, "/a");
        answer(channel);
        idleTimerFires(channel);
        assertFalse(channel.isOpen());
    }

    @Test
    void aPipelinedRequestWhoseAnswerIsStillDueKeepsTheConnection() {
        EmbeddedChannel channel = connection();
        receive(channel, "/a", "/b");
        assertEquals(List.of("/a", "/b"), requests);
        answer(channel); // /a answered, /b still worked on
        idleTimerFires(channel);
        assertTrue(channel.isOpen(), "closed as idle while the second request waited for its answer");
        answer(channel);
        idleTimerFires(channel);
        assertFalse(channel.isOpen());
    }

    @Test
    void aRequestReadAfterALateIdleEventKeepsTheConnection() {
        EmbeddedChannel channel = connection();
        receive(channel, "/a");
        answer(channel);
        // the event loop ran the idle timer before reading the next request that was already on the socket
        channel.pipeline().fireUserEventTriggered(IdleStateEvent.ALL_IDLE_STATE_EVENT);
        receive(channel, "/b");
        channel.advanceTimeBy(RequestWatch.IDLE_RECHECK_MS, TimeUnit.MILLISECONDS);
        channel.runScheduledPendingTasks();
        assertTrue(channel.isOpen(), "closed as idle with a request just read");
        answer(channel);
        idleTimerFires(channel);
        assertFalse(channel.isOpen());
    }
}
