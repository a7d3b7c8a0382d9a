package org.cmm.eventbroker.platform.security.kafka;

import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.Predicate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.cmm.eventbroker.dev.EmbeddedKafkaBroker;
import org.cmm.eventbroker.platform.security.generation.SecurityMaterial;
import org.cmm.eventbroker.testsupport.FreePorts;

/**
 * A real embedded broker in the production posture for the tests of this package: material generated as on a first
 * start, SCRAM users at format, PLAIN users, the RBAC authorizer with a role-bindings file, and a reader of the audit
 * topics (as the broker itself, a super user).
 */
final class SecureBroker implements AutoCloseable {

    static final String SCRAM_USER = "lis";
    static final String READER_USER = "reader";
    static final String PLAIN_USER = "ehr";
    static final String DEVICE_CN = "device-gw-01";

    final Path dir;
    final SecurityMaterial material;
    final Path roleBindings;
    final Map<String, String> passwords;
    final Path deviceKeystore;
    final String deviceKeystorePassword = SecurityMaterial.newPassword();
    final EmbeddedKafkaBroker broker;
    private final List<JsonNode> audit = new ArrayList<>();
    private KafkaConsumer<String, String> auditReader;

    SecureBroker(Path dir, String bindings, EmbeddedKafkaBroker.Oauth oauth) throws Exception {
        this.dir = dir;
        this.material = SecurityMaterial.ensure(dir.resolve("security"), List.of());
        this.roleBindings = dir.resolve("role-bindings.conf");
        Files.writeString(roleBindings, bindings);
        this.passwords = Map.of(SCRAM_USER, SecurityMaterial.newPassword(), READER_USER, SecurityMaterial.newPassword(),
                PLAIN_USER, SecurityMaterial.newPassword(), material.adminUser(), material.adminPassword());
        this.deviceKeystore = material.issueClientCertificate(DEVICE_CN, dir.resolve("device.p12"), deviceKeystorePassword);
        EmbeddedKafkaBroker.Security security = new EmbeddedKafkaBroker.Security(FreePorts.next(), material.keystore(),
                material.keystorePassword(), material.truststore(), material.truststorePassword(),
                SecurityMaterial.SERVER_COMMON_NAME, EmbeddedKafkaBroker.Security.CN_MAPPING_RULES,
                Map.of(SCRAM_USER, passwords.get(SCRAM_USER), READER_USER, passwords.get(READER_USER),
                        material.adminUser(), material.adminPassword()),
                Map.of(PLAIN_USER, passwords.get(PLAIN_USER)), oauth, roleBindings, List.of(material.adminUser()),
                Duration.ofMinutes(10).toMillis(), Map.of(RbacAuthorizer.RELOAD_INTERVAL_MS, "500"));
        this.broker = new EmbeddedKafkaBroker("127.0.0.1", FreePorts.next(), FreePorts.next(), dir.resolve("kafka"),
                Map.of("auto.create.topics.enable", "false", "num.partitions", "1"), security);
        broker.start();
    }

    /** Creates topics as the admin (SCRAM, super user). */
    void createTopics(String... topics) throws Exception {
        try (Admin admin = Admin.create(scram(material.adminUser(), material.adminPassword()))) {
            admin.createTopics(java.util.Arrays.stream(topics).map(t -> new NewTopic(t, 1, (short) 1)).toList())
                    .all().get();
        }
    }

    Properties scram(String user, String password) {
        return sasl("SCRAM-SHA-512", "org.apache.kafka.common.security.scram.ScramLoginModule required username=\""
                + user + "\" password=\"" + password + "\";");
    }

    Properties plain(String user, String password) {
        return sasl("PLAIN", "org.apache.kafka.common.security.plain.PlainLoginModule required username=\""
                + user + "\" password=\"" + password + "\";");
    }

