package org.cmm.eventbroker.platform.http;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.function.Consumer;

import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.impl.VertxInternal;
import org.apache.camel.CamelContext;
import org.apache.camel.main.BaseMainSupport;
import org.apache.camel.main.MainListenerSupport;
import org.apache.camel.support.service.ServiceSupport;
import org.cmm.eventbroker.platform.security.http.ClientCertificateRequests;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one Vert.x instance of the registry, bound before Camel sets up its HTTP servers, so that the options of every
 * server it creates can be completed: Camel 4.17 builds the platform HTTP server's {@code HttpServerOptions} itself
 * ({@code VertxPlatformHttpServer.startServer()}: no idle timeout, no connection limit) and offers no setting or hook
 * for them, but each of its servers takes the single {@link Vertx} of the registry when there is one. Everything but
 * {@code createHttpServer} is the real instance.
 *
 * <p>What each server gets: the client certificate request when {@code cmm.access.client-certificates.enabled}
 * ({@link ClientCertificateRequests}); HTTP/1.1 only (no cleartext HTTP/2 upgrade or prior knowledge, no ALPN), so every
 * request passes the HTTP/1.x codec the limits watch; and {@link HttpConnectionGuard} as its connection handler, which
 * enforces {@link HttpConnectionLimits} on the connections of {@code camel.server.port} (plain or TLS alike: it sees
 * the connection after the TLS handshake, whose own timeout is Vert.x's 10 s).
 */
public class HttpServerVertx extends MainListenerSupport {

    private static final Logger LOG = LoggerFactory.getLogger(HttpServerVertx.class);

    /** Comma-separated WebSocket subprotocols every server accepts. */
    static final String SUBPROTOCOLS = "cmm.http.websocket-subprotocols";

    private volatile Vertx vertx;

    @Override
    public void beforeConfigure(BaseMainSupport main) {
        CamelContext context = main.getCamelContext();
        HttpConnectionLimits limits = HttpConnectionLimits.of(context);
        Consumer<HttpServerOptions> clientCertificates = ClientCertificateRequests.forContext(context);
        // WebSocket subprotocols the servers accept when a client asks for one (a client that asks for a subprotocol
        // refuses a handshake answer that does not name it): e.g. graphql-transport-ws for GraphQL subscriptions
        java.util.List<String> subprotocols = java.util.Arrays.stream(context.getPropertiesComponent()
                .resolveProperty(SUBPROTOCOLS).orElse("").split(",")).map(String::trim).filter(v -> !v.isEmpty())
                .toList();
        Consumer<HttpServerOptions> serverOptions = options -> subprotocols.forEach(name -> {
            if (options.getWebSocketSubProtocols() == null || !options.getWebSocketSubProtocols().contains(name)) {
                options.addWebSocketSubProtocol(name);
            }
        });
        if (clientCertificates != null) {
            serverOptions = clientCertificates.andThen(serverOptions);
        }
        Vertx real = Vertx.vertx();
        vertx = real;
        context.getRegistry().bind("cmmVertx", Vertx.class,
                completingServerOptions(real, serverOptions, new HttpConnectionGuard(limits)));
        // Camel's servers never close a Vert.x of the registry, and a Main stopped with stop() (not run()) calls no
        // listener's afterStop: close it with the context (added first, so stopped after the servers using it), or
        // its event loop threads keep the JVM alive
        try {
            context.addService(new ServiceSupport() {
                @Override
                protected void doStop() {
                    closeVertx(real);
                }
            }, true, true);
        } catch (Exception e) {
            closeVertx(real);
            throw new IllegalStateException("cannot tie the HTTP servers' Vert.x to the context's lifetime", e);
        }
        LOG.info("Platform HTTP server (port {}) connection limits: {}", limits.port(), limits);
    }

    @Override
    public void afterStop(BaseMainSupport main) {
        if (vertx != null) {
            closeVertx(vertx);
        }
    }

    private synchronized void closeVertx(Vertx real) {
        if (vertx == real) {
            vertx = null;
            real.close();
        }
    }

    /** {@code real}, whose HTTP servers get the options and connection handler above. */
    static Vertx completingServerOptions(Vertx real, Consumer<HttpServerOptions> clientCertificates,
            Handler<HttpConnection> guard) {
        Class<?> type = real instanceof VertxInternal ? VertxInternal.class : Vertx.class;
        return (Vertx) Proxy.newProxyInstance(HttpServerVertx.class.getClassLoader(), new Class<?>[] {type},
                (proxy, method, args) -> {
                    boolean creatingServer = "createHttpServer".equals(method.getName());
                    if (creatingServer && (args == null || args.length == 0)) {
                        args = new Object[] {new HttpServerOptions()};
                        method = Vertx.class.getMethod("createHttpServer", HttpServerOptions.class);
                    }
                    if (creatingServer && args[0] instanceof HttpServerOptions options) {
                        options.setHttp2ClearTextEnabled(false);
                        options.setUseAlpn(false);
                        if (clientCertificates != null) {
                            clientCertificates.accept(options);
                        }
                    }
                    Object result;
                    try {
                        result = method.invoke(real, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                    if (creatingServer && result instanceof HttpServer server) {
                        server.connectionHandler(guard);
                    }
                    return result;
                });
    }
}
