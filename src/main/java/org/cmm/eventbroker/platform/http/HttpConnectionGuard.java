package org.cmm.eventbroker.platform.http;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

import io.netty.channel.Channel;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpObjectDecoder;
import io.netty.handler.timeout.IdleStateHandler;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.net.impl.ConnectionBase;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Enforces {@link HttpConnectionLimits} on the platform HTTP server: the Vert.x connection handler of the servers
 * {@link HttpServerVertx} creates, acting on the connections of {@code camel.server.port} only (the management and
 * websocket servers of the same Vert.x instance are left alone).
 *
 * <p>Policy: a share per remote address, and slots for whole requests first. A connection over
 * {@code max-connections-per-address} from its address is accepted, its request read (within a short grace), answered
 * {@code 503} with {@code Retry-After: 1} and closed at once, so that one flooding host cannot take every slot; behind a
 * proxy every caller has the proxy's address, so set it to 0 there. A connection over {@code max-connections} waits:
 * its request is read ahead (bounded, within the same grace) and, once it is whole, the connection takes the slot of an
 * admitted connection doing nothing useful (the issue 17 flood: idle and trickling connections spread over many
 * addresses held every slot and honest senders met 503s): an idle one (no request arriving or being answered), longest
 * idle first, closed quietly; else one whose request has been trickling in longer than {@code slow-request-ms}, slower
 * than the minimum rate, answered 408 as at its read deadline. Only when every admitted connection is busy with real
 * work (a request arriving at a honest rate or not yet for long, a request being worked on, an answer or a stream
 * being written, a WebSocket) is it answered 503 and closed. A caller is told promptly and never hangs. Every admitted
 * connection gets the idle timeout and the request read deadline ({@link RequestWatch}).
 *
 * <p>Threads: each connection's state is its {@link RequestWatch}'s, touched on the connection's event loop; a waiting
 * connection picks a candidate from what the others publish, then the candidate confirms and closes itself on its own
 * event loop and hands its slot over (the count of open connections never passes the limit meanwhile).
 *
 * <p>Vert.x 4.5 exposes a connection's Netty channel only on its implementation class ({@link ConnectionBase}); a
 * connection of any other kind is counted and left as it is.
 */
final class HttpConnectionGuard implements Handler<HttpConnection> {

    private static final Logger LOG = LoggerFactory.getLogger(HttpConnectionGuard.class);
    private static final long REPORT_EVERY_NANOS = TimeUnit.MINUTES.toNanos(1);
    /** Candidates a waiting request tries in turn (each may have become busy before it could be closed). */
    private static final int TAKE_ATTEMPTS = 3;

    /** Where a new connection stands. */
    enum Admission {
        /** Has a slot. */
        ADMITTED,
        /** Over {@code max-connections}: may take a slot once its request is whole. */
        WAITING,
        /** Over its address's share: answered 503 once its request's head is read. */
        REFUSED
    }

    private final HttpConnectionLimits limits;
    private final LongSupplier clock;
    private final AtomicInteger open = new AtomicInteger();
    private final ConcurrentHashMap<InetAddress, Integer> perAddress = new ConcurrentHashMap<>();
    /** The admitted HTTP/1.x connections: the candidates to give up a slot. */
    private final Set<RequestWatch> admitted = ConcurrentHashMap.newKeySet();
    private final AtomicLong readAhead = new AtomicLong();
    private final AtomicLong refused = new AtomicLong();
    private final AtomicLong idleClosed = new AtomicLong();
    private final AtomicLong slowCut = new AtomicLong();
    private final AtomicLong idleTaken = new AtomicLong();
    private final AtomicLong slowTaken = new AtomicLong();
    private final AtomicLong lastReport;

    HttpConnectionGuard(HttpConnectionLimits limits) {
        this(limits, System::nanoTime);
    }

    /** @param clock {@link System#nanoTime()}, or a test's */
    HttpConnectionGuard(HttpConnectionLimits limits, LongSupplier clock) {
        this.limits = limits;
        this.clock = clock;
        this.lastReport = new AtomicLong(clock.getAsLong() - REPORT_EVERY_NANOS);
    }

