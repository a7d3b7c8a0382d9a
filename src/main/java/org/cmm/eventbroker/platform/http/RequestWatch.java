package org.cmm.eventbroker.platform.http;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpObjectDecoder;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;

/**
 * Watches one HTTP/1.x connection of the platform HTTP server: the deadline for each request to arrive, the idle
 * timeout, and the refusal of a connection over the limits. Two Netty handlers share this state, all of it touched on
 * the connection's event loop only:
 * <ul>
 * <li>{@link #bytes()}, before the HTTP decoder (after TLS): the first byte of a request starts its deadline, and every
 * byte extends it by the minimum rate;</li>
 * <li>{@link #exchanges()}, after the decoder: a request's end stops the deadline; the requests whose answer has not
 * started (several when a client pipelines them) tell an idle connection (closed) from one whose requests the runtime
 * is still working on (kept).</li>
 * </ul>
 * A request cut before its answer started is answered 408 (the protocol allows it: nothing was answered yet), else the
 * connection is closed. After a WebSocket upgrade there is no HTTP decoder any more: only the idle timeout applies
 * (heartbeats are traffic).
 */
final class RequestWatch {

    private static final byte[] REQUEST_TIMEOUT = answer("408 Request Timeout", "request not received in time\n");
    /**
     * How long after the idle event the connection is checked again before it is closed: the event loop may run the
     * idle timer late (busy, or the process paused) before reading bytes already waiting on the socket, and those come
     * first.
     */
    static final long IDLE_RECHECK_MS = 50;
    private static final byte[] TOO_MANY = answer("503 Service Unavailable",
            "too many connections, try again\n", "Retry-After: 1\r\n");

    private final HttpConnectionLimits limits;
    private final HttpConnectionGuard guard;
    private final boolean refused;
    private final Bytes bytes = new Bytes();
    private final Exchanges exchanges = new Exchanges();

    private ChannelHandlerContext raw;
    private boolean reading;
    private long readingSince;
    private long received;
    private ScheduledFuture<?> deadline;
    /** Requests received whose answer has not started (more than one when a client pipelines). */
    private int unanswered;
    /** Reads seen so far (bytes, decoded requests, WebSocket frames): what an idle decision checks again. */
    private long reads;
    private boolean answered;
    private boolean finished;

    RequestWatch(HttpConnectionLimits limits, HttpConnectionGuard guard, boolean refused) {
        this.limits = limits;
        this.guard = guard;
        this.refused = refused;
    }

    ChannelInboundHandlerAdapter bytes() {
        return bytes;
    }

    ChannelDuplexHandler exchanges() {
        return exchanges;
    }

    /** A connection over the limits: its request must arrive within the grace, then it is answered 503. */
    void startRefusal() {
        startReading(System.nanoTime());
    }

    private void startReading(long now) {
        if (reading || raw == null) {
            return;
        }
        reading = true;
        readingSince = now;
        received = 0;
        answered = false; // a new request: nothing answered to it yet
        long timeout = limits.requestReadTimeout().toNanos();
        long grace = HttpConnectionLimits.REFUSAL_GRACE.toNanos();
        long allowed = !refused ? timeout : timeout == 0 ? grace : Math.min(grace, timeout);
        if (allowed > 0) {
            deadline = raw.executor().schedule(this::deadlineReached, allowed, TimeUnit.NANOSECONDS);
        }
    }

    private void stopReading() {
        reading = false;
        if (deadline != null) {
            deadline.cancel(false);
            deadline = null;
        }
    }

