package org.cmm.eventbroker.platform.security.http;

import java.util.function.Consumer;

import io.vertx.core.http.ClientAuth;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.TrustOptions;
import org.apache.camel.CamelContext;
import org.cmm.eventbroker.platform.security.TlsMaterial;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes the HTTPS servers (platform HTTP intakes, management, websocket) ask callers for a client certificate when
 * {@code cmm.access.client-certificates.enabled=true}, verified against {@code cmm.security.tls.truststore}.
 *
 * <p>Why this way: Camel 4.17 builds each server's {@code HttpServerOptions} itself and sets only the key and trust
 * managers of {@code camel.ssl.*}, never {@code setClientAuth} ({@code VertxHelper.setupSSLOptions}), and Vert.x 4.5's
 * {@code updateSSLOptions} cannot change it either. But the servers take the one Vert.x instance of the registry,
 * {@link org.cmm.eventbroker.platform.http.HttpServerVertx}, whose {@code createHttpServer} applies
 * {@link #forContext this}: TLS servers ask for client certificates ({@link ClientAuth#REQUEST}: a caller without one
 * still authenticates with a token) and trust the shared truststore ({@link TlsMaterial}). {@link HttpAccessGuard} maps
 * a verified certificate's subject to roles ({@link ClientCertificateRoles}).
 */
public final class ClientCertificateRequests {

    public static final String ENABLED = "cmm.access.client-certificates.enabled";
    private static final Logger LOG = LoggerFactory.getLogger(ClientCertificateRequests.class);

    private ClientCertificateRequests() {
    }

    /**
     * What the HTTPS servers' options need for client certificates, or {@code null} when they are off. Fails when
     * they are on without a truststore to verify them with.
     */
    public static Consumer<HttpServerOptions> forContext(CamelContext context) {
        boolean enabled = context.getPropertiesComponent().resolveProperty(ENABLED).map(String::trim)
                .map(Boolean::parseBoolean).orElse(false);
        if (!enabled) {
            return null;
        }
        TlsMaterial material = TlsMaterial.of(context);
        if (!material.hasTruststore()) {
            throw new IllegalStateException(ENABLED + " is on but " + TlsMaterial.TRUSTSTORE
                    + " is empty: no client certificate could be verified");
        }
        TrustOptions trust = TrustOptions.wrap(material.trustManagers()[0]);
        LOG.info("HTTPS servers ask for client certificates (verified against {})", TlsMaterial.TRUSTSTORE);
        return options -> {
            if (options.isSsl()) {
                options.setClientAuth(ClientAuth.REQUEST);
                options.setTrustOptions(trust);
            }
        };
    }
}
