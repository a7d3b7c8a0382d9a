package org.cmm.eventbroker.platform.security.kafka;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.GroupAuthorizationException;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.cmm.eventbroker.platform.security.http.KeycloakIssuer;
import org.cmm.eventbroker.testsupport.LogCapture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Principal x operation matrix against a real broker in the production posture with real Kafka clients over
 * SCRAM-SHA-512, PLAIN, OAUTHBEARER (client-credentials tokens of a real Keycloak, {@link KeycloakIssuer}, checked
 * by Kafka's own {@code OAuthBearerValidatorCallbackHandler} against Keycloak's JWKS; groups and roles from the token
 * reach the authorizer on the principal) and mTLS: what a role allows works, what it does not fails with Kafka's authorization error, and each decision
 * leaves its record on the audit topics; role bindings and SCRAM users change while running; no secret reaches a
 * log line.
 */
class KafkaAccessMatrixIT {

    private static final String BINDINGS = """
            bind user:lis lab-system
            bind user:reader clinical-reader
            bind user:ehr ehr-sender
            bind user:device-gw-01 device-gateway
            bind group:/clinicians clinical-reader
            bind role:kafka-auditor auditor
            """;
    private static final String DASHBOARD_SECRET = KeycloakIssuer.clientSecret("clinical-dashboard");
    private static final String AUDITOR_SECRET = KeycloakIssuer.clientSecret("audit-viewer");

    @TempDir
    static Path dir;

    static LogCapture logs;
    static SecureBroker secure;
    static KeycloakIssuer issuer;

    @BeforeAll
    static void start() throws Exception {
        logs = LogCapture.attach();
        issuer = KeycloakIssuer.shared();
        secure = new SecureBroker(dir, BINDINGS, new org.cmm.eventbroker.dev.EmbeddedKafkaBroker.Oauth(issuer.issuer(),
                OidcDiscovery.jwksUri(issuer.issuer()), KeycloakIssuer.AUDIENCE, 30));
        secure.createTopics("lab.results.oru", "hl7.adt.a01", "device.vitals");
    }

    @AfterAll
    static void stop() {
        if (secure != null) {
            secure.close();
        }
        if (logs != null) {
            logs.close();
        }
    }

    /** The principal Kafka makes of a Keycloak client's token: {@code User:<sub>}, the service account's id. */
    private static String oauthPrincipal(String clientId) throws Exception {
        return "User:" + CmmKafkaPrincipalBuilder.claims(issuer.clientToken(clientId)).path("sub").asText();
    }

    @Test
    void keycloakTokenWithTheCliniciansGroupReadsResultsButCannotWrite() throws Exception {
        String dashboardPrincipal = oauthPrincipal("clinical-dashboard");
        produce(secure.scram("lis", secure.passwords.get("lis")), "lab.results.oru", "result-for-dashboard");
        Properties dashboard = secure.oauth(issuer.tokenEndpoint(), "clinical-dashboard", DASHBOARD_SECRET);
        List<String> values = consume(dashboard, "clinical-dashboard", "lab.results.oru", 1);
        assertTrue(values.contains("result-for-dashboard"), values.toString());
        Exception write = assertThrows(Exception.class, () -> produce(dashboard, "lab.results.oru", "forged"));
        assertAuthorizationError(write, AuthorizationException.class);

        JsonNode authenticated = secure.awaitAudit("authentication", e -> principal(e, dashboardPrincipal));
        assertEquals("OAUTHBEARER", authenticated.at("/data/methodName").asText());
        assertEquals("SUCCESS", authenticated.at("/data/result/status").asText());
        JsonNode allowed = secure.awaitAudit("authorization", e -> principal(e, dashboardPrincipal)
                && e.at("/data/authorizationInfo/resourceName").asText().equals("lab.results.oru")
                && e.at("/data/authorizationInfo/operation").asText().equals("Read"));
        assertTrue(allowed.at("/data/authorizationInfo/granted").asBoolean());
        // an idempotent producer is refused at InitProducerId: IdempotentWrite on the cluster (asked by Kafka without
        // logging a denial), then Write on any topic, the denial the client gets and the audit records
        JsonNode denied = secure.awaitAudit("authorization", e -> principal(e, dashboardPrincipal)
                && e.at("/data/authorizationInfo/operation").asText().equals("Write"));
        assertEquals("UNAUTHORIZED", denied.at("/data/result/status").asText());
        assertFalse(denied.at("/data/authorizationInfo/granted").asBoolean());
        assertFalse(denied.toString().contains("forged"), "no message content in the audit");
        secure.awaitAudit("data-access", e -> principal(e, dashboardPrincipal)
                && e.at("/data/authorizationInfo/resourceName").asText().equals("lab.results.oru"));
    }