    private void deadlineReached() {
        deadline = null;
        if (!reading || finished) {
            return;
        }
        if (!refused && raw.pipeline().get(HttpObjectDecoder.class) == null) {
            stopReading(); // upgraded meanwhile: no longer an HTTP request
            return;
        }
        if (refused) {
            finish(null); // its request never came: nothing to answer
            return;
        }
        long elapsed = System.nanoTime() - readingSince;
        long allowed = limits.readAllowance(received).toNanos();
        if (elapsed < allowed) {
            deadline = raw.executor().schedule(this::deadlineReached, allowed - elapsed, TimeUnit.NANOSECONDS);
            return;
        }
        guard.countSlowRequest();
        finish(answered ? null : REQUEST_TIMEOUT); // never a second answer to one request
    }

    /** Answers with {@code answer} (if any, straight to TLS/the socket: nothing else was answered) and closes. */
    private void finish(byte[] answer) {
        if (finished) {
            return;
        }
        finished = true;
        stopReading();
        if (answer == null) {
            raw.close();
        } else {
            raw.writeAndFlush(Unpooled.wrappedBuffer(answer)).addListener(ChannelFutureListener.CLOSE);
        }
    }

    /** Sees the bytes of the connection (after TLS, before the HTTP decoder). */
    private final class Bytes extends ChannelInboundHandlerAdapter {
        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            raw = ctx;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (finished) {
                ReferenceCountUtil.release(msg); // cut: nothing more is read into the runtime
                return;
            }
            reads++;
            if (msg instanceof ByteBuf buf && buf.isReadable()) {
                if (!refused && ctx.pipeline().get(HttpObjectDecoder.class) == null) {
                    stopReading(); // a WebSocket now: frames, not requests
                    ctx.pipeline().remove(this);
                } else {
                    startReading(System.nanoTime());
                    received += buf.readableBytes();
                }
            }
            ctx.fireChannelRead(msg);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) throws Exception {
            finished = true;
            stopReading();
            super.channelInactive(ctx);
        }
    }

    /** Sees the decoded requests and the answers (after the HTTP decoder, before Vert.x). */
    private final class Exchanges extends ChannelDuplexHandler {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (finished) {
                ReferenceCountUtil.release(msg);
                return;
            }
            reads++;
            if (refused) {
                ReferenceCountUtil.release(msg);
                if (msg instanceof HttpRequest) {
                    finish(TOO_MANY);
                }
                return;
            }
            if (msg instanceof HttpRequest) {
                startReading(System.nanoTime()); // in case its first bytes came with the TLS handshake
                unanswered++;
            }
            if (msg instanceof LastHttpContent) {
                stopReading();
            }
            ctx.fireChannelRead(msg);
        }

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            if (msg instanceof HttpResponse response) {
                int code = response.status().code();
                if (code >= 200 || code == 101) {
                    answered = true; // an early answer too (413 before the whole body, say)
                    unanswered = Math.max(0, unanswered - 1); // answers come in the order of the requests
                }
            }
            ctx.write(msg, promise);
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
            if (evt instanceof IdleStateEvent) {
                if (unanswered == 0 && !finished) {
                    long seen = reads;
                    ctx.executor().schedule(() -> closeIfStillIdle(ctx, seen), IDLE_RECHECK_MS, TimeUnit.MILLISECONDS);
                }
                return; // else the runtime is working on a request: its own timeouts apply
            }
            super.userEventTriggered(ctx, evt);
        }
    }

    private void closeIfStillIdle(ChannelHandlerContext ctx, long readsAtIdleEvent) {
        if (reads == readsAtIdleEvent && unanswered == 0 && !finished) {
            guard.countIdle();
            finished = true;
            ctx.close();
        }
    }

    private static byte[] answer(String status, String text) {
        return answer(status, text, "");
    }

    private static byte[] answer(String status, String text, String extraHeaders) {
        byte[] body = text.getBytes(StandardCharsets.US_ASCII);
        String head = "HTTP/1.1 " + status + "\r\nContent-Type: text/plain; charset=us-ascii\r\nContent-Length: "
                + body.length + "\r\n" + extraHeaders + "Connection: close\r\n\r\n";
        return (head + text).getBytes(StandardCharsets.US_ASCII);
    }
}
