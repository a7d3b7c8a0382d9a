package org.cmm.eventbroker.runtime;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.camel.CamelContext;
import org.apache.camel.main.BaseMainSupport;
import org.apache.camel.main.MainListenerSupport;
import org.apache.camel.spi.PropertiesComponent;
import org.apache.camel.support.service.ServiceSupport;
import org.cmm.eventbroker.dev.EmbeddedKafkaBroker;
import org.cmm.eventbroker.platform.security.generation.SecurityMaterial;
import org.cmm.eventbroker.platform.security.kafka.CmmKafkaPrincipalBuilder;
import org.cmm.eventbroker.platform.security.kafka.OidcDiscovery;
import org.cmm.eventbroker.platform.security.kafka.RbacAuthorizer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts the embedded Kafka broker before any route when no bootstrap servers are configured, and points every
 * {@code {{cmm.kafka.bootstrap-servers}}} placeholder at it. The broker is registered as a Camel service, so it stops
 * after the routes that use it.
 *
 * <p>With {@code cmm.security.enabled=true} (the production posture) the broker has only secure listeners
 * (SASL_SSL and SSL with client certificates, see {@link EmbeddedKafkaBroker.Security}), its TLS material and initial
 * credentials come from configuration or are generated on first start ({@link SecurityMaterial}), the runtime's own
 * Kafka clients authenticate as the service principal {@code cmm-runtime} (SCRAM-SHA-512, set as
 * {@code camel.component.kafka.*} override properties, which {@code KafkaClients} and every {@code kafka:} endpoint
 * read), and the runtime's audit sink is bound. Against an external Kafka the client settings come from configuration
 * ({@code camel.component.kafka.*}) and only the audit sink is bound.
 */
public class EmbeddedBrokerBootstrap extends MainListenerSupport {

