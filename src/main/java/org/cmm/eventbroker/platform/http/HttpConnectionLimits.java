package org.cmm.eventbroker.platform.http;

import java.time.Duration;
import java.util.Optional;

import org.apache.camel.CamelContext;

/**
 * The limits on the platform HTTP server's connections ({@code camel.server.port}), from {@code config/http.properties}:
 * how long a connection may be silent, how long a request may take to arrive, how many connections may be open at once
 * in all and from one address. Zero turns a limit off.
 *
 * <p>Why: Vert.x holds a connection for as long as its peer keeps it open, and Camel 4.17 sets no idle timeout on the
 * server it builds, so silent connections and requests trickled one byte at a time would hold the port's file
 * descriptors for ever (issue 17, floods). {@link HttpConnectionGuard} enforces these on every connection.
 *
 * @param port the platform HTTP server's port; only its connections are limited
 * @param idleTimeout a connection with no byte in either direction for this long is closed, unless the runtime is
 *        working on its request (an answer not yet started)
 * @param requestReadTimeout a request's line, headers and body must arrive within this long of its first byte
 * @param requestReadMinBytesPerSecond each byte received extends that deadline by 1/this of a second, so a large body
 *        on a slow but honest link is not cut; zero: a fixed deadline
 * @param slowRequest while every slot is taken, a request that has been arriving for longer than this, slower than the
 *        minimum rate, gives its connection's slot to a waiting connection whose request is whole (and is answered
 *        408); zero: only idle connections give up their slot
 * @param maxConnections connections open at once; a connection beyond it is served only when its whole request
 *        arrives (within {@link #REFUSAL_GRACE}) and an idle or trickling connection gives up its slot for it, else
 *        answered 503 and closed
 * @param maxConnectionsPerAddress connections open at once from one remote address; the next ones from that address
 *        are answered 503 and closed
 */
public record HttpConnectionLimits(int port, Duration idleTimeout, Duration requestReadTimeout,
        long requestReadMinBytesPerSecond, Duration slowRequest, int maxConnections, int maxConnectionsPerAddress) {

    public static final String IDLE_TIMEOUT = "cmm.http.idle-timeout-seconds";
    public static final String REQUEST_READ_TIMEOUT = "cmm.http.request-read-timeout-seconds";
    public static final String REQUEST_READ_MIN_RATE = "cmm.http.request-read-min-bytes-per-second";
    public static final String SLOW_REQUEST = "cmm.http.slow-request-ms";
    public static final String MAX_CONNECTIONS = "cmm.http.max-connections";
    public static final String MAX_CONNECTIONS_PER_ADDRESS = "cmm.http.max-connections-per-address";
    private static final String SERVER_PORT = "camel.server.port";

    /** How long a connection refused over the limits may take to send the request it is answered 503 to. */
    static final Duration REFUSAL_GRACE = Duration.ofSeconds(5);
    /**
     * The bytes a connection over {@code max-connections} may send while it waits (its whole request, read ahead
     * before it has a slot); a larger request is answered 503 at once, as before there was a read-ahead.
     */
    static final int READ_AHEAD_BYTES = 64 * 1024;
    /** The bytes read ahead by all waiting connections together; past them a waiting connection is answered 503. */
    static final long READ_AHEAD_BYTES_IN_ALL = 16L * 1024 * 1024;

    public HttpConnectionLimits {
        if (idleTimeout.isNegative() || requestReadTimeout.isNegative() || requestReadMinBytesPerSecond < 0
                || slowRequest.isNegative() || maxConnections < 0 || maxConnectionsPerAddress < 0) {
            throw new IllegalArgumentException("HTTP connection limits cannot be negative (0 turns one off)");
        }
    }

    /** The limits as configured in the context's properties (the defaults of {@code config/http.properties}). */
    public static HttpConnectionLimits of(CamelContext context) {
        return new HttpConnectionLimits(
                (int) number(context, SERVER_PORT, 8081),
                Duration.ofSeconds(number(context, IDLE_TIMEOUT, 60)),
                Duration.ofSeconds(number(context, REQUEST_READ_TIMEOUT, 30)),
                number(context, REQUEST_READ_MIN_RATE, 65536),
                Duration.ofMillis(number(context, SLOW_REQUEST, 2000)),
                (int) number(context, MAX_CONNECTIONS, 1000),
                (int) number(context, MAX_CONNECTIONS_PER_ADDRESS, 100));
    }

    private static long number(CamelContext context, String key, long fallback) {
        Optional<String> value = context.getPropertiesComponent().resolveProperty(key).map(String::trim)
                .filter(v -> !v.isEmpty());
        if (value.isEmpty()) {
            return fallback;
        }
        try {
            long n = Long.parseLong(value.get());
            if (n < 0) {
                throw new IllegalArgumentException(key + " = " + n + ": must be 0 (off) or more");
            }
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " = " + value.get() + ": not a whole number", e);
        }
    }

    /** How long a request that has received {@code bytes} so far may take in all. */
    Duration readAllowance(long bytes) {
        if (requestReadMinBytesPerSecond == 0) {
            return requestReadTimeout;
        }
        return requestReadTimeout.plusNanos(Math.min(Long.MAX_VALUE / 4, bytes * 1_000_000_000L / requestReadMinBytesPerSecond));
    }

    /**
     * Whether a request that has been arriving for {@code elapsedNanos} with {@code bytes} received so far is trickling:
     * longer than the slow-request threshold, and slower than the minimum rate (an honest large body arriving faster
     * is real work, whatever its length).
     */
    boolean trickling(long elapsedNanos, long bytes) {
        if (slowRequest.isZero() || elapsedNanos < slowRequest.toNanos()) {
            return false;
        }
        return requestReadMinBytesPerSecond == 0
                || bytes < (double) requestReadMinBytesPerSecond * elapsedNanos / 1_000_000_000d;
    }

    @Override
    public String toString() {
        return "idle " + idleTimeout.toSeconds() + " s, request read " + requestReadTimeout.toSeconds() + " s (+1 s per "
                + requestReadMinBytesPerSecond + " bytes), at most " + maxConnections + " connections, "
                + maxConnectionsPerAddress + " per address, a slot taken back from a request trickling for "
                + slowRequest.toMillis() + " ms";
    }
}
