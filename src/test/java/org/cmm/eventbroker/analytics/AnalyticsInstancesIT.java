package org.cmm.eventbroker.analytics;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.cmm.eventbroker.eventapi.LocalJwksIssuerStandIn;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.cmm.eventbroker.platform.security.audit.AuditEvent;
import org.cmm.eventbroker.platform.security.audit.AuditSink;
import org.cmm.eventbroker.platform.security.mllp.TestPki;
import org.cmm.eventbroker.testsupport.LogCapture;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Two runtime instances of one analytics application id on one broker (4 partitions per topic), in the secured
 * posture: HTTPS with the shared key and truststore ({@code camel.ssl.enabled}, {@code cmm.security.tls.*}), access
 * control with bearer tokens from a local OIDC issuer STAND-IN (as AnalyticsDashboardAccessIT), and client
 * certificates asked for, the runtimes' own certificate subject holding {@code analytics-reader}. The wards are split
 * between the instances (each holds only its partitions, with a standby of the other's), yet either answers
 * /analytics/bed-occupancy for every ward and /analytics/bed-occupancy/{ward} for any ward, asking the instance that
 * holds it (application.server, queryMetadataForKey / streamsMetadataForStore) over HTTPS with the caller's token, so
 * the owner checks and audits the same caller. Without a token 401 and with a token lacking the role 403, at both
 * instances; the dashboard's own queries (no caller) are forwarded with the runtime's client certificate; no token in
 * any log line.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AnalyticsInstancesIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String RUNTIME_SUBJECT = "CN=cmm-analytics,O=CMM Tests";

    private LocalJwksIssuerStandIn issuer;
    private TestPki pki;
    private LogCapture logs;
    private RuntimeUnderTest first;
    private RuntimeUnderTest second;
    private final List<AuditEvent> firstAudit = new CopyOnWriteArrayList<>();
    private final List<AuditEvent> secondAudit = new CopyOnWriteArrayList<>();
    private HttpClient http;

    @BeforeAll
    void start() throws Exception {
        Path folder = Files.createTempDirectory("analytics-instances-it");
        issuer = new LocalJwksIssuerStandIn("cmm-event-broker");
        pki = TestPki.create(folder, "hospital");
        // one key for both instances: localhost (the default application.server) and 127.0.0.1 (the test's client)
        Path key = pki.issue("runtime", RUNTIME_SUBJECT, "dns:localhost,ip:127.0.0.1");
        http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).sslContext(pki.clientContext(null))
                .connectTimeout(Duration.ofSeconds(10)).build();
        logs = LogCapture.attach();
        first = RuntimeUnderTest.flows("analytics-queries").with(settings(folder.resolve("state-1"), key)).start();
        second = RuntimeUnderTest.flows("analytics-queries").broker(first.broker())
                .with(settings(folder.resolve("state-2"), key)).start();
        first.runtime().camelContext().getRegistry().bind(AuditSink.REGISTRY_NAME, AuditSink.class,
                (AuditSink) firstAudit::add);
        second.runtime().camelContext().getRegistry().bind(AuditSink.REGISTRY_NAME, AuditSink.class,
                (AuditSink) secondAudit::add);
    }

    private Map<String, String> settings(Path state, Path key) {
        Map<String, String> m = new HashMap<>();
        m.put("cmm.analytics.state-dir", state.toString());
        m.put("cmm.analytics.standby-replicas", "1");
        m.put("cmm.analytics.session-timeout-ms", "6000");
        m.put("cmm.access.enabled", "true");
        m.put("cmm.security.oidc.issuer", issuer.issuer());
        m.put("cmm.security.oidc.jwks-uri", issuer.jwksUri());
        m.put("cmm.security.oidc.audience", "cmm-event-broker");
        m.put("camel.ssl.enabled", "true");
        m.put("cmm.security.tls.keystore", key.toString());
        m.put("cmm.security.tls.keystore-password", TestPki.PASSWORD);
        m.put("cmm.security.tls.truststore", pki.truststore().toString());
        m.put("cmm.security.tls.truststore-password", TestPki.PASSWORD);
        m.put("cmm.access.client-certificates.enabled", "true");
        m.put("cmm.access.client-certificate.analytics-instances", RUNTIME_SUBJECT + " -> analytics-reader");
        return m;
    }

    @AfterAll
    void stop() throws Exception {
        if (second != null) {
            second.close();
        }
        if (first != null) {
            first.close();
        }
        if (logs != null) {
            logs.close();
        }
        if (issuer != null) {
            issuer.close();
        }
    }

    @Test
    void eitherInstanceAnswersForEveryWardOverHttpsWithTheCallersTokenCheckedAndAuditedByTheOwner() throws Exception {
        String reader = issuer.token("ward-manager", List.of(), List.of("analytics-reader"), 300);
        String other = issuer.token("someone-else", List.of(), List.of("clinician"), 300);
        Map<String, Integer> expected = new TreeMap<>();
        long now = System.currentTimeMillis() - 60_000L;
        try (KafkaProducer<String, byte[]> producer = KafkaClients.forBootstrap(first.bootstrapServers())
                .producer("analytics-instances-it", Map.of())) {
            for (int w = 1; w <= 12; w++) {
                String ward = "W" + w;
                for (int p = 1; p <= w; p++) {
                    String patient = ward + "-P" + p;
                    producer.send(new ProducerRecord<>("hl7.adt.a01", patient, AdtStream.er7("HOSP", patient,
                            patient + "-A01", "A01", now, now, "I", ward, p + "-A", "", "", "")
                            .getBytes(StandardCharsets.ISO_8859_1))).get();
                }
                expected.put(ward, w);
            }
        }

        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
            for (RuntimeUnderTest env : new RuntimeUnderTest[] {first, second}) {
                assertEquals(expected, census(env, "/analytics/bed-occupancy", reader), "every ward from either instance");
            }
        });
        // the work is split: each instance holds some of the wards, none holds a ward twice
        Map<String, Integer> own1 = census(first, "/analytics/bed-occupancy?scope=local", reader);
        Map<String, Integer> own2 = census(second, "/analytics/bed-occupancy?scope=local", reader);
        assertFalse(own1.isEmpty(), "the first instance holds some wards");
        assertFalse(own2.isEmpty(), "the second instance holds some wards");
        Set<String> both = new HashSet<>(own1.keySet());
        both.retainAll(own2.keySet());
        assertTrue(both.isEmpty(), "no ward on both: " + both);
        // one ward from either instance, wherever it is held
        for (RuntimeUnderTest env : new RuntimeUnderTest[] {first, second}) {
            for (Map.Entry<String, Integer> ward : expected.entrySet()) {
                HttpResponse<String> one = get(env, "/analytics/bed-occupancy/" + ward.getKey(), reader);
                assertEquals(200, one.statusCode(), one.body());
                assertEquals(ward.getValue().intValue(), JSON.readTree(one.body()).path("occupied").asInt(),
                        ward.getKey());
            }
            assertEquals(0, JSON.readTree(get(env, "/analytics/bed-occupancy/NOWARD", reader).body())
                    .path("occupied").asInt());
        }

        // a ward the second instance holds, asked at the first: the second answers, having checked the same caller
        String held = own2.keySet().iterator().next();
        firstAudit.clear();
        secondAudit.clear();
        HttpResponse<String> forwarded = get(first, "/analytics/bed-occupancy/" + held, reader);
        assertEquals(200, forwarded.statusCode(), forwarded.body());
        assertEquals(own2.get(held).intValue(), JSON.readTree(forwarded.body()).path("occupied").asInt());
        assertTrue(granted(firstAudit, "ward-manager", "/analytics/bed-occupancy/" + held), firstAudit.toString());
        assertTrue(granted(secondAudit, "ward-manager", "/analytics/bed-occupancy/" + held),
                "the owner audited the caller, not the forwarding instance: " + secondAudit);

        // no token: 401; a token without analytics-reader: 403; at both instances, the refusals audited at each
        for (RuntimeUnderTest env : new RuntimeUnderTest[] {first, second}) {
            for (String path : List.of("/analytics/bed-occupancy", "/analytics/bed-occupancy/" + held,
                    "/analytics/bed-occupancy/" + own1.keySet().iterator().next())) {
                HttpResponse<String> none = get(env, path, null);
                assertEquals(401, none.statusCode(), path);
                assertTrue(none.headers().firstValue("WWW-Authenticate").orElse("").startsWith("Bearer realm="));
                assertEquals(403, get(env, path, other).statusCode(), path);
            }
        }
        for (List<AuditEvent> audit : List.of(firstAudit, secondAudit)) {
            assertTrue(audit.stream().anyMatch(e -> e.kind() == AuditEvent.Kind.AUTHORIZATION && !e.granted()
                    && "someone-else".equals(e.principal())), audit.toString());
            assertTrue(audit.stream().anyMatch(e -> e.kind() == AuditEvent.Kind.AUTHENTICATION && !e.granted()),
                    audit.toString());
        }

        // the dashboard's own queries (no caller's token): forwarded with the runtime's client certificate
        AnalyticsStreams analytics = first.runtime().camelContext().getRegistry()
                .lookupByNameAndType("analyticsStreams", AnalyticsStreams.class);
        Map<String, Integer> dashboard = new TreeMap<>();
        analytics.bedOccupancy().forEach(w -> dashboard.put(w.path("ward").asText(), w.path("occupied").asInt()));
        assertEquals(expected, dashboard);
        assertTrue(secondAudit.stream().anyMatch(e -> e.kind() == AuditEvent.Kind.AUTHENTICATION && e.granted()
                && "CERTIFICATE".equals(e.operation()) && RUNTIME_SUBJECT.equals(e.principal())), secondAudit.toString());

        for (String token : List.of(reader, other)) {
            assertTrue(logs.linesContaining(List.of(token, token.substring(token.lastIndexOf('.') + 1))).isEmpty(),
                    "no token (nor its signature) in any log line");
        }
    }

    private static boolean granted(List<AuditEvent> audit, String principal, String path) {
        return audit.stream().anyMatch(e -> e.kind() == AuditEvent.Kind.AUTHORIZATION && e.granted()
                && principal.equals(e.principal()) && path.equals(e.resourceName()));
    }

    private Map<String, Integer> census(RuntimeUnderTest env, String path, String token) throws Exception {
        HttpResponse<String> answer = get(env, path, token);
        assertEquals(200, answer.statusCode(), answer.body());
        Map<String, Integer> m = new TreeMap<>();
        for (JsonNode w : JSON.readTree(answer.body())) {
            m.put(w.path("ward").asText(), w.path("occupied").asInt());
        }
        return m;
    }

    private HttpResponse<String> get(RuntimeUnderTest env, String path, String token) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + env.httpPort() + path))
                .timeout(Duration.ofSeconds(30)).GET();
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }
}