    @Test
    void keycloakRealmRoleBindsTheAuditorWhoReadsAuditButNoPatientData() throws Exception {
        String auditorPrincipal = oauthPrincipal("audit-viewer");
        Properties auditor = secure.oauth(issuer.tokenEndpoint(), "audit-viewer", AUDITOR_SECRET);
        secure.awaitAudit("authentication", e -> true); // the audit topic exists and holds events
        assertFalse(consume(auditor, "auditor-console", "security.audit.authentication", 1).isEmpty());
        Exception read = assertThrows(Exception.class, () -> consume(auditor, "auditor-console", "lab.results.oru", 1));
        assertAuthorizationError(read, TopicAuthorizationException.class);
        secure.awaitAudit("authorization", e -> principal(e, auditorPrincipal)
                && e.at("/data/authorizationInfo/resourceName").asText().equals("lab.results.oru")
                && !e.at("/data/authorizationInfo/granted").asBoolean());
    }

    @Test
    void keycloakTokenWithoutABoundRoleAuthenticatesButIsDeniedEverything() throws Exception {
        String nobody = oauthPrincipal("kafka-no-role");
        Properties client = secure.oauth(issuer.tokenEndpoint(), "kafka-no-role",
                KeycloakIssuer.clientSecret("kafka-no-role"));
        Exception write = assertThrows(Exception.class, () -> produce(client, "lab.results.oru", "no-role"));
        assertAuthorizationError(write, AuthorizationException.class);
        secure.awaitAudit("authentication", e -> principal(e, nobody)
                && e.at("/data/result/status").asText().equals("SUCCESS"));
        secure.awaitAudit("authorization", e -> principal(e, nobody)
                && !e.at("/data/authorizationInfo/granted").asBoolean());
    }

    @Test
    void keycloakTokenForAnotherAudienceUnsignedTokensAndWrongSecretsAreRefusedAndAudited() throws Exception {
        // a valid Keycloak token without the broker's audience (no audience mapper): Kafka's validator refuses it
        String noAudience = oauthPrincipal("no-audience");
        Exception otherAudience = assertThrows(Exception.class, () -> produce(secure.oauth(issuer.tokenEndpoint(),
                "no-audience", KeycloakIssuer.clientSecret("no-audience")), "hl7.adt.a01", "x"));
        assertAuthenticationError(otherAudience);
        JsonNode audience = secure.awaitAudit("authentication", e -> principal(e, noAudience));
        assertEquals("UNAUTHENTICATED", audience.at("/data/result/status").asText());

        Exception unsigned = assertThrows(Exception.class,
                () -> produce(secure.unsignedToken("mallory"), "lab.results.oru", "x"));
        assertAuthenticationError(unsigned);
        JsonNode refused = secure.awaitAudit("authentication", e -> principal(e, "User:mallory"));
        assertEquals("OAUTHBEARER", refused.at("/data/methodName").asText());
        assertEquals("UNAUTHENTICATED", refused.at("/data/result/status").asText());
        // Keycloak refuses the client itself: no token, so no connection
        assertThrows(Exception.class, () -> produce(
                secure.oauth(issuer.tokenEndpoint(), "clinical-dashboard", "wrong-secret"), "lab.results.oru", "x"));
    }

