package org.cmm.eventbroker.platform.http;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

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
 * <p>Policy: first come, first served, with a share per remote address. A connection over {@code max-connections}, or
 * over {@code max-connections-per-address} from its address, is accepted, its request read (within a short grace),
 * answered {@code 503} with {@code Retry-After: 1} and closed at once, so the caller is told promptly and never hangs,
 * and the connections already open (normal clients with keep-alive among them) keep being served. The per-address
 * share is what keeps one flooding host from taking every slot; behind a proxy every caller has the proxy's address,
 * so set it to 0 there. Every admitted connection gets the idle timeout and the request read deadline
 * ({@link RequestWatch}).
 *
 * <p>Vert.x 4.5 exposes a connection's Netty channel only on its implementation class ({@link ConnectionBase}); a
 * connection of any other kind is counted and left as it is.
 */
final class HttpConnectionGuard implements Handler<HttpConnection> {

    private static final Logger LOG = LoggerFactory.getLogger(HttpConnectionGuard.class);
    private static final long REPORT_EVERY_NANOS = TimeUnit.MINUTES.toNanos(1);

    private final HttpConnectionLimits limits;
    private final AtomicInteger open = new AtomicInteger();
    private final ConcurrentHashMap<InetAddress, Integer> perAddress = new ConcurrentHashMap<>();
    private final AtomicLong refused = new AtomicLong();
    private final AtomicLong idleClosed = new AtomicLong();
    private final AtomicLong slowCut = new AtomicLong();
    private final AtomicLong lastReport = new AtomicLong(System.nanoTime() - REPORT_EVERY_NANOS);

    HttpConnectionGuard(HttpConnectionLimits limits) {
        this.limits = limits;
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
        InetAddress remote = channel.remoteAddress() instanceof InetSocketAddress r ? r.getAddress() : null;
        boolean admitted = admit(remote);
        if (admitted) {
            channel.closeFuture().addListener(closed -> release(remote));
        } else {
            refused.incrementAndGet();
            report();
        }
        ChannelPipeline pipeline = channel.pipeline();
        if (pipeline.get(HttpObjectDecoder.class) == null || pipeline.get("handler") == null) {
            if (!admitted) {
                channel.close(); // not HTTP/1.x: no way to answer 503, close at once
            }
            return;
        }
        RequestWatch watch = new RequestWatch(limits, this, !admitted);
        String decoder = pipeline.context(HttpObjectDecoder.class).name();
        pipeline.addBefore(decoder, "cmmRequestBytes", watch.bytes());
        if (admitted && !limits.idleTimeout().isZero()) {
            // before the decoder: every byte is activity (a request's partial line too), and so are WebSocket frames
            pipeline.addBefore(decoder, "cmmIdle", new IdleStateHandler(0, 0, limits.idleTimeout().toMillis(),
                    TimeUnit.MILLISECONDS));
        }
        pipeline.addBefore("handler", "cmmRequestExchanges", watch.exchanges());
        if (!admitted) {
            watch.startRefusal();
        }
    }

    private boolean admit(InetAddress remote) {
        if (open.incrementAndGet() > limits.maxConnections() && limits.maxConnections() > 0) {
            open.decrementAndGet();
            return false;
        }
        if (remote != null && perAddress.merge(remote, 1, Integer::sum) > limits.maxConnectionsPerAddress()
                && limits.maxConnectionsPerAddress() > 0) {
            release(remote);
            return false;
        }
        return true;
    }

    private void release(InetAddress remote) {
        open.decrementAndGet();
        if (remote != null) {
            perAddress.computeIfPresent(remote, (a, n) -> n <= 1 ? null : n - 1);
        }
    }

    void countIdle() {
        idleClosed.incrementAndGet();
    }

    void countSlowRequest() {
        slowCut.incrementAndGet();
        report();
    }

    /** At most once a minute: what the limits did (no address: a count is enough to notice a flood). */
    private void report() {
        long now = System.nanoTime();
        long last = lastReport.get();
        if (now - last >= REPORT_EVERY_NANOS && lastReport.compareAndSet(last, now)) {
            LOG.warn("HTTP connection limits ({}): {} connections refused (503), {} slow requests cut (408), {} idle "
                    + "connections closed so far; {} open", limits, refused.get(), slowCut.get(), idleClosed.get(),
                    open.get());
        }
    }

    /** Connections open now (admitted ones). */
    int open() {
        return open.get();
    }
}