    /** A client getting its tokens from the issuer's token endpoint (client credentials), as from Keycloak. */
    Properties oauth(String tokenEndpoint, String clientId, String clientSecret) {
        String key = "org.apache.kafka.sasl.oauthbearer.allowed.urls";
        String allowed = System.getProperty(key, "");
        if (!allowed.contains(tokenEndpoint)) {
            System.setProperty(key, allowed.isEmpty() ? tokenEndpoint : allowed + "," + tokenEndpoint);
        }
        Properties p = sasl("OAUTHBEARER", "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule "
                + "required clientId=\"" + clientId + "\" clientSecret=\"" + clientSecret + "\";");
        p.put("sasl.login.callback.handler.class",
                "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler");
        p.put("sasl.oauthbearer.token.endpoint.url", tokenEndpoint);
        return p;
    }

    /** A client presenting an unsigned token (Kafka's unsecured login handler) claiming {@code subject}. */
    Properties unsignedToken(String subject) {
        return sasl("OAUTHBEARER", "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required "
                + "unsecuredLoginStringClaim_sub=\"" + subject + "\";");
    }

    Properties sasl(String mechanism, String jaas) {
        Properties p = trusting();
        p.put("bootstrap.servers", broker.bootstrapServers());
        p.put("security.protocol", "SASL_SSL");
        p.put("sasl.mechanism", mechanism);
        p.put("sasl.jaas.config", jaas);
        return p;
    }

    /** A client with the device gateway's certificate on the SSL listener. */
    Properties mtls() {
        Properties p = trusting();
        p.put("bootstrap.servers", broker.sslBootstrapServers());
        p.put("security.protocol", "SSL");
        p.put("ssl.keystore.type", "PKCS12");
        p.put("ssl.keystore.location", deviceKeystore.toString());
        p.put("ssl.keystore.password", deviceKeystorePassword);
        return p;
    }

    private Properties trusting() {
        Properties p = new Properties();
        p.put("ssl.truststore.type", "PKCS12");
        p.put("ssl.truststore.location", material.truststore().toString());
        p.put("ssl.truststore.password", material.truststorePassword());
        p.put("request.timeout.ms", "10000");
        p.put("default.api.timeout.ms", "15000");
        p.put("max.block.ms", "15000");
        p.put("reconnect.backoff.max.ms", "1000");
        return p;
    }

    /** Waits until an audit event matching arrives on {@code security.audit.<kind>} and returns it. */
    JsonNode awaitAudit(String kind, Predicate<JsonNode> matching) {
        String topic = "security.audit." + kind;
        JsonNode[] found = new JsonNode[1];
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).until(() -> {
            pollAudit();
            found[0] = audit.stream().filter(e -> e.path("type").asText().endsWith("/" + kind)).filter(matching)
                    .findFirst().orElse(null);
            return found[0] != null;
        });
        return found[0];
    }

    /** The audit events read so far (after a poll). */
    List<JsonNode> auditEvents() {
        pollAudit();
        return List.copyOf(audit);
    }

    private void pollAudit() {
        if (auditReader == null) {
            Properties p = broker.brokerClientProperties();
            p.put("client.id", "test-audit-reader");
            auditReader = new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer());
        }
        List<TopicPartition> partitions = new ArrayList<>();
        for (String kind : List.of("authentication", "authorization", "data-access")) {
            String topic = "security.audit." + kind;
            if (auditReader.partitionsFor(topic, Duration.ofSeconds(5)).isEmpty()) {
                continue;
            }
            auditReader.partitionsFor(topic).forEach(i -> partitions.add(new TopicPartition(topic, i.partition())));
        }
        if (!partitions.equals(new ArrayList<>(auditReader.assignment()))
                && !new java.util.HashSet<>(partitions).equals(auditReader.assignment())) {
            auditReader.assign(partitions);
            auditReader.seekToBeginning(partitions);
            audit.clear();
        }
        if (partitions.isEmpty()) {
            return;
        }
        ObjectMapper json = new ObjectMapper();
        for (ConsumerRecord<String, String> r : auditReader.poll(Duration.ofMillis(300))) {
            try {
                audit.add(json.readTree(r.value()));
            } catch (Exception e) {
                throw new AssertionError("audit record is not JSON: " + r.value(), e);
            }
        }
    }

    @Override
    public void close() {
        if (auditReader != null) {
            auditReader.close();
        }
        broker.close();
    }
}