    @Test
    void roleBindingsAndScramUsersChangedWhileRunningTakeEffectWithinSecondsAndABadFileKeepsTheLastGoodSet()
            throws Exception {
        String password = org.cmm.eventbroker.platform.security.generation.SecurityMaterial.newPassword();
        secure.broker.upsertScramUser("lab2", password);
        Properties lab2 = secure.scram("lab2", password);
        await().atMost(Duration.ofSeconds(15)).ignoreExceptionsMatching(e -> !(e instanceof AssertionError))
                .until(() -> {
                    try {
                        produce(lab2, "lab.results.oru", "before-binding");
                        return false;
                    } catch (Exception e) {
                        assertAuthorizationError(e, AuthorizationException.class);
                        return true;
                    }
                });

        java.nio.file.Files.writeString(secure.roleBindings, BINDINGS + "bind user:lab2 lab-system\n");
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(250)).until(() -> {
            try {
                produce(lab2, "lab.results.oru", "after-binding");
                return true;
            } catch (Exception e) {
                return false;
            }
        });

        java.nio.file.Files.writeString(secure.roleBindings, BINDINGS + "bind user:lab2 lab-system\nbind user:x nope\n");
        await().atMost(Duration.ofSeconds(10)).until(() -> logs.lines().stream()
                .anyMatch(l -> l.contains("line 8: unknown role 'nope'") && l.contains("keeping the last good set")));
        produce(lab2, "lab.results.oru", "last-good-set-kept");
        java.nio.file.Files.writeString(secure.roleBindings, BINDINGS + "bind user:lab2 lab-system\n");
    }

    @Test
    void scramLabSystemWritesResultsAndIsDeniedAdtWithAuditRecords() throws Exception {
        Properties lis = secure.scram("lis", secure.passwords.get("lis"));
        produce(lis, "lab.results.oru", "result-1");
        Exception denied = assertThrows(Exception.class, () -> produce(lis, "hl7.adt.a01", "adt-1"));
        assertAuthorizationError(denied, TopicAuthorizationException.class);

        JsonNode authenticated = secure.awaitAudit("authentication",
                e -> e.at("/data/authenticationInfo/principal").asText().equals("User:lis"));
        assertEquals("SCRAM-SHA-512", authenticated.at("/data/methodName").asText());
        assertEquals("SUCCESS", authenticated.at("/data/result/status").asText());
        assertEquals("127.0.0.1", authenticated.at("/data/clientAddress/0/ip").asText());

        JsonNode allowed = secure.awaitAudit("authorization", e -> principal(e, "User:lis")
                && e.at("/data/authorizationInfo/resourceName").asText().equals("lab.results.oru")
                && e.at("/data/authorizationInfo/operation").asText().equals("Write"));
        assertTrue(allowed.at("/data/authorizationInfo/granted").asBoolean());
        assertEquals("Topic", allowed.at("/data/authorizationInfo/resourceType").asText());
        assertEquals("LITERAL", allowed.at("/data/authorizationInfo/patternType").asText());
        assertFalse(allowed.at("/data/request/clientId").asText().isEmpty());

        JsonNode refused = secure.awaitAudit("authorization", e -> principal(e, "User:lis")
                && e.at("/data/authorizationInfo/resourceName").asText().equals("hl7.adt.a01"));
        assertFalse(refused.at("/data/authorizationInfo/granted").asBoolean());
        assertEquals("UNAUTHORIZED", refused.at("/data/result/status").asText());
        assertFalse(refused.toString().contains("adt-1"), "no message content in the audit");
    }

    @Test
    void scramClinicalReaderReadsResultsInItsOwnGroupsOnlyAndTheReadIsAuditedAsDataAccess() throws Exception {
        produce(secure.scram("lis", secure.passwords.get("lis")), "lab.results.oru", "result-for-reader");
        Properties reader = secure.scram("reader", secure.passwords.get("reader"));
        List<String> values = consume(reader, "clinical-results-viewer", "lab.results.oru", 1);
        assertTrue(values.contains("result-for-reader"), values.toString());

        Exception wrongGroup = assertThrows(Exception.class, () -> consume(reader, "other-app", "lab.results.oru", 1));
        assertAuthorizationError(wrongGroup, GroupAuthorizationException.class);
        Exception write = assertThrows(Exception.class, () -> produce(reader, "lab.results.oru", "forged"));
        assertAuthorizationError(write, AuthorizationException.class);

        JsonNode access = secure.awaitAudit("data-access", e -> principal(e, "User:reader")
                && e.at("/data/authorizationInfo/resourceName").asText().equals("lab.results.oru"));
        assertEquals("Read", access.at("/data/authorizationInfo/operation").asText());
        // per partition, from the broker's replica selector: which partition, and the log end offset at the first read
        assertEquals(0, access.at("/data/dataAccess/partition").asInt(-1), access.toString());
        assertTrue(access.at("/data/dataAccess/logEndOffsetAtFirstRead").asLong(-1) >= 1, access.toString());
        assertFalse(access.at("/data/request/clientId").asText().isEmpty(), access.toString());
        assertFalse(access.toString().contains("result-for-reader"), "no record content in the audit");
        secure.awaitAudit("authorization", e -> principal(e, "User:reader")
                && e.at("/data/authorizationInfo/resourceType").asText().equals("Group")
                && e.at("/data/authorizationInfo/resourceName").asText().equals("other-app")
                && !e.at("/data/authorizationInfo/granted").asBoolean());
    }

    @Test
    void plainEhrSenderWritesHl7() throws Exception {
        produce(secure.plain("ehr", secure.passwords.get("ehr")), "hl7.adt.a01", "adt-from-ehr");
        JsonNode authenticated = secure.awaitAudit("authentication", e -> principal(e, "User:ehr"));
        assertEquals("PLAIN", authenticated.at("/data/methodName").asText());
    }

    @Test
    void mtlsDeviceGatewayIsItsCertificatesCommonNameAndWritesReadingsOnly() throws Exception {
        produce(secure.mtls(), "device.vitals", "reading-1");
        Exception read = assertThrows(Exception.class, () -> consume(secure.mtls(), "device-gateway-1", "hl7.adt.a01", 1));
        assertAuthorizationError(read, TopicAuthorizationException.class);
        JsonNode authenticated = secure.awaitAudit("authentication", e -> principal(e, "User:device-gw-01"));
        assertEquals("SSL", authenticated.at("/data/methodName").asText());
        secure.awaitAudit("authorization", e -> principal(e, "User:device-gw-01")
                && e.at("/data/authorizationInfo/resourceName").asText().equals("hl7.adt.a01")
                && !e.at("/data/authorizationInfo/granted").asBoolean());
    }

    @Test
    void unknownUsersAndWrongPasswordsFailAndAreAudited() {
        Exception unknown = assertThrows(Exception.class,
                () -> produce(secure.scram("nobody", "whatever-1"), "lab.results.oru", "x"));
        assertAuthenticationError(unknown);
        String wrongPassword = "wrong-" + secure.passwords.get("lis");
        Exception wrong = assertThrows(Exception.class,
                () -> produce(secure.scram("lis", wrongPassword), "lab.results.oru", "x"));
        assertAuthenticationError(wrong);
        Exception wrongPlain = assertThrows(Exception.class,
                () -> produce(secure.plain("ehr", "wrong-plain-password"), "hl7.adt.a01", "x"));
        assertAuthenticationError(wrongPlain);

        secure.awaitAudit("authentication", e -> principal(e, "User:nobody")
                && e.at("/data/result/status").asText().equals("UNAUTHENTICATED"));
        secure.awaitAudit("authentication", e -> principal(e, "User:lis")
                && e.at("/data/result/status").asText().equals("UNAUTHENTICATED")
                && e.at("/data/methodName").asText().equals("SCRAM-SHA-512"));
        JsonNode plain = secure.awaitAudit("authentication", e -> principal(e, "User:ehr")
                && e.at("/data/result/status").asText().equals("UNAUTHENTICATED"));
        assertFalse(plain.toString().contains("wrong-plain-password"));
        for (JsonNode event : secure.auditEvents()) {
            assertFalse(event.toString().contains(wrongPassword), "no password in the audit");
        }
    }

    private static boolean failedTlsHandshake(JsonNode e, String reasonPart) {
        return e.at("/data/methodName").asText().equals("SSL")
                && e.at("/data/result/status").asText().equals("UNAUTHENTICATED")
                && e.toString().toLowerCase(java.util.Locale.ROOT).contains(reasonPart);
    }

    @Test
    void aTlsClientWithoutCertificateAndGarbageOnTheTlsPortsAreRefusedAuditedAndTheBrokerKeepsWorking()
            throws Exception {
        Properties noCertificate = secure.mtls();
        noCertificate.remove("ssl.keystore.type");
        noCertificate.remove("ssl.keystore.location");
        noCertificate.remove("ssl.keystore.password");
        Exception refused = assertThrows(Exception.class, () -> produce(noCertificate, "device.vitals", "no-cert"));
        assertTrue(hasCause(refused, org.apache.kafka.common.errors.SslAuthenticationException.class), refused.toString());
        JsonNode noCert = secure.awaitAudit("authentication", e -> failedTlsHandshake(e, "certificate"));
        assertEquals("127.0.0.1", noCert.at("/data/clientAddress/0/ip").asText());

        // bytes that are no TLS record, on the mTLS port and on the SASL_SSL port: the connection is closed
        for (String bootstrap : List.of(secure.broker.sslBootstrapServers(), secure.broker.bootstrapServers())) {
            String[] hostPort = bootstrap.split(",")[0].split(":");
            try (java.net.Socket socket = new java.net.Socket(hostPort[0], Integer.parseInt(hostPort[1]))) {
                socket.setSoTimeout(15_000);
                socket.getOutputStream().write("GET / HTTP/1.1\r\nHost: kafka\r\n\r\n\u0000\u00ff garbage"
                        .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
                socket.getOutputStream().flush();
                byte[] answer = socket.getInputStream().readNBytes(4096);
                assertFalse(new String(answer, java.nio.charset.StandardCharsets.ISO_8859_1).contains("HTTP/"),
                        "no answer but TLS alerts");
            }
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> secure.auditEvents().stream()
                .filter(e -> failedTlsHandshake(e, "tls handshake failed")).count() >= 3);

        produce(secure.mtls(), "device.vitals", "after-garbage");
        produce(secure.scram("lis", secure.passwords.get("lis")), "lab.results.oru", "after-garbage");
    }

    private static boolean hasCause(Throwable thrown, Class<? extends Throwable> type) {
        for (Throwable t = thrown; t != null; t = t.getCause()) {
            if (type.isInstance(t)) {
                return true;
            }
        }
        return false;
    }

    @Test
    void onlyAnOperatorOrAdminCreatesTopics() throws Exception {
        try (Admin admin = Admin.create(secure.scram("reader", secure.passwords.get("reader")))) {
            Exception e = assertThrows(Exception.class,
                    () -> admin.createTopics(List.of(new NewTopic("lab.results.new", 1, (short) 1))).all().get());
            assertAuthorizationError(e, TopicAuthorizationException.class);
        }
        secure.createTopics("lab.results.by-admin");
    }

    @Test
    void noSecretReachesALogLine() throws Exception {
        // make sure every kind of connection happened at least once before looking
        produce(secure.scram("lis", secure.passwords.get("lis")), "lab.results.oru", "log-check");
        produce(secure.plain("ehr", secure.passwords.get("ehr")), "hl7.adt.a01", "log-check");
        produce(secure.mtls(), "device.vitals", "log-check");
        List<String> secrets = new ArrayList<>(secure.passwords.values());
        secrets.add(secure.material.keystorePassword());
        secrets.add(secure.material.truststorePassword());
        secrets.add(secure.deviceKeystorePassword);
        secrets.add(DASHBOARD_SECRET);
        secrets.add(AUDITOR_SECRET);
        secrets.add("PRIVATE KEY");
        assertFalse(logs.lines().isEmpty());
        assertEquals(List.of(), logs.linesContaining(secrets));
    }

    @Test
    void kcatOverSaslSslAndMtlsWorksAsTheDocumentationSays() throws Exception {
        Path kcat = Path.of("/usr/bin/kcat");
        assertTrue(java.nio.file.Files.isExecutable(kcat), "kcat is needed for this test: apt-get install kcat");
        // docs/security.md: a client properties file (owner-only) instead of passwords on the command line
        Path scram = kcatConfig("lis.properties", "security.protocol=SASL_SSL\nsasl.mechanisms=SCRAM-SHA-512\n"
                + "sasl.username=lis\nsasl.password=" + secure.passwords.get("lis") + "\n"
                + "ssl.ca.location=" + secure.material.caPem() + "\n");
        Kcat produced = kcat(scram, "kcat-result-1\n", "-b", secure.broker.bootstrapServers(), "-P", "-t", "lab.results.oru");
        assertEquals(0, produced.exit(), produced.stderr());
        Kcat denied = kcat(scram, "kcat-adt\n", "-b", secure.broker.bootstrapServers(), "-P", "-t", "hl7.adt.a01");
        assertTrue(denied.exit() != 0 || denied.stderr().contains("authorization failed"), denied.stderr());
        assertTrue(denied.stderr().toLowerCase(java.util.Locale.ROOT).contains("authorization failed"), denied.stderr());

        Path reader = kcatConfig("reader.properties", "security.protocol=SASL_SSL\nsasl.mechanisms=SCRAM-SHA-512\n"
                + "sasl.username=reader\nsasl.password=" + secure.passwords.get("reader") + "\n"
                + "ssl.ca.location=" + secure.material.caPem() + "\n");
        Kcat consumed = kcat(reader, "", "-b", secure.broker.bootstrapServers(), "-C", "-t", "lab.results.oru",
                "-o", "beginning", "-e", "-q");
        assertEquals(0, consumed.exit(), consumed.stderr());
        assertTrue(consumed.stdout().contains("kcat-result-1"), consumed.stdout());

        Path device = kcatConfig("device.properties", "security.protocol=SSL\nssl.keystore.location="
                + secure.deviceKeystore + "\nssl.keystore.password=" + secure.deviceKeystorePassword + "\n"
                + "ssl.ca.location=" + secure.material.caPem() + "\n");
        Kcat mtls = kcat(device, "kcat-reading-1\n", "-b", secure.broker.sslBootstrapServers(), "-P", "-t", "device.vitals");
        assertEquals(0, mtls.exit(), mtls.stderr());
        assertTrue(consume(secure.scram(secure.material.adminUser(), secure.material.adminPassword()),
                "admin-check", "device.vitals", 1).contains("kcat-reading-1"));
        secure.awaitAudit("authorization", e -> principal(e, "User:lis")
                && e.at("/data/authorizationInfo/resourceName").asText().equals("hl7.adt.a01")
                && e.at("/data/request/clientId").asText().equals("rdkafka"));
    }

    private record Kcat(int exit, String stdout, String stderr) {
    }

    private static Path kcatConfig(String name, String text) throws Exception {
        Path file = dir.resolve(name);
        java.nio.file.Files.writeString(file, text);
        java.nio.file.Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        return file;
    }

    private static Kcat kcat(Path config, String stdin, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("/usr/bin/kcat", "-F", config.toString()));
        command.addAll(List.of(args));
        Path out = dir.resolve("kcat.out");
        Path err = dir.resolve("kcat.err");
        Process process = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        try (var in = process.getOutputStream()) {
            in.write(stdin.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        if (!process.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("kcat did not finish within 60 s: " + java.nio.file.Files.readString(err));
        }
        return new Kcat(process.exitValue(), java.nio.file.Files.readString(out), java.nio.file.Files.readString(err));
    }

    private static boolean principal(JsonNode event, String principal) {
        return event.at("/data/authenticationInfo/principal").asText().equals(principal);
    }

    static void produce(Properties client, String topic, String value) throws Exception {
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(client, new StringSerializer(),
                new StringSerializer())) {
            producer.send(new ProducerRecord<>(topic, "k", value)).get();
        }
    }

    static List<String> consume(Properties client, String group, String topic, int atLeast) {
        Properties p = new Properties();
        p.putAll(client);
        p.put("group.id", group);
        p.put("auto.offset.reset", "earliest");
        List<String> values = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p, new StringDeserializer(),
                new StringDeserializer())) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (values.size() < atLeast && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                    values.add(r.value());
                }
            }
        }
        return values;
    }

    static void assertAuthorizationError(Throwable thrown, Class<? extends AuthorizationException> expected) {
        for (Throwable t = thrown; t != null; t = t.getCause()) {
            if (expected.isInstance(t)) {
                return;
            }
        }
        throw new AssertionError("expected " + expected.getSimpleName() + " but got " + thrown, thrown);
    }

    static void assertAuthenticationError(Throwable thrown) {
        for (Throwable t = thrown; t != null; t = t.getCause()) {
            if (t instanceof SaslAuthenticationException) {
                return;
            }
        }
        assertInstanceOf(SaslAuthenticationException.class, thrown);
    }
}