    @Override
    public void handle(HttpConnection connection) {
        if (!(connection instanceof ConnectionBase base)) {
            return;
        }
        Channel channel = base.channel();
        if (!(channel.localAddress() instanceof InetSocketAddress local) || local.getPort() != limits.port()) {
            return;
        }
        attach(channel, channel.remoteAddress() instanceof InetSocketAddress r ? r.getAddress() : null);
    }

    /** Admits, or not, a new connection of the port and adds its handlers (on its event loop). */
    void attach(Channel channel, InetAddress remote) {
        Admission admission = admit(remote);
        ChannelPipeline pipeline = channel.pipeline();
        if (pipeline.get(HttpObjectDecoder.class) == null || pipeline.get("handler") == null) {
            if (admission == Admission.ADMITTED) {
                channel.closeFuture().addListener(closed -> release(remote, false));
            } else {
                countRefused();
                channel.close(); // not HTTP/1.x: no way to answer 503, close at once
            }
            return;
        }
        RequestWatch watch = new RequestWatch(limits, this, remote, admission);
        String decoder = pipeline.context(HttpObjectDecoder.class).name();
        pipeline.addBefore(decoder, "cmmRequestBytes", watch.bytes());
        pipeline.addBefore("handler", "cmmRequestExchanges", watch.exchanges());
        if (admission == Admission.ADMITTED) {
            admitted(watch, channel);
        } else {
            watch.startWaiting();
        }
    }

    /** {@code watch} has a slot now: it is a candidate, its slot is freed when it closes, it gets the idle timeout. */
    void admitted(RequestWatch watch, Channel channel) {
        admitted.add(watch);
        channel.closeFuture().addListener(closed -> {
            admitted.remove(watch);
            release(watch.remote(), watch.slotHandedOver());
        });
        ChannelPipeline pipeline = channel.pipeline();
        HttpObjectDecoder decoder = pipeline.get(HttpObjectDecoder.class);
        if (!limits.idleTimeout().isZero() && decoder != null && channel.isActive()) {
            // before the decoder: every byte is activity (a request's partial line too), and so are WebSocket frames
            pipeline.addBefore(pipeline.context(decoder).name(), "cmmIdle", new IdleStateHandler(0, 0,
                    limits.idleTimeout().toMillis(), TimeUnit.MILLISECONDS));
        }
    }

    private Admission admit(InetAddress remote) {
        if (open.incrementAndGet() > limits.maxConnections() && limits.maxConnections() > 0) {
            open.decrementAndGet();
            return Admission.WAITING;
        }
        if (!reserveShare(remote)) {
            open.decrementAndGet();
            return Admission.REFUSED;
        }
        return Admission.ADMITTED;
    }

    private boolean reserveShare(InetAddress remote) {
        if (remote != null && perAddress.merge(remote, 1, Integer::sum) > limits.maxConnectionsPerAddress()
                && limits.maxConnectionsPerAddress() > 0) {
            releaseShare(remote);
            return false;
        }
        return true;
    }

    private void releaseShare(InetAddress remote) {
        if (remote != null) {
            perAddress.computeIfPresent(remote, (a, n) -> n <= 1 ? null : n - 1);
        }
    }

    /** A slot is freed, unless it was handed over to a waiting connection (which keeps it counted). */
    private void release(InetAddress remote, boolean slotHandedOver) {
        if (!slotHandedOver) {
            open.decrementAndGet();
        }
        releaseShare(remote);
    }

    /**
     * A waiting connection's request is whole (called on its event loop): a slot freed meanwhile, else the slot of an
     * idle or trickling connection, else 503. The answer comes back on the waiting connection's event loop
     * ({@link RequestWatch#slotGranted()} or {@link RequestWatch#refuse()}).
     */
    void claimSlot(RequestWatch waiting) {
        claimSlot(waiting, 0);
    }

