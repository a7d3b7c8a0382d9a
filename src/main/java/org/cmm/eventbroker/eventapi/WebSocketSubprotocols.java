package org.cmm.eventbroker.eventapi;

import java.lang.reflect.Field;
import java.util.Collections;
import java.util.Set;
import java.util.WeakHashMap;

import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServerOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Lets the platform HTTP server accept a WebSocket subprotocol. The graphql-ws client (and any browser) fails a
 * connection whose handshake answer does not name the subprotocol it asked for ({@code graphql-transport-ws}); Vert.x
 * names only the subprotocols in its server options, and Camel's platform-http server creates those options with no
 * setting for them. So the subprotocol is added, once, to the options the running server's connections use (read
 * from the connection by reflection: Vert.x 4.5 keeps them in {@code Http1xServerConnection.options}). It only adds a
 * name a client must ask for; every other handshake is unchanged. If Vert.x changes, this logs once and the upgrade
 * goes on without the subprotocol (clients that insist on it then refuse, as they would anyway).
 */
final class WebSocketSubprotocols {

    private static final Logger LOG = LoggerFactory.getLogger(WebSocketSubprotocols.class);
    private static final Set<HttpServerOptions> DONE = Collections.newSetFromMap(
            Collections.synchronizedMap(new WeakHashMap<>()));
    private static volatile boolean warned;

    private WebSocketSubprotocols() {
    }

    /** Makes the server of this connection accept {@code subprotocol} (idempotent). */
    static void accept(HttpConnection connection, String subprotocol) {
        try {
            Field f = findOptions(connection.getClass());
            if (f == null) {
                throw new NoSuchFieldException("options");
            }
            f.setAccessible(true);
            HttpServerOptions options = (HttpServerOptions) f.get(connection);
            if (options == null || DONE.contains(options)) {
                return;
            }
            synchronized (options) {
                if (options.getWebSocketSubProtocols() == null
                        || !options.getWebSocketSubProtocols().contains(subprotocol)) {
                    options.addWebSocketSubProtocol(subprotocol);
                }
            }
            DONE.add(options);
        } catch (ReflectiveOperationException | RuntimeException e) {
            if (!warned) {
                warned = true;
                LOG.warn("Cannot offer the WebSocket subprotocol {} on the platform HTTP server ({}): clients that "
                        + "require it will refuse the connection", subprotocol, e.getClass().getSimpleName());
            }
        }
    }

    private static Field findOptions(Class<?> type) {
        for (Class<?> c = type; c != null; c = c.getSuperclass()) {
            for (Field f : c.getDeclaredFields()) {
                if (HttpServerOptions.class.isAssignableFrom(f.getType())) {
                    return f;
                }
            }
        }
        return null;
    }

}
