package org.cmm.eventbroker.platform.security.http;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;

import io.vertx.core.Vertx;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.impl.VertxInternal;
import io.vertx.core.net.TrustOptions;
import org.apache.camel.CamelContext;
import org.apache.camel.main.BaseMainSupport;
import org.apache.camel.main.MainListenerSupport;
import org.cmm.eventbroker.platform.security.TlsMaterial;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes the HTTPS servers (platform HTTP intakes, management, websocket) ask callers for a client certificate when
 * {@code cmm.access.client-certificates.enabled=true}, verified against {@code cmm.security.tls.truststore}.
 *
 * <p>Why this way: Camel 4.17 builds each server's {@code HttpServerOptions} itself and sets only the key and trust
 * managers of {@code camel.ssl.*}, never {@code setClientAuth} ({@code VertxHelper.setupSSLOptions}), and Vert.x 4.5's
 * {@code updateSSLOptions} cannot change it either. But the servers take the one Vert.x instance of the registry, so
 * this listener binds one, before Camel sets the servers up, whose {@code createHttpServer} asks for client
 * certificates ({@link ClientAuth#REQUEST}: a caller without one still authenticates with a token) and trusts the
 * shared truststore ({@link TlsMaterial}). Everything else is the real Vert.x instance. {@link HttpAccessGuard} maps a
 * verified certificate's subject to roles ({@link ClientCertificateRoles}).
 */
public class ClientCertificateRequests extends MainListenerSupport {

    public static final String ENABLED = "cmm.access.client-certificates.enabled";
    private static final Logger LOG = LoggerFactory.getLogger(ClientCertificateRequests.class);

    private Vertx vertx;

    @Override
    public void beforeConfigure(BaseMainSupport main) {
        CamelContext context = main.getCamelContext();
        boolean enabled = context.getPropertiesComponent().resolveProperty(ENABLED).map(String::trim)
                .map(Boolean::parseBoolean).orElse(false);
        if (!enabled) {
            return;
        }
        TlsMaterial material = TlsMaterial.of(context);
        if (!material.hasTruststore()) {
            throw new IllegalStateException(ENABLED + " is on but " + TlsMaterial.TRUSTSTORE
                    + " is empty: no client certificate could be verified");
        }
        TrustOptions trust = TrustOptions.wrap(material.trustManagers()[0]);
        vertx = Vertx.vertx();
        context.getRegistry().bind("cmmVertx", Vertx.class, requestingClientCertificates(vertx, trust));
        LOG.info("HTTPS servers ask for client certificates (verified against {})", TlsMaterial.TRUSTSTORE);
    }

    @Override
    public void afterStop(BaseMainSupport main) {
        if (vertx != null) {
            vertx.close();
            vertx = null;
        }
    }

    /** The Vert.x instance whose TLS HTTP servers request client certificates verified with {@code trust}. */
    static Vertx requestingClientCertificates(Vertx real, TrustOptions trust) {
        Class<?> type = real instanceof VertxInternal ? VertxInternal.class : Vertx.class;
        return (Vertx) Proxy.newProxyInstance(ClientCertificateRequests.class.getClassLoader(), new Class<?>[] {type},
                (proxy, method, args) -> {
                    if ("createHttpServer".equals(method.getName()) && args != null && args.length == 1
                            && args[0] instanceof HttpServerOptions options && options.isSsl()) {
                        options.setClientAuth(ClientAuth.REQUEST);
                        options.setTrustOptions(trust);
                    }
                    try {
                        return method.invoke(real, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }
}