    private void claimSlot(RequestWatch waiting, int attempt) {
        InetAddress remote = waiting.remote();
        Admission now = admit(remote);
        if (now != Admission.WAITING) {
            if (now == Admission.ADMITTED) {
                waiting.slotGranted();
            } else {
                waiting.refuse();
            }
            return;
        }
        if (!reserveShare(remote)) {
            waiting.refuse();
            return;
        }
        RequestWatch victim = attempt < TAKE_ATTEMPTS ? pickSlotToTake() : null;
        if (victim == null) {
            releaseShare(remote);
            waiting.refuse();
            return;
        }
        victim.executor().execute(() -> {
            boolean given = victim.giveUpSlot();
            waiting.executor().execute(() -> {
                if (given) {
                    waiting.slotGranted(); // the victim's slot, handed over: open unchanged, the share reserved above
                } else {
                    releaseShare(remote);
                    claimSlot(waiting, attempt + 1);
                }
            });
        });
    }

    /**
     * The admitted connection doing the least useful work, marked taken: an idle one idle for at least the slow-request
     * threshold (longest first), else a trickling request (arriving longest first), else one idle for less (longest
     * first: a keep-alive client between two requests comes last). Null when every one is busy.
     */
    private RequestWatch pickSlotToTake() {
        long slow = limits.slowRequest().toNanos();
        for (int tries = 0; tries < TAKE_ATTEMPTS; tries++) {
            long now = clock.getAsLong();
            RequestWatch best = null;
            int bestRank = Integer.MAX_VALUE;
            long bestAge = -1;
            for (RequestWatch candidate : admitted) {
                if (candidate.isTaken()) {
                    continue;
                }
                long idle = candidate.idleFor(now);
                long trickling = idle < 0 ? candidate.tricklingFor(now) : -1;
                int rank;
                long age;
                if (idle >= 0) {
                    rank = idle >= slow ? 0 : 2;
                    age = idle;
                } else if (trickling >= 0) {
                    rank = 1;
                    age = trickling;
                } else {
                    continue;
                }
                if (rank < bestRank || rank == bestRank && age > bestAge) {
                    best = candidate;
                    bestRank = rank;
                    bestAge = age;
                }
            }
            if (best == null) {
                return null;
            }
            if (best.take()) {
                return best;
            }
        }
        return null;
    }

    /** Bytes a waiting connection read ahead: false (and not counted) past the bound for all of them together. */
    boolean readAhead(long bytes) {
        if (readAhead.addAndGet(bytes) > HttpConnectionLimits.READ_AHEAD_BYTES_IN_ALL) {
            readAhead.addAndGet(-bytes);
            return false;
        }
        return true;
    }

    /** A waiting connection's read-ahead was handed on or dropped. */
    void readAheadDone(long bytes) {
        readAhead.addAndGet(-bytes);
    }

    long now() {
        return clock.getAsLong();
    }

    void countIdle() {
        idleClosed.incrementAndGet();
    }

    void countSlowRequest() {
        slowCut.incrementAndGet();
        report();
    }

    void countRefused() {
        refused.incrementAndGet();
        report();
    }

    void countTaken(boolean fromSlowRequest) {
        (fromSlowRequest ? slowTaken : idleTaken).incrementAndGet();
        report();
    }

    /** At most once a minute: what the limits did (no address: a count is enough to notice a flood). */
    private void report() {
        long now = clock.getAsLong();
        long last = lastReport.get();
        if (now - last >= REPORT_EVERY_NANOS && lastReport.compareAndSet(last, now)) {
            LOG.warn("HTTP connection limits ({}): {} connections over the limits not served (503, or closed when no "
                    + "request came), {} slots given to whole requests ({} idle connections closed, {} trickling "
                    + "requests answered 408), {} slow requests cut (408), {} idle connections closed so far; {} open",
                    limits, refused.get(), idleTaken.get() + slowTaken.get(), idleTaken.get(), slowTaken.get(),
                    slowCut.get(), idleClosed.get(), open.get());
        }
    }

    /** Connections open now (admitted ones). */
    int open() {
        return open.get();
    }

    /** Bytes read ahead by waiting connections now. */
    long readAheadBytes() {
        return readAhead.get();
    }
}
