package org.cmm.eventbroker.platform.security.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import javax.net.ssl.SSLContext;

import org.cmm.eventbroker.platform.security.audit.AuditEvent;
import org.cmm.eventbroker.platform.security.audit.AuditSink;
import org.cmm.eventbroker.platform.security.mllp.TestPki;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Client certificates instead of bearer tokens on the HTTP intakes (mTLS on the platform HTTP server): the EHR webhook
 * flow with access control on, HTTPS asking for client certificates ({@code cmm.access.client-certificates.enabled})
 * and one certificate subject mapped to {@code ehr-publisher}. A certificate with the role gets 202 and the event is
 * published; no certificate and no token 401; a trusted certificate without the role 403; a certificate of another CA
 * never gets past the handshake; nothing refused is published, and each decision is audited under the subject.
 */
class HttpClientCertificateIT {

    private static final String TOPIC = "ehr.epic.patient.updated";
    private static final RecordingAuditSink AUDIT = new RecordingAuditSink();

    private static TestPki pki;
    private static TestPki stranger;
    private static RuntimeUnderTest env;

    @BeforeAll
    static void start() throws Exception {
        Path dir = Files.createTempDirectory("cmm-http-mtls");
        pki = TestPki.create(dir, "hospital");
        stranger = TestPki.create(dir, "elsewhere");
        Path server = pki.issue("server", "CN=127.0.0.1,O=CMM Tests", "ip:127.0.0.1,dns:localhost");
        env = RuntimeUnderTest.flows("ehr-api-events").with(Map.of(
                "cmm.access.enabled", "true",
                "camel.ssl.enabled", "true",
                "cmm.security.tls.keystore", server.toString(),
                "cmm.security.tls.keystore-password", TestPki.PASSWORD,
                "cmm.security.tls.truststore", pki.truststore().toString(),
                "cmm.security.tls.truststore-password", TestPki.PASSWORD,
                ClientCertificateRequests.ENABLED, "true",
                ClientCertificateRoles.PREFIX + "epic", "CN=ehr-gateway, O=CMM Tests -> ehr-publisher")).start();
        env.runtime().camelContext().getRegistry().bind(AuditSink.REGISTRY_NAME, AuditSink.class, AUDIT);
    }

    @AfterAll
    static void stop() throws Exception {
        if (env != null) {
            env.close();
        }
    }

    private static HttpResponse<String> post(SSLContext tls, String marker) throws Exception {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).sslContext(tls)
                .connectTimeout(Duration.ofSeconds(10)).build();
        return client.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + env.httpPort()
                        + "/ehr/epic/Patient/updated")).timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"resourceType\":\"Patient\",\"id\":\"" + marker + "\"}",
                        StandardCharsets.UTF_8)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static boolean published(String marker) {
        return env.topics().readAll(TOPIC).stream()
                .anyMatch(r -> new String(r.value(), StandardCharsets.UTF_8).contains(marker));
    }

    @Test
    void aCertificateWithTheRoleIsAcceptedAndPublishedOthersAreRefusedAndNothingOfThemIsPublished() throws Exception {
        HttpResponse<String> none = post(pki.clientContext(null), "MTLS-NONE");
        assertEquals(401, none.statusCode(), none.body());
        assertTrue(none.headers().firstValue("WWW-Authenticate").orElse("").startsWith("Bearer realm="));

        HttpResponse<String> noRole = post(pki.clientContext(pki.issue("visitor", "CN=visitor,O=CMM Tests", null)),
                "MTLS-NOROLE");
        assertEquals(403, noRole.statusCode(), noRole.body());

        assertThrows(java.io.IOException.class, () -> post(stranger.clientContext(
                stranger.issue("ehr-gateway-forged", "CN=ehr-gateway,O=CMM Tests", null)), "MTLS-FORGED"),
                "a certificate of another CA with the right subject never gets past the handshake");

        HttpResponse<String> allowed = post(pki.clientContext(pki.issue("ehr-gateway", "CN=ehr-gateway,O=CMM Tests",
                null)), "MTLS-OK");
        assertEquals(202, allowed.statusCode(), allowed.body());
        env.topics().awaitRecords(TOPIC, r -> new String(r.value(), StandardCharsets.UTF_8).contains("MTLS-OK"), 1);

        assertFalse(published("MTLS-NONE"));
        assertFalse(published("MTLS-NOROLE"));
        assertFalse(published("MTLS-FORGED"));
        assertTrue(AUDIT.events().stream().anyMatch(e -> e.kind() == AuditEvent.Kind.AUTHENTICATION && e.granted()
                && "CERTIFICATE".equals(e.operation()) && "CN=ehr-gateway,O=CMM Tests".equals(e.principal())),
                AUDIT.events().toString());
        assertTrue(AUDIT.events().stream().anyMatch(e -> e.kind() == AuditEvent.Kind.AUTHORIZATION && !e.granted()
                && "CN=visitor,O=CMM Tests".equals(e.principal())), AUDIT.events().toString());
        assertTrue(AUDIT.events().stream().anyMatch(e -> e.kind() == AuditEvent.Kind.AUTHORIZATION && e.granted()
                && "CN=ehr-gateway,O=CMM Tests".equals(e.principal())
                && "/ehr/epic/Patient/updated".equals(e.resourceName())), AUDIT.events().toString());
    }
}
