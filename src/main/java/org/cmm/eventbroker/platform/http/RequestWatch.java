package org.cmm.eventbroker.platform.http;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.DecoderResultProvider;
import io.netty.handler.codec.http.HttpObjectDecoder;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import org.cmm.eventbroker.platform.http.HttpConnectionGuard.Admission;

/**
 * Watches one HTTP/1.x connection of the platform HTTP server: the deadline for each request to arrive, the idle
 * timeout, whether it is doing useful work (what a waiting connection may take its slot for), and the fate of a
 * connection over the limits. Two Netty handlers share this state, all of it touched on the connection's event loop
 * only (what another connection's event loop reads to choose a slot to take is published in volatile fields and
 * confirmed here before anything is closed):
 * <ul>
 * <li>{@link #bytes()}, before the HTTP decoder (after TLS): the first byte of a request starts its deadline, and every
 * byte extends it by the minimum rate;</li>
 * <li>{@link #exchanges()}, after the decoder: a request's end stops the deadline; the requests whose answer has not
 * started (several when a client pipelines them) and the answers not yet written out tell an idle connection (closed at
 * the idle timeout, and the first to give up its slot) from one whose requests the runtime is still working on or
 * whose answer or stream is still being written (kept).</li>
 * </ul>
 * A request cut before its answer started is answered 408 (the protocol allows it: nothing was answered yet), else the
 * connection is closed. After a WebSocket upgrade there is no HTTP decoder any more: only the idle timeout applies
 * (heartbeats are traffic).
 *
 * <p>A connection over {@code max-connections} ({@link Admission#WAITING}) keeps what the decoder makes of its bytes,
 * at most {@link HttpConnectionLimits#READ_AHEAD_BYTES} (and the guard's bound for all of them), nothing reaching the
 * runtime; once its request is whole (its last content decoded) it asks the guard for a slot, and when given one the
 * kept request goes on to the runtime as if it had just arrived. An {@code Expect: 100-continue} is answered here so the
 * body comes, and removed from what the runtime sees.
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
    private static final byte[] CONTINUE = "HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

    private final HttpConnectionLimits limits;
    private final HttpConnectionGuard guard;
    private final InetAddress remote;
    private final Bytes bytes = new Bytes();
    private final Exchanges exchanges = new Exchanges();
    /** Chosen by a waiting connection to give up its slot (so no other one chooses it meanwhile). */
    private final AtomicBoolean taken = new AtomicBoolean();

    /** WAITING until given a slot (then ADMITTED); REFUSED for good. */
    private Admission admission;
    private ChannelHandlerContext raw;
    private ChannelHandlerContext decoded;
    // written on this connection's event loop only; volatile for the loops that look for a slot to take
    private volatile boolean reading;
    private volatile long readingSince;
    private volatile long received;
    private volatile boolean quiet;
    private volatile long quietSince;
    private volatile boolean finished;
    private ScheduledFuture<?> deadline;
    /** Requests received whose answer has not started (more than one when a client pipelines). */
    private int unanswered;
    /** Answers started whose last part has not been written out yet (a stream's never is, until it ends). */
    private int answering;
    private boolean upgraded;
    /** Reads seen so far (bytes, decoded requests, WebSocket frames): what an idle decision checks again. */
    private long reads;
    private boolean answered;
    /** It gave up its slot to a waiting connection: its closing frees none. */
    private boolean slotHandedOver;
    /** While waiting: what the decoder made of the bytes so far, and how many bytes that was. */
    private List<Object> readAhead;
    private long readAheadBytes;
    /** While waiting: its request is whole and the guard is looking for a slot. */
    private boolean claiming;

    RequestWatch(HttpConnectionLimits limits, HttpConnectionGuard guard, InetAddress remote, Admission admission) {
        this.limits = limits;
        this.guard = guard;
        this.remote = remote;
        this.admission = admission;
        if (admission == Admission.WAITING) {
            readAhead = new ArrayList<>();
        }
        updateQuiet();
    }

    ChannelInboundHandlerAdapter bytes() {
        return bytes;
    }

    ChannelDuplexHandler exchanges() {
        return exchanges;
    }

    InetAddress remote() {
        return remote;
    }

    Executor executor() {
        return raw.executor();
    }

    boolean slotHandedOver() {
        return slotHandedOver;
    }

    boolean isTaken() {
        return taken.get();
    }

    /** Marks it chosen to give up its slot; false when another waiting connection chose it first. */
    boolean take() {
        return taken.compareAndSet(false, true);
    }

    /** How long it has been idle (no request arriving or waiting for its answer, no answer being written), or -1. */
    long idleFor(long now) {
        return quiet && !finished ? Math.max(0, now - quietSince) : -1;
    }

    /** How long its request has been trickling in ({@link HttpConnectionLimits#trickling}), or -1. */
    long tricklingFor(long now) {
        long elapsed = now - readingSince;
        return reading && !finished && limits.trickling(elapsed, received) ? elapsed : -1;
    }

    /** A connection over the limits: its request must arrive within the grace. */
    void startWaiting() {
        startReading(guard.now());
    }

    private void startReading(long now) {
        if (reading || raw == null) {
            return;
        }
        readingSince = now;
        received = 0;
        reading = true;
        answered = false; // a new request: nothing answered to it yet
        updateQuiet();
        long timeout = limits.requestReadTimeout().toNanos();
        long grace = HttpConnectionLimits.REFUSAL_GRACE.toNanos();
        long allowed = admission == Admission.ADMITTED ? timeout : timeout == 0 ? grace : Math.min(grace, timeout);
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
        updateQuiet();
    }

    /** Publishes whether it is idle: admitted, and no request arriving, waiting for its answer or being answered. */
    private void updateQuiet() {
        boolean now = admission == Admission.ADMITTED && !finished && !reading && unanswered == 0 && answering == 0
                && !upgraded;
        if (now && !quiet) {
            quietSince = guard.now();
        }
        quiet = now;
    }

    private void deadlineReached() {
        deadline = null;
        if (!reading || finished) {
            return;
        }
        if (admission != Admission.ADMITTED) {
            // its whole request did not come within the grace: told to come back if it began one
            finish(received > 0 && admission == Admission.WAITING ? TOO_MANY : null);
            return;
        }
        if (raw.pipeline().get(HttpObjectDecoder.class) == null) {
            stopReading(); // upgraded meanwhile: no longer an HTTP request
            return;
        }
        long elapsed = guard.now() - readingSince;
        long allowed = limits.readAllowance(received).toNanos();
        if (elapsed < allowed) {
            deadline = raw.executor().schedule(this::deadlineReached, allowed - elapsed, TimeUnit.NANOSECONDS);
            return;
        }
        guard.countSlowRequest();
        finish(answered ? null : REQUEST_TIMEOUT); // never a second answer to one request
    }

    /**
     * Asked by a waiting connection's claim, on this connection's event loop: when it is still idle, or its request
     * still trickling, it closes (quietly, or with 408 as at its read deadline) and hands its slot over.
     */
    boolean giveUpSlot() {
        boolean idle = false;
        boolean trickling = false;
        if (!finished && admission == Admission.ADMITTED && raw.channel().isActive()
                && raw.pipeline().get(HttpObjectDecoder.class) != null) {
            idle = !reading && unanswered == 0 && answering == 0 && !upgraded;
            trickling = reading && limits.trickling(guard.now() - readingSince, received);
        }
        if (!idle && !trickling) {
            taken.set(false); // busy after all: a candidate again later
            return false;
        }
        slotHandedOver = true;
        guard.countTaken(trickling);
        finish(idle || answered ? null : REQUEST_TIMEOUT);
        return true;
    }

    /** The guard gave this waiting connection a slot (on its event loop): its request goes on to the runtime. */
    void slotGranted() {
        admission = Admission.ADMITTED;
        claiming = false;
        List<Object> kept = readAhead;
        readAhead = null;
        guard.readAheadDone(readAheadBytes);
        readAheadBytes = 0;
        guard.admitted(this, raw.channel()); // from now on its closing frees the slot
        if (finished) {
            kept.forEach(ReferenceCountUtil::release);
            return;
        }
        stopReading(); // what follows is timed as for any admitted connection
        for (Object msg : kept) {
            exchanges.admitted(decoded, msg);
        }
        decoded.fireChannelReadComplete(); // the runtime flushes what it writes at the end of a read
        updateQuiet();
    }

    /** No slot for this waiting connection: 503. */
    void refuse() {
        claiming = false;
        finish(TOO_MANY);
    }

    /** Answers with {@code answer} (if any, straight to TLS/the socket: nothing else was answered) and closes. */
    private void finish(byte[] answer) {
        if (finished) {
            return;
        }
        finished = true;
        stopReading();
        dropReadAhead();
        if (admission != Admission.ADMITTED) {
            guard.countRefused();
        }
        if (answer == null) {
            raw.close();
        } else {
            raw.writeAndFlush(Unpooled.wrappedBuffer(answer)).addListener(ChannelFutureListener.CLOSE);
        }
    }

    private void dropReadAhead() {
        if (readAhead != null) {
            readAhead.forEach(ReferenceCountUtil::release);
            readAhead.clear();
        }
        guard.readAheadDone(readAheadBytes);
        readAheadBytes = 0;
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
                if (admission == Admission.ADMITTED && ctx.pipeline().get(HttpObjectDecoder.class) == null) {
                    upgraded = true;
                    stopReading(); // a WebSocket now: frames, not requests
                    ctx.pipeline().remove(this);
                } else {
                    int n = buf.readableBytes();
                    if (admission == Admission.WAITING) {
                        if (readAheadBytes + n > HttpConnectionLimits.READ_AHEAD_BYTES || !guard.readAhead(n)) {
                            ReferenceCountUtil.release(msg);
                            finish(TOO_MANY); // too much to keep while it waits: told to come back, as before
                            return;
                        }
                        readAheadBytes += n;
                    }
                    startReading(guard.now());
                    received += n;
                }
            }
            ctx.fireChannelRead(msg);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) throws Exception {
            finished = true;
            stopReading();
            dropReadAhead();
            super.channelInactive(ctx);
        }
    }

    /** Sees the decoded requests and the answers (after the HTTP decoder, before Vert.x). */
    private final class Exchanges extends ChannelDuplexHandler {
        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            decoded = ctx;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (finished) {
                ReferenceCountUtil.release(msg);
                return;
            }
            reads++;
            switch (admission) {
                case REFUSED -> {
                    ReferenceCountUtil.release(msg);
                    if (msg instanceof HttpRequest) {
                        finish(TOO_MANY);
                    }
                }
                case WAITING -> readAhead(msg);
                case ADMITTED -> admitted(ctx, msg);
            }
        }

        void admitted(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof HttpRequest) {
                startReading(guard.now()); // in case its first bytes came with the TLS handshake
                unanswered++;
            }
            if (msg instanceof LastHttpContent) {
                stopReading();
            }
            ctx.fireChannelRead(msg);
        }

        private void readAhead(Object msg) {
            if (msg instanceof DecoderResultProvider decodedPart && decodedPart.decoderResult().isFailure()) {
                ReferenceCountUtil.release(msg);
                finish(TOO_MANY); // not worth a slot: a malformed request
                return;
            }
            if (msg instanceof HttpRequest request && HttpUtil.is100ContinueExpected(request)) {
                // its sender waits for this before the body; the runtime must not send a second one
                HttpUtil.set100ContinueExpected(request, false);
                raw.writeAndFlush(Unpooled.wrappedBuffer(CONTINUE));
            }
            readAhead.add(msg);
            if (msg instanceof LastHttpContent && !claiming) {
                claiming = true;
                stopReading();
                guard.claimSlot(RequestWatch.this);
            }
        }

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            boolean interim = false;
            if (msg instanceof HttpResponse response) {
                int code = response.status().code();
                interim = code < 200;
                if (code >= 200 || code == 101) {
                    answered = true; // an early answer too (413 before the whole body, say)
                    unanswered = Math.max(0, unanswered - 1); // answers come in the order of the requests
                    if (code == 101) {
                        upgraded = true;
                    } else {
                        answering++;
                    }
                    updateQuiet();
                }
            }
            if (msg instanceof LastHttpContent && !interim && answering > 0) {
                // idle only once the answer's last byte left (a slow reader's answer is still work)
                promise = promise.unvoid();
                promise.addListener(written -> {
                    answering--;
                    updateQuiet();
                });
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
            updateQuiet();
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
