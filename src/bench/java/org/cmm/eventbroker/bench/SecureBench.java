package org.cmm.eventbroker.bench;

import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;

import org.cmm.eventbroker.dev.EmbeddedKafkaBroker;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.cmm.eventbroker.platform.security.generation.SecurityMaterial;
import org.cmm.eventbroker.platform.security.kafka.RbacAuthorizer;

/**
 * The secured side of {@link IngestBenchmark} (systems raw-secure and runtime-secure, issue 12): a second broker in the
 * harness JVM, as the unsecured one, in the production posture of the runtime's embedded broker (a SASL_SSL listener
 * with SCRAM-SHA-512, an SSL listener requiring client certificates, the RBAC authorizer with its audit), with material
 * generated as on the runtime's first start. The runtime under test and the raw baseline log in as the runtime's
 * service principal (cmm-runtime, role integration-runtime), so both pass the same authentication and authorization;
 * the MLLP load generator speaks TLS with a client certificate of the same CA.
 */
final class SecureBench implements AutoCloseable {

    private static final String RUNTIME_BINDINGS = """
            # IngestBenchmark: the runtime's own binding, as written on the runtime's first start
            bind user:%s integration-runtime
            """;

    final SecurityMaterial material;
    final EmbeddedKafkaBroker broker;
    private final SSLSocketFactory mllpTls;

    private SecureBench(SecurityMaterial material, EmbeddedKafkaBroker broker, SSLSocketFactory mllpTls) {
        this.material = material;
        this.broker = broker;
        this.mllpTls = mllpTls;
    }

    static SecureBench start(Path securityDir, Path dataDir) throws Exception {
        SecurityMaterial material = SecurityMaterial.ensure(securityDir, List.of("127.0.0.1"));
        Path bindings = securityDir.resolve("kafka-role-bindings.conf");
        Files.writeString(bindings, RUNTIME_BINDINGS.formatted(material.runtimeUser()), StandardCharsets.UTF_8);
        Map<String, String> scram = new LinkedHashMap<>();
        scram.put(material.adminUser(), material.adminPassword());
        scram.put(material.runtimeUser(), material.runtimePassword());
        Map<String, String> authorizer = new LinkedHashMap<>();
        authorizer.put(RbacAuthorizer.RELOAD_INTERVAL_MS, "2000");
        authorizer.put(RbacAuthorizer.AUDIT_ALLOWED, "first");
        // the benchmark's topics count as patient topics, as hl7.* do in production
        authorizer.put(RbacAuthorizer.PATIENT_TOPICS, RbacAuthorizer.DEFAULT_PATIENT_TOPICS + ",raws.,rts.");
        EmbeddedKafkaBroker.Security security = new EmbeddedKafkaBroker.Security(freePort(), material.keystore(),
                material.keystorePassword(), material.truststore(), material.truststorePassword(),
                SecurityMaterial.SERVER_COMMON_NAME, EmbeddedKafkaBroker.Security.CN_MAPPING_RULES, scram, Map.of(), null,
                bindings, List.of(material.adminUser()), 3_600_000L, authorizer);
        EmbeddedKafkaBroker broker = new EmbeddedKafkaBroker("127.0.0.1", freePort(), freePort(), dataDir,
                Map.of("num.partitions", "4"), security);
        broker.start();

        char[] senderPassword = SecurityMaterial.newPassword().toCharArray();
        Path sender = material.issueClientCertificate("ingest-benchmark-sender", securityDir.resolve("sender.p12"),
                new String(senderPassword));
        KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        keys.init(load(sender, senderPassword), senderPassword);
        TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trust.init(load(material.truststore(), material.truststorePassword().toCharArray()));
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(keys.getKeyManagers(), trust.getTrustManagers(), null);
        return new SecureBench(material, broker, tls.getSocketFactory());
    }

    String bootstrapServers() {
        return broker.bootstrapServers();
    }

    /** Kafka client settings (security.protocol, sasl.*, ssl.*) of a SCRAM user over SASL_SSL. */
    Properties clientSecurity(boolean admin) {
        Properties p = new Properties();
        p.put("security.protocol", "SASL_SSL");
        p.put("sasl.mechanism", "SCRAM-SHA-512");
        p.put("sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required username=\""
                + (admin ? material.adminUser() : material.runtimeUser()) + "\" password=\""
                + (admin ? material.adminPassword() : material.runtimePassword()) + "\";");
        p.put("ssl.truststore.type", "PKCS12");
        p.put("ssl.truststore.location", material.truststore().toAbsolutePath().toString());
        p.put("ssl.truststore.password", material.truststorePassword());
        return p;
    }

    /** Clients of the super user, for the verification reads. */
    KafkaClients adminClients() {
        Properties p = clientSecurity(true);
        p.put("bootstrap.servers", bootstrapServers());
        return KafkaClients.of(p);
    }

    /**
     * The runtime in the production posture against this broker: the switch, the generated material's folder (its
     * MLLP listener serves TLS with the server certificate and needs client certificates of this CA), and the Kafka
     * component's client settings for an external cluster, as docs/security.md tells integrators to set them. The
     * benchmark's throw-away password is on the child's command line; never do that with real credentials.
     */
    List<String> runtimeProperties() {
        List<String> props = new ArrayList<>();
        props.add("-Dcmm.security.enabled=true");
        props.add("-Dcmm.security.dir=" + material.dir().toAbsolutePath());
        props.add("-Dcamel.component.kafka.security-protocol=SASL_SSL");
        props.add("-Dcamel.component.kafka.sasl-mechanism=SCRAM-SHA-512");
        props.add("-Dcamel.component.kafka.sasl-jaas-config=" + clientSecurity(false).getProperty("sasl.jaas.config"));
        props.add("-Dcamel.component.kafka.ssl-truststore-type=PKCS12");
        props.add("-Dcamel.component.kafka.ssl-truststore-location=" + material.truststore().toAbsolutePath());
        props.add("-Dcamel.component.kafka.ssl-truststore-password=" + material.truststorePassword());
        return props;
    }

    /** The MLLP load generator's TLS: a client certificate of the runtime's CA, the CA trusted. */
    SSLSocketFactory mllpTls() {
        return mllpTls;
    }

    @Override
    public void close() {
        broker.close();
    }

    private static KeyStore load(Path pkcs12, char[] password) throws Exception {
        KeyStore store = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(pkcs12)) {
            store.load(in, password);
        }
        return store;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
