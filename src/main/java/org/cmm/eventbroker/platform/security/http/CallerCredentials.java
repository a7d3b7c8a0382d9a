package org.cmm.eventbroker.platform.security.http;

import java.util.Collections;
import java.util.Map;
import java.util.Optional;
import java.util.WeakHashMap;

import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.RoutingContext;
import org.apache.camel.Exchange;
import org.apache.camel.component.platform.http.vertx.HttpMessage;

/**
 * The bearer token a verified caller presented, kept by {@link HttpAccessGuard} for the one purpose of passing the
 * caller's credentials on when this runtime asks another instance of itself on the caller's behalf (e.g. the analytics
 * queries forwarded to the instance that holds a ward), so that instance checks the same caller again and records it
 * in its own audit. The guard still removes the {@code Authorization} header, so the token never reaches a route's
 * headers, a Kafka header or a log; it is held here per request (by the request's identity, dropped when the response
 * ends) and read only through {@link #bearer(Exchange)}. Never log what it returns.
 */
public final class CallerCredentials {

    private static final Map<HttpServerRequest, String> BEARER = Collections.synchronizedMap(new WeakHashMap<>());

    private CallerCredentials() {
    }

    /** Keeps the verified bearer token of the request until its response ends. */
    static void keep(RoutingContext ctx, String token) {
        HttpServerRequest request = ctx.request();
        BEARER.put(request, token);
        ctx.addEndHandler(done -> BEARER.remove(request));
    }

    /**
     * The bearer token the caller of this platform HTTP exchange presented and the guard verified; empty when access
     * control is off, the path is open, the caller used a client certificate, or the exchange is not an HTTP request.
     */
    public static Optional<String> bearer(Exchange exchange) {
        if (exchange != null && exchange.getMessage() instanceof HttpMessage http && http.getRequest() != null) {
            return Optional.ofNullable(BEARER.get(http.getRequest()));
        }
        return Optional.empty();
    }
}
