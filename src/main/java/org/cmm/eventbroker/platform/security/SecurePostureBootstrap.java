package org.cmm.eventbroker.platform.security;

import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Set;

import org.apache.camel.CamelContext;
import org.apache.camel.main.BaseMainSupport;
import org.apache.camel.main.MainListenerSupport;
import org.apache.camel.spi.PropertiesComponent;
import org.cmm.eventbroker.platform.security.audit.AuditSink;
import org.cmm.eventbroker.platform.security.audit.RuntimeAuditSink;
import org.cmm.eventbroker.platform.security.generation.SecurityMaterial;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The production posture's one switch ({@code cmm.security.enabled=true}), before anything listens: binds the audit
 * sink every way in reports to, and makes sure the TLS material exists. When {@code cmm.security.tls.keystore} or
 * {@code .truststore} is not configured, the material in {@code cmm.security.dir} is used, generated on first start
 * (a local CA, a server certificate for localhost, 127.0.0.1 and the configured listener hosts, a truststore, the
 * initial credentials, shown once on the console), and the {@code cmm.security.tls.*} properties are pointed at it,
 * so HTTPS, MLLP over TLS, the websocket and the embedded broker all serve the same certificate. Configured paths
 * take precedence.
 */
public class SecurePostureBootstrap extends MainListenerSupport {

    private static final Logger LOG = LoggerFactory.getLogger(SecurePostureBootstrap.class);

    @Override
    public void beforeConfigure(BaseMainSupport main) {
        CamelContext context = main.getCamelContext();
        PropertiesComponent properties = context.getPropertiesComponent();
        if (!flag(properties, NetworkExposureCheck.SECURITY_ENABLED)) {
            return;
        }
        RuntimeAuditSink sink = new RuntimeAuditSink(context);
        context.getRegistry().bind(AuditSink.REGISTRY_NAME, AuditSink.class, sink);
        try {
            context.addService(sink, true, true);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        boolean keystoreConfigured = !value(properties, "cmm.security.tls.keystore").isEmpty();
        boolean truststoreConfigured = !value(properties, "cmm.security.tls.truststore").isEmpty();
        if (keystoreConfigured && truststoreConfigured) {
            LOG.info("Security on: TLS material from cmm.security.tls.keystore and cmm.security.tls.truststore");
            return;
        }
        Path dir = Path.of(value(properties, "cmm.security.dir").isEmpty() ? "data/security" : value(properties, "cmm.security.dir"));
        SecurityMaterial material;
        try {
            material = SecurityMaterial.ensure(dir, listenerHosts(properties));
        } catch (Exception e) {
            throw new IllegalStateException("Security is on, but the TLS material in " + dir
                    + " could not be read or generated: " + e.getMessage(), e);
        }
        if (material.generated()) {
            printInitialCredential(material);
        }
        if (!keystoreConfigured) {
            properties.addOverrideProperty("cmm.security.tls.keystore", material.keystore().toAbsolutePath().toString());
            properties.addOverrideProperty("cmm.security.tls.keystore-password", material.keystorePassword());
        }
        if (!truststoreConfigured) {
            properties.addOverrideProperty("cmm.security.tls.truststore", material.truststore().toAbsolutePath().toString());
            properties.addOverrideProperty("cmm.security.tls.truststore-password", material.truststorePassword());
        }
        LOG.info("Security on: TLS material from {}{}", dir, material.generated() ? " (generated now)" : "");
    }

    /** The hosts the server certificate must name: every configured listener host that is not a wildcard. */
    private static Set<String> listenerHosts(PropertiesComponent properties) {
        Set<String> hosts = new LinkedHashSet<>();
        for (String key : NetworkExposureCheck.LISTENER_HOST_KEYS) {
            addHost(hosts, value(properties, key));
        }
        addHost(hosts, value(properties, "cmm.kafka.embedded.host"));
        return hosts;
    }

    private static void addHost(Set<String> hosts, String host) {
        if (!host.isEmpty() && !"0.0.0.0".equals(host) && !"::".equals(host)) {
            hosts.add(host);
        }
    }

    /** Once, on the console (not the log), as Elasticsearch does: the generated super user's password. */
    @SuppressWarnings("java:S106")
    private static void printInitialCredential(SecurityMaterial material) {
        System.out.println();
        System.out.println("-------------------------------------------------------------------------------");
        System.out.println(" Security is on. Generated a local CA and certificates in " + material.dir());
        System.out.println(" Kafka super user (SCRAM-SHA-512): " + material.adminUser() + " / " + material.adminPassword());
        System.out.println(" Shown once; it is kept (owner-only) in " + material.dir().resolve(SecurityMaterial.CREDENTIALS));
        System.out.println(" CA certificate for clients: " + material.caPem());
        System.out.println("-------------------------------------------------------------------------------");
        System.out.println();
    }

    private static boolean flag(PropertiesComponent properties, String key) {
        return Boolean.parseBoolean(value(properties, key));
    }

    private static String value(PropertiesComponent properties, String key) {
        return properties.resolveProperty(key).orElse("").trim();
    }
}
