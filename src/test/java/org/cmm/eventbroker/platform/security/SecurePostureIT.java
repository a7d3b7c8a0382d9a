package org.cmm.eventbroker.platform.security;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.cmm.eventbroker.platform.mllp.MllpClient;
import org.cmm.eventbroker.platform.security.generation.SecurityMaterial;
import org.cmm.eventbroker.runtime.EventBrokerRuntime;
import org.cmm.eventbroker.testsupport.FreePorts;
import org.cmm.eventbroker.testsupport.Hl7Samples;
import org.cmm.eventbroker.testsupport.LogCapture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The whole runtime started the way production starts it, with the one switch {@code cmm.security.enabled=true} and
 * nothing else configured: the TLS material and credentials are generated owner-only on first start, and then every
 * way in authenticates its callers with that material: MLLP only over TLS with a client certificate the local CA
 * issued, HTTP only over HTTPS with a bearer token, Kafka only over SASL_SSL / mTLS, management beyond the probes
 * only with credentials. The runtime itself publishes through the secure Kafka listener as its service principal.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SecurePostureIT {

    private Path dir;

    private final int mllpPort = FreePorts.next();
    private final int httpPort = FreePorts.next();
    private final int managementPort = FreePorts.next();
    private final int kafkaPort = FreePorts.next();
    private EventBrokerRuntime runtime;
    private SecurityMaterial material;
    private LogCapture logs;

    @BeforeAll
    void startSecured() throws Exception {
        dir = Files.createTempDirectory("cmm-secure-posture");
        logs = LogCapture.attach();
        Map<String, String> o = new HashMap<>();
        o.put("cmm.security.enabled", "true");
        o.put("cmm.security.dir", dir.resolve("security").toString());
        o.put("cmm.kafka.bootstrap-servers", "");
        o.put("cmm.kafka.embedded.port", String.valueOf(kafkaPort));
        o.put("cmm.kafka.embedded.ssl-port", String.valueOf(FreePorts.next()));
        o.put("cmm.kafka.embedded.controller-port", String.valueOf(FreePorts.next()));
        o.put("cmm.kafka.embedded.data-dir", dir.resolve("kafka").toString());
        o.put("cmm.analytics.state-dir", dir.resolve("analytics").toString());
        o.put("camel.main.jmx-enabled", "false");
        o.put("cmm.mllp.port", String.valueOf(mllpPort));
        o.put("camel.server.port", String.valueOf(httpPort));
        o.put("camel.management.port", String.valueOf(managementPort));
        for (String key : List.of("cmm.lab.results.port", "cmm.pharmacy.dispensing.port", "cmm.device.alerts.pcd.port",
                "cmm.device.pcd.port", "cmm.lab.lis.port", "cmm.pharmacy.system.port", "cmm.ehr.mllp.port",
                "cmm.fhir.subscription.websocket.port")) {
            o.put(key, String.valueOf(FreePorts.next()));
        }
        runtime = new EventBrokerRuntime(o).start();
        material = SecurityMaterial.ensure(dir.resolve("security"), List.of());
    }

    @AfterAll
    void stop() throws Exception {
        try {
            if (runtime != null) {
                runtime.close();
            }
        } finally {
            logs.close();
            org.cmm.eventbroker.dev.EmbeddedKafkaBroker.deleteDataDir(dir);
        }
    }

    @Test
    void firstStartGeneratedTheMaterialOwnerOnly() throws IOException {
        assertFalse(material.generated(), "the runtime generated it; the test only reads it");
        Path security = dir.resolve("security");
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(security)));
        for (String name : List.of(SecurityMaterial.CA_KEYSTORE, SecurityMaterial.SERVER_KEYSTORE,
                SecurityMaterial.TRUSTSTORE, SecurityMaterial.CREDENTIALS)) {
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(security.resolve(name))),
                    name);
        }
    }

    @Test
    void anMllpSenderWithACertificateOfTheLocalCaIsAcceptedAndPublishedOverSecureKafka() throws Exception {
        Path clientKeystore = material.issueClientCertificate("ehr.example.org", dir.resolve("sender.p12"), "changeit");
        SSLContext tls = sslContext(clientKeystore, "changeit");
        String controlId = "SEC" + System.nanoTime();
        try (SSLSocket socket = (SSLSocket) tls.getSocketFactory().createSocket("127.0.0.1", mllpPort)) {
            socket.startHandshake();
            try (MllpClient client = new MllpClient(socket, 15000)) {
                client.send(Hl7Samples.load("adt-a01.hl7", controlId).getBytes(StandardCharsets.ISO_8859_1));
                String ack = new String(client.readFrame(), StandardCharsets.ISO_8859_1);
                assertTrue(ack.contains("MSA|AA|" + controlId), ack);
            }
        }
        Properties settings = adminClientSettings();
        settings.put("auto.offset.reset", "earliest");
        settings.put("group.id", "secure-posture-check");
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(settings, new StringDeserializer(),
                new ByteArrayDeserializer())) {
            consumer.subscribe(List.of("hl7.adt.a01"));
            List<String> seen = new ArrayList<>();
            await("the admit on hl7.adt.a01, read over SASL_SSL").atMost(Duration.ofSeconds(30)).until(() -> {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(300))) {
                    seen.add(new String(r.value(), StandardCharsets.ISO_8859_1));
                }
                return seen.stream().anyMatch(v -> v.contains(controlId));
            });
        }
    }

    @Test
    void anMllpSenderWithoutAClientCertificateOrWithoutTlsGetsNoAck() throws Exception {
        SSLContext noCertificate = sslContext(null, null);
        assertThrows(IOException.class, () -> {
            try (SSLSocket socket = (SSLSocket) noCertificate.getSocketFactory().createSocket("127.0.0.1", mllpPort)) {
                socket.startHandshake();
                try (MllpClient client = new MllpClient(socket, 5000)) {
                    client.send(Hl7Samples.load("adt-a01.hl7", "NOCERT1").getBytes(StandardCharsets.ISO_8859_1));
                    client.readFrame();
                }
            }
        });
        try (MllpClient plain = new MllpClient("127.0.0.1", mllpPort, 5000)) {
            plain.send(Hl7Samples.load("adt-a01.hl7", "PLAIN1").getBytes(StandardCharsets.ISO_8859_1));
            // the listener answers the non-TLS bytes with at most a TLS alert and closes: never an MLLP frame
            assertThrows(IOException.class, plain::readFrame, "a plain-TCP sender is disconnected without an ACK");
        }
    }

    @Test
    void httpIntakesAnswerOnlyOverHttpsAndOnlyWithAToken() throws Exception {
        HttpClient https = HttpClient.newBuilder().sslContext(sslContext(null, null))
                .connectTimeout(Duration.ofSeconds(5)).build();
        HttpResponse<String> refused = https.send(HttpRequest.newBuilder(
                        URI.create("https://localhost:" + httpPort + "/ehr/epic/patient/updated"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"resourceType\":\"Patient\",\"id\":\"p1\"}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(401, refused.statusCode());
        assertTrue(refused.headers().firstValue("WWW-Authenticate").orElse("").startsWith("Bearer"));

        HttpClient plain = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        assertThrows(IOException.class, () -> plain.send(HttpRequest.newBuilder(
                URI.create("http://localhost:" + httpPort + "/ehr/epic/patient/updated"))
                .POST(HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString()));

        // management: the probes stay open for the orchestrator, Jolokia needs credentials
        assertEquals(200, https.send(HttpRequest.newBuilder(URI.create("https://localhost:" + managementPort
                + "/observe/health/live")).build(), HttpResponse.BodyHandlers.ofString()).statusCode());
        assertEquals(401, https.send(HttpRequest.newBuilder(URI.create("https://localhost:" + managementPort
                + "/observe/jolokia")).POST(HttpRequest.BodyPublishers.ofString("{\"type\":\"exec\",\"mbean\":"
                + "\"org.apache.camel:context=cmm-event-broker,type=routes,name=\\\"hl7-mllp-inbound\\\"\","
                + "\"operation\":\"stop()\"}")).build(), HttpResponse.BodyHandlers.ofString()).statusCode());
    }

    @Test
    void kafkaHasNoPlaintextListenerAndTheSecretsStayOutOfTheLogs() {
        Properties plaintext = new Properties();
        plaintext.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:" + kafkaPort);
        plaintext.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "3000");
        plaintext.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "5000");
        try (Admin admin = Admin.create(plaintext)) {
            assertThrows(Exception.class, () -> admin.listTopics().names().get());
        }
        List<String> secrets = List.of(material.adminPassword(), material.runtimePassword(),
                material.keystorePassword(), material.truststorePassword(), "PRIVATE KEY");
        assertEquals(List.of(), logs.linesContaining(secrets));
    }

    private Properties adminClientSettings() {
        Properties p = new Properties();
        p.put("bootstrap.servers", runtime.bootstrapServers());
        p.put("security.protocol", "SASL_SSL");
        p.put("sasl.mechanism", "SCRAM-SHA-512");
        p.put("sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required username=\""
                + material.adminUser() + "\" password=\"" + material.adminPassword() + "\";");
        p.put("ssl.truststore.type", "PKCS12");
        p.put("ssl.truststore.location", material.truststore().toString());
        p.put("ssl.truststore.password", material.truststorePassword());
        return p;
    }

    /** Trusts the generated CA; presents the given client keystore when there is one. */
    private SSLContext sslContext(Path keystore, String password) throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(material.truststore())) {
            trust.load(in, material.truststorePassword().toCharArray());
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        KeyManagerFactory kmf = null;
        if (keystore != null) {
            KeyStore keys = KeyStore.getInstance("PKCS12");
            try (InputStream in = Files.newInputStream(keystore)) {
                keys.load(in, password.toCharArray());
            }
            kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(keys, password.toCharArray());
        }
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        return context;
    }
}