    public static final String BOOTSTRAP_SERVERS = "cmm.kafka.bootstrap-servers";
    public static final String SECURITY_ENABLED = "cmm.security.enabled";

    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedBrokerBootstrap.class);

    private EmbeddedKafkaBroker broker;

    @Override
    public void beforeConfigure(BaseMainSupport main) {
        CamelContext context = main.getCamelContext();
        PropertiesComponent properties = context.getPropertiesComponent();
        boolean secure = Boolean.parseBoolean(properties.resolveProperty(SECURITY_ENABLED).orElse("false").trim());
        String configured = properties.resolveProperty(BOOTSTRAP_SERVERS).orElse("").trim();
        if (!configured.isEmpty()) {
            LOG.info("Using the Kafka cluster at {} (no embedded broker{})", configured,
                    secure ? "; client security from camel.component.kafka.*" : "");
            return;
        }
        String host = properties.resolveProperty("cmm.kafka.embedded.host").orElse("127.0.0.1");
        int port = Integer.parseInt(properties.resolveProperty("cmm.kafka.embedded.port").orElse("9092"));
        int controllerPort = Integer.parseInt(properties.resolveProperty("cmm.kafka.embedded.controller-port").orElse("9093"));
        Path dataDir = Path.of(properties.resolveProperty("cmm.kafka.embedded.data-dir").orElse("data/kafka"));
        Map<String, String> overrides = new HashMap<>();
        properties.resolveProperty("cmm.kafka.embedded.num-partitions").ifPresent(n -> overrides.put("num.partitions", n));
        EmbeddedKafkaBroker.Security security = null;
        if (secure) {
            try {
                security = secureBroker(properties, host);
            } catch (Exception e) {
                throw new IllegalStateException("The secure posture of the embedded Kafka broker could not be prepared: "
                        + e.getMessage(), e);
            }
        }
        broker = new EmbeddedKafkaBroker(host, port, controllerPort, dataDir, overrides, security);
        try {
            broker.start();
        } catch (Exception e) {
            throw new IllegalStateException("The embedded Kafka broker could not start on " + host + ":" + port
                    + " (is the port taken? set " + BOOTSTRAP_SERVERS + " to use an existing Kafka)", e);
        }
        properties.addOverrideProperty(BOOTSTRAP_SERVERS, broker.bootstrapServers());
        if (secure && properties.resolveProperty("camel.component.kafka.brokers").orElse("").isBlank()) {
            properties.addOverrideProperty("camel.component.kafka.brokers", broker.bootstrapServers());
        }
        try {
            context.addService(new BrokerService(broker), true, true);
        } catch (Exception e) {
            broker.stop();
            throw new IllegalStateException(e);
        }
    }

    /**
     * The production posture of the embedded broker: TLS material and credentials (configured, or generated on first
     * start), the role-bindings file, OAUTHBEARER when an OIDC issuer is configured; and the runtime's own clients
     * as the service principal.
     */
    private EmbeddedKafkaBroker.Security secureBroker(PropertiesComponent properties, String host) throws Exception {
        Path securityDir = Path.of(value(properties, "cmm.security.dir", "data/security"));
        // generated (or read) by SecurePostureBootstrap before this listener; here for the Kafka credentials
        SecurityMaterial material = SecurityMaterial.ensure(securityDir, List.of(host));
        Path keystore = material.keystore();
        String keystorePassword = material.keystorePassword();
        String configuredKeystore = value(properties, "cmm.security.tls.keystore", "");
        if (!configuredKeystore.isEmpty()) {
            keystore = Path.of(configuredKeystore);
            keystorePassword = value(properties, "cmm.security.tls.keystore-password", "");
        }
        Path truststore = material.truststore();
        String truststorePassword = material.truststorePassword();
        String configuredTruststore = value(properties, "cmm.security.tls.truststore", "");
        if (!configuredTruststore.isEmpty()) {
            truststore = Path.of(configuredTruststore);
            truststorePassword = value(properties, "cmm.security.tls.truststore-password", "");
        }
        Path bindings = Path.of(value(properties, "cmm.kafka.security.role-bindings", ""
                + securityDir.resolve("kafka-role-bindings.conf")));
        if (!Files.exists(bindings)) {
            writeInitialRoleBindings(bindings, material.runtimeUser());
        }
        Map<String, String> scram = new LinkedHashMap<>();
        scram.put(material.adminUser(), material.adminPassword());
        scram.put(material.runtimeUser(), material.runtimePassword());
        Map<String, String> plain = Boolean.parseBoolean(value(properties, "cmm.kafka.security.plain.enabled", "false"))
                ? scram : Map.of();
        EmbeddedKafkaBroker.Oauth oauth = null;
        String issuer = value(properties, "cmm.security.oidc.issuer", "");
        if (!issuer.isEmpty()) {
            String jwks = value(properties, "cmm.security.oidc.jwks-uri", "");
            oauth = new EmbeddedKafkaBroker.Oauth(issuer, jwks.isEmpty() ? OidcDiscovery.jwksUri(issuer) : jwks,
                    value(properties, "cmm.security.oidc.audience", ""),
                    Integer.parseInt(value(properties, "cmm.security.oidc.clock-skew-seconds", "30")));
        }
        Map<String, String> authorizer = new HashMap<>();
        authorizer.put(RbacAuthorizer.RELOAD_INTERVAL_MS, value(properties, "cmm.kafka.security.role-bindings-reload-ms", "2000"));
        authorizer.put(RbacAuthorizer.AUDIT_ALLOWED, value(properties, "cmm.kafka.security.audit.allowed", "first"));
        authorizer.put(RbacAuthorizer.PATIENT_TOPICS, value(properties,
                "cmm.kafka.security.audit.patient-topic-prefixes", RbacAuthorizer.DEFAULT_PATIENT_TOPICS));
        authorizer.put(CmmKafkaPrincipalBuilder.GROUPS_CLAIM, value(properties, "cmm.kafka.security.oauth.groups-claim", "groups"));
        authorizer.put(CmmKafkaPrincipalBuilder.ROLES_CLAIM, value(properties, "cmm.kafka.security.oauth.roles-claim",
                "realm_access.roles"));

        // the runtime's own clients: the service principal over SASL_SSL, through the Kafka component's settings
        properties.addOverrideProperty("camel.component.kafka.security-protocol", "SASL_SSL");
        properties.addOverrideProperty("camel.component.kafka.sasl-mechanism", "SCRAM-SHA-512");
        properties.addOverrideProperty("camel.component.kafka.sasl-jaas-config",
                "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"" + material.runtimeUser()
                        + "\" password=\"" + material.runtimePassword() + "\";");
        properties.addOverrideProperty("camel.component.kafka.ssl-truststore-type", "PKCS12");
        properties.addOverrideProperty("camel.component.kafka.ssl-truststore-location", truststore.toAbsolutePath().toString());
        properties.addOverrideProperty("camel.component.kafka.ssl-truststore-password", truststorePassword);

        return new EmbeddedKafkaBroker.Security(
                Integer.parseInt(value(properties, "cmm.kafka.embedded.ssl-port", "9094")), keystore, keystorePassword,
                truststore, truststorePassword, SecurityMaterial.SERVER_COMMON_NAME,
                value(properties, "cmm.kafka.security.principal-mapping-rules",
                        EmbeddedKafkaBroker.Security.CN_MAPPING_RULES),
                scram, plain, oauth, bindings, List.of(material.adminUser()),
                Long.parseLong(value(properties, "cmm.kafka.security.reauth-ms", "3600000")), authorizer);
    }

    private static void writeInitialRoleBindings(Path file, String runtimeUser) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        String text = """
                # Kafka role bindings of the CMM Event Broker (docs/security.md). Changes take effect within seconds;
                # a file with an error is refused (line and reason in the log) and the last good set stays.
                #   bind <user:name | group:name | role:name> <role>[,<role>...]
                #   role <role> <Operation>[,<Operation>...] <topic:name | topic:prefix* | group:... | transactional-id:... | cluster>
                #   super user:<name>
                # Built-in roles: ehr-sender, clinical-reader, lab-system, pharmacy-system, device-gateway, auditor,
                # operator, integration-runtime.

                # the runtime's own clients
                bind user:%s integration-runtime

                # examples
                # bind user:lis.example.org lab-system          (a SCRAM user or a client certificate's CN)
                # bind group:/clinicians clinical-reader        (an OIDC groups claim value)
                # bind role:kafka-auditor auditor               (an OIDC roles claim value)
                """.formatted(runtimeUser);
        Files.writeString(file, text, StandardCharsets.UTF_8);
        try {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException e) {
            // not a POSIX file system
        }
        LOG.info("Wrote the initial Kafka role bindings to {}", file);
    }

    private static String value(PropertiesComponent properties, String key, String defaultValue) {
        String v = properties.resolveProperty(key).orElse("").trim();
        return v.isEmpty() ? defaultValue : v;
    }

    /** The embedded broker, or null when an external Kafka is used. */
    public EmbeddedKafkaBroker broker() {
        return broker;
    }

    /** Stops the broker if Camel never got far enough to stop it. */
    public void stopBroker() {
        if (broker != null) {
            broker.stop();
        }
    }

    private static final class BrokerService extends ServiceSupport {
        private final EmbeddedKafkaBroker broker;

        BrokerService(EmbeddedKafkaBroker broker) {
            this.broker = broker;
        }

        @Override
        protected void doStop() {
            broker.stop();
        }
    }
}
