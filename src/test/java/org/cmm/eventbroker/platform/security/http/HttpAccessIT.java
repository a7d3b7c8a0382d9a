package org.cmm.eventbroker.platform.security.http;

import static org.awaitility.Awaitility.await;
import static org.cmm.eventbroker.testsupport.KafkaTopicReader.header;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.cmm.eventbroker.platform.security.audit.AuditEvent;
import org.cmm.eventbroker.dev.HawtioServer;
import org.cmm.eventbroker.platform.security.audit.AuditSink;
import org.cmm.eventbroker.testsupport.FreePorts;
import org.cmm.eventbroker.testsupport.LogCapture;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Access control of every HTTP way in against a real OIDC issuer (Keycloak, {@link KeycloakIssuer}) and the whole
 * runtime on a real Kafka broker, with {@code cmm.access.enabled=true} (the posture switch cmm.security.enabled stays
 * off: NetworkExposureCheck still refuses it until every part of the secure posture is merged). What was refused is
 * proven absent from the topics with a real Kafka consumer; audit events are read from a recording sink bound where
 * (K)'s Kafka audit writer will be.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class HttpAccessIT {

    private static HttpClient http;
    private static TestCertificates certificates;

    private static KeycloakIssuer keycloak;
    private static RuntimeUnderTest env;
    private static LogCapture logs;
    private static final RecordingAuditSink AUDIT = new RecordingAuditSink();
    /** Every token and secret the tests used: none may show up in a log line. */
    private static final List<String> SECRETS = new ArrayList<>();
    /** Markers of refused requests: none may reach a topic. */
    private static final List<String> REFUSED = new ArrayList<>();

    /** One intake: its path, a body carrying a marker, the topic and the client whose role it needs. */
    private record Intake(String path, String body, String topic, String client) {
    }

    @BeforeAll
    static void start() throws Exception {
        logs = LogCapture.attach();
        certificates = TestCertificates.create(java.nio.file.Files.createTempDirectory("cmm-https-test"));
        http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).sslContext(certificates.clientContext())
                .connectTimeout(Duration.ofSeconds(10)).build();
        keycloak = KeycloakIssuer.shared();
        env = new RuntimeUnderTest(Map.of(
                "cmm.access.enabled", "true",
                "cmm.security.oidc.issuer", keycloak.issuer(),
                "cmm.security.oidc.clock-skew-seconds", "1",
                "cmm.access.websocket.max-bindings-per-connection", "3",
                "camel.ssl.enabled", "true",
                "cmm.security.tls.keystore", certificates.keystore().toString(),
                "cmm.security.tls.keystore-password", TestCertificates.PASSWORD));
        env.runtime().camelContext().getRegistry().bind(AuditSink.REGISTRY_NAME, AuditSink.class, AUDIT);
        SECRETS.addAll(List.of("ehr-gateway-test-secret", "nurse-test-password", "porter-test-password"));
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            if (env != null) {
                env.close();
            }
        } finally {
            logs.close();
        }
    }

    private static Intake ehr(String marker) {
        return new Intake("/ehr/epic/Patient/updated", "{\"resourceType\":\"Patient\",\"id\":\"" + marker + "\"}",
                "ehr.epic.patient.updated", "ehr-gateway");
    }

    private static Intake reading(String deviceId) {
        return new Intake("/devices/infusion-pump/" + deviceId + "/status", "{\"timestamp\":\"" + Instant.now()
                + "\",\"readings\":[{\"code\":\"MDC_FLOW_FLUID_PUMP\",\"value\":80,\"unit\":\"mL/h\"}]}",
                "device.infusion-pump.status", "device-gateway");
    }

    private static Intake alert(String alertId) {
        return new Intake("/device-alerts", "{\"alertId\":\"" + alertId + "\",\"deviceId\":\"VENT-SEC-1\","
                + "\"deviceType\":\"ventilator\",\"kind\":\"technical\",\"priority\":\"high\",\"code\":\"MDC_EVT_DISCONN\","
                + "\"text\":\"disconnected\",\"state\":\"active\",\"timestamp\":\"" + OffsetDateTime.now(ZoneOffset.UTC)
                + "\"}", "device.alerts.technical", "device-gateway");
    }

    private static Intake fhirChange(String id) {
        return new Intake("/fhir/changes", "{\"resourceType\":\"Patient\",\"id\":\"" + id
                + "\",\"meta\":{\"versionId\":\"1\"}}", "fhir.patient.created", "fhir-server");
    }

    private static Intake workflowCallback(String eventId) {
        return new Intake("/workflow/callbacks/admission", "{\"eventId\":\"" + eventId + "\",\"instanceId\":\"inst-"
                + eventId + "\",\"businessKey\":\"V900\",\"workflowType\":\"admission\",\"state\":\"waiting-for-bed\"}",
                "workflow.states.admission", "workflow-engine");
    }

    private static Intake acknowledgement(String alertId) {
        return new Intake("/device-alerts/" + alertId + "/ack", "{\"acknowledgedBy\":\"nurse.ada\",\"acknowledgedAt\":\""
                + OffsetDateTime.now(ZoneOffset.UTC) + "\"}", "device.alerts.acknowledgements", null);
    }

    private static List<Intake> intakes(String marker) {
        return List.of(ehr(marker + "-ehr"), reading(marker + "-dev"), alert(marker + "-alert"),
                fhirChange(marker + "-fhir"), workflowCallback(marker + "-wf"), acknowledgement(marker + "-ack"));
    }

    private static HttpResponse<String> post(Intake intake, String authorization) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + env.httpPort() + intake.path()))
                .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(intake.body(), StandardCharsets.UTF_8));
        if (authorization != null) {
            request.header("Authorization", authorization);
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String token(String client) throws Exception {
        String token = keycloak.clientToken(client);
        SECRETS.add(token);
        return token;
    }

    private static HttpResponse<String> management(String method, String path, String token, String body)
            throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + env.managementPort() + path))
                .timeout(Duration.ofSeconds(30));
        request.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            request.header("Content-Type", "application/json");
        }
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static boolean onTopic(String topic, String marker) {
        return env.topics().readAll(topic).stream().anyMatch(r -> new String(r.value(), StandardCharsets.UTF_8).contains(marker)
                || marker.equals(r.key()) || marker.equals(header(r, "ce_id")));
    }

    @Test
    @Order(1)
    void everyIntakeAnswersARequestWithoutTokenWith401AndABearerChallenge() throws Exception {
        for (Intake intake : intakes("NOTOKEN")) {
            HttpResponse<String> r = post(intake, null);
            assertEquals(401, r.statusCode(), intake.path());
            assertTrue(r.headers().firstValue("WWW-Authenticate").orElse("").startsWith("Bearer realm="), intake.path());
            REFUSED.add(intake.body());
        }
        assertTrue(AUDIT.events().stream().anyMatch(e -> e.kind() == AuditEvent.Kind.AUTHENTICATION && !e.granted()
                && "http".equals(e.source()) && "ANONYMOUS".equals(e.principal())), AUDIT.events().toString());
    }

    @Test
    @Order(2)
    void expiredWrongIssuerWrongAudienceBadSignatureUnsignedAndMalformedTokensAre401() throws Exception {
        String valid = token("ehr-gateway");
        SignedJWT signed = SignedJWT.parse(valid);
        JWTClaimsSet claims = signed.getJWTClaimsSet();

        // signed by a key the issuer does not have, under the issuer's key id
        SignedJWT forged = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(signed.getHeader().getKeyID())
                .build(), claims);
        forged.sign(new RSASSASigner(new RSAKeyGenerator(2048).generate()));
        String unsigned = new PlainJWT(claims).serialize();
        String otherIssuer = keycloak.clientTokenWithOtherIssuer("ehr-gateway");
        String noAudience = token("no-audience");
        String shortLived = token("short-lived");
        Instant expiry = SignedJWT.parse(shortLived).getJWTClaimsSet().getExpirationTime().toInstant();
        SECRETS.addAll(List.of(forged.serialize(), unsigned, otherIssuer));
        // the short-lived token is valid first ...
        assertEquals(202, post(ehr("SHORT-LIVED-OK"), "Bearer " + shortLived).statusCode());
        // ... and refused once expired beyond the 1 s clock skew
        await().atMost(Duration.ofSeconds(30)).until(() -> Instant.now().isAfter(expiry.plusSeconds(2)));

        Map<String, String> refused = Map.of(
                "expired", "Bearer " + shortLived,
                "bad-signature", "Bearer " + forged.serialize(),
                "alg-none", "Bearer " + unsigned,
                "wrong-issuer", "Bearer " + otherIssuer,
                "wrong-audience", "Bearer " + noAudience,
                "malformed", "Bearer not.a.jwt",
                "garbage", "Bearer \u00e9\u00e9\u00e9",
                "basic", "Basic ZWhyOnNlY3JldA==");
        for (Map.Entry<String, String> attempt : refused.entrySet()) {
            Intake intake = ehr("REFUSED-" + attempt.getKey());
            HttpResponse<String> r = post(intake, attempt.getValue());
            assertEquals(401, r.statusCode(), attempt.getKey());
            assertTrue(r.headers().firstValue("WWW-Authenticate").orElse("").startsWith("Bearer"), attempt.getKey());
            REFUSED.add(intake.body());
        }
        List<String> reasons = AUDIT.events().stream()
                .filter(e -> e.kind() == AuditEvent.Kind.AUTHENTICATION && !e.granted()).map(AuditEvent::reason).toList();
        assertTrue(reasons.stream().anyMatch(r -> r.contains("Expired")), reasons.toString());
        assertTrue(reasons.stream().anyMatch(r -> r.contains("iss")), reasons.toString());
        assertTrue(reasons.stream().anyMatch(r -> r.contains("aud")), reasons.toString());
        assertTrue(reasons.stream().anyMatch(r -> r.contains("plain") || r.contains("Unsecured")), reasons.toString());
    }

    @Test
    @Order(3)
    void aValidTokenWithoutTheIntakesRoleIs403() throws Exception {
        String wrong = token("monitoring");
        for (Intake intake : intakes("WRONGROLE")) {
            HttpResponse<String> r = post(intake, "Bearer " + wrong);
            assertEquals(403, r.statusCode(), intake.path());
            REFUSED.add(intake.body());
        }
        // a device gateway may post readings and alerts, but not acknowledge an alert
        Intake ack = acknowledgement("WRONGROLE-GW-ACK");
        assertEquals(403, post(ack, "Bearer " + token("device-gateway")).statusCode());
        assertTrue(AUDIT.events().stream().anyMatch(e -> e.kind() == AuditEvent.Kind.AUTHORIZATION && !e.granted()
                && "service-account-device-gateway".equals(e.principal())
                && "/device-alerts/WRONGROLE-GW-ACK/ack".equals(e.resourceName())), AUDIT.events().toString());
    }

    @Test
    @Order(4)
    void eachIntakeWithItsRolePublishesWithoutTheTokenInAnyHeader() throws Exception {
        Map<String, Intake> allowed = Map.of("ALLOWED-ehr", ehr("ALLOWED-ehr"), "ALLOWED-dev", reading("ALLOWED-dev"),
                "ALLOWED-alert", alert("ALLOWED-alert"), "ALLOWED-fhir", fhirChange("ALLOWED-fhir"),
                "ALLOWED-wf", workflowCallback("ALLOWED-wf"));
        for (Map.Entry<String, Intake> entry : allowed.entrySet()) {
            Intake intake = entry.getValue();
            String marker = entry.getKey();
            String token = token(intake.client());
            HttpResponse<String> r = post(intake, "Bearer " + token);
            assertTrue(r.statusCode() >= 200 && r.statusCode() < 300, intake.path() + " " + r.statusCode() + " " + r.body());
            List<ConsumerRecord<String, byte[]>> records = new ArrayList<>();
            await("published by " + intake.path()).atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500))
                    .until(() -> {
                        records.clear();
                        env.topics().readAll(intake.topic()).stream().filter(rec -> carries(rec, marker)).forEach(records::add);
                        return !records.isEmpty();
                    });
            for (ConsumerRecord<String, byte[]> record : records) {
                record.headers().forEach(h -> assertFalse(new String(h.value(), StandardCharsets.UTF_8)
                        .contains(token.substring(token.length() - 20)), intake.path() + " header " + h.key()));
                assertEquals(null, header(record, "Authorization"));
            }
        }
    }

    private static boolean carries(ConsumerRecord<String, byte[]> record, String marker) {
        String value = record.value() == null ? "" : new String(record.value(), StandardCharsets.UTF_8);
        return value.contains(marker) || marker.equals(record.key()) || marker.equals(header(record, "ce_id"));
    }

    @Test
    @Order(5)
    void acknowledgingAnAlertNeedsAClinicianAndTheAuditRecordNamesWho() throws Exception {
        String porter = keycloak.userToken("porter.bob", "porter-test-password");
        String nurse = keycloak.userToken("nurse.ada", "nurse-test-password");
        SECRETS.addAll(List.of(porter, nurse));

        Intake refused = acknowledgement("ACK-SEC-REFUSED");
        assertEquals(403, post(refused, "Bearer " + porter).statusCode());
        REFUSED.add("ACK-SEC-REFUSED");

        // the body claims someone else: the record names the verified caller, not the claim
        Intake ack = new Intake("/device-alerts/ACK-SEC-1/ack", "{\"acknowledgedBy\":\"dr.house\"}",
                "device.alerts.acknowledgements", null);
        HttpResponse<String> r = post(ack, "Bearer " + nurse);
        assertEquals(202, r.statusCode(), r.body());
        var records = env.topics().awaitRecords("device.alerts.acknowledgements", rec -> "ACK-SEC-1".equals(rec.key()), 1);
        String record = new String(records.get(0).value(), StandardCharsets.UTF_8);
        assertTrue(record.contains("\"acknowledgedBy\":\"nurse.ada\""), record);
        assertFalse(record.contains("dr.house"), record);

        AuditEvent granted = AUDIT.events().stream().filter(e -> e.kind() == AuditEvent.Kind.AUTHORIZATION
                && e.granted() && "/device-alerts/ACK-SEC-1/ack".equals(e.resourceName())).findFirst().orElseThrow();
        assertEquals("nurse.ada", granted.principal());
        assertEquals("POST", granted.operation());
        AuditEvent denied = AUDIT.events().stream().filter(e -> e.kind() == AuditEvent.Kind.AUTHORIZATION
                && !e.granted() && "/device-alerts/ACK-SEC-REFUSED/ack".equals(e.resourceName())).findFirst().orElseThrow();
        assertEquals("porter.bob", denied.principal());
    }

    @Test
    @Order(6)
    void hugeAndMalformedAuthorizationHeadersAreRefusedAndTheServerKeepsServing() throws Exception {
        // 20 KB of header: over Vert.x's 8 KB limit, refused by the HTTP server before any route or check runs. A raw
        // socket, as an attacker would send it; the answer is a 4xx status line or a closed connection, never a 2xx
        String status = rawRequestStatusLine("POST /ehr/epic/Patient/updated HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                + "Authorization: Bearer " + "A".repeat(20_000) + "\r\nContent-Type: application/json\r\n"
                + "Content-Length: 2\r\nConnection: close\r\n\r\n{}");
        assertTrue(status == null || status.matches("HTTP/1\\.1 4\\d\\d .*"), "got " + status);
        Intake longButUnderTheHeaderLimit = ehr("LONG-TOKEN");
        assertEquals(401, post(longButUnderTheHeaderLimit, "Bearer " + "eyJ".repeat(2000) + ".x.y").statusCode());
        REFUSED.add(longButUnderTheHeaderLimit.body());
        Intake empty = ehr("EMPTY-BEARER");
        assertEquals(401, post(empty, "Bearer ").statusCode());
        REFUSED.add(empty.body());
        Intake twoTokens = ehr("TWO-TOKENS");
        assertEquals(401, post(twoTokens, "Bearer a.b.c d.e.f").statusCode());
        REFUSED.add(twoTokens.body());

        assertEquals(202, post(ehr("AFTER-HUGE"), "Bearer " + token("ehr-gateway")).statusCode());
    }

    /** The status line of the answer to a raw HTTP/1.1 request, or null when the server closed without one. */
    private static String rawRequestStatusLine(String request) throws Exception {
        try (java.net.Socket socket = certificates.clientContext().getSocketFactory().createSocket("127.0.0.1",
                env.httpPort())) {
            socket.setSoTimeout(20_000);
            try {
                socket.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
                socket.getOutputStream().flush();
            } catch (java.io.IOException closedWhileWriting) {
                return null;
            }
            java.io.BufferedReader in = new java.io.BufferedReader(new java.io.InputStreamReader(
                    socket.getInputStream(), StandardCharsets.US_ASCII));
            try {
                return in.readLine();
            } catch (java.net.SocketException reset) {
                return null;
            }
        }
    }

    @Test
    @Order(7)
    void healthProbesStayOpenMetricsNeedMonitoringAndJolokiaExecNeedsAnOperator() throws Exception {
        assertEquals(200, management("GET", "/observe/health/live", null, null).statusCode());
        assertNotEquals(401, management("GET", "/observe/health/ready", null, null).statusCode());
        assertEquals(401, management("GET", "/observe/health", null, null).statusCode());
        assertEquals(401, management("GET", "/observe/metrics", null, null).statusCode());
        assertEquals(401, management("GET", "/observe/jolokia/version", null, null).statusCode());
        String exec = "{\"type\":\"exec\",\"mbean\":\"java.lang:type=Memory\",\"operation\":\"gc\"}";
        assertEquals(401, management("POST", "/observe/jolokia", null, exec).statusCode());

        String monitoring = token("monitoring");
        String operator = token("operator");
        String gateway = token("device-gateway");
        assertEquals(200, management("GET", "/observe/metrics", monitoring, null).statusCode());
        assertEquals(403, management("GET", "/observe/metrics", gateway, null).statusCode());
        assertEquals(200, management("GET", "/observe/jolokia/version", monitoring, null).statusCode());
        String read = "{\"type\":\"read\",\"mbean\":\"java.lang:type=Memory\",\"attribute\":\"HeapMemoryUsage\"}";
        assertEquals(200, management("POST", "/observe/jolokia", monitoring, read).statusCode());
        assertEquals(403, management("POST", "/observe/jolokia", monitoring, exec).statusCode());
        assertEquals(403, management("POST", "/observe/jolokia", monitoring, "[" + read + "," + exec + "]").statusCode());
        assertEquals(403, management("GET", "/observe/jolokia/exec/java.lang:type=Memory/gc", monitoring, null)
                .statusCode());
        assertEquals(403, management("POST", "/observe/jolokia", monitoring, "{not json").statusCode());
        // Hawtio's way of forwarding a token (Basic "token:<jwt>") is taken on management; a password never is
        String olgaPassword = java.util.Base64.getEncoder().encodeToString("ops.olga:ops-test-password".getBytes(StandardCharsets.UTF_8));
        assertEquals(401, http.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + env.managementPort()
                + "/observe/metrics")).header("Authorization", "Basic " + olgaPassword).build(),
                HttpResponse.BodyHandlers.ofString()).statusCode());
        String forwarded = java.util.Base64.getEncoder().encodeToString(("token:" + monitoring).getBytes(StandardCharsets.UTF_8));
        assertEquals(200, http.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + env.managementPort()
                + "/observe/metrics")).header("Authorization", "Basic " + forwarded).build(),
                HttpResponse.BodyHandlers.ofString()).statusCode());
        // the operator gets past the guard; what Jolokia then allows is jolokia-access.xml's business
        assertEquals(200, management("POST", "/observe/jolokia", operator, exec).statusCode());
        assertTrue(AUDIT.events().stream().anyMatch(e -> "management".equals(e.source()) && !e.granted()
                && "service-account-monitoring".equals(e.principal())), AUDIT.events().toString());
    }

    @Test
    @Order(8)
    void aWebsocketBindNeedsATokenAllowedToReadThatSubscription() throws Exception {
        LinkedBlockingQueue<String> answers = new LinkedBlockingQueue<>();
        java.net.http.WebSocket socket = http.newWebSocketBuilder().buildAsync(URI.create("wss://127.0.0.1:"
                + env.property("cmm.fhir.subscription.websocket.port") + "/fhir/subscriptions/websocket"),
                new java.net.http.WebSocket.Listener() {
                    @Override
                    public CompletionStage<?> onText(java.net.http.WebSocket ws, CharSequence data, boolean last) {
                        answers.add(data.toString());
                        ws.request(1);
                        return null;
                    }
                }).get(30, TimeUnit.SECONDS);
        try {
            socket.sendText("bind 1001", true).get(10, TimeUnit.SECONDS);
            assertTrue(answers.poll(20, TimeUnit.SECONDS).startsWith("error authentication required"));
            socket.sendText("bind 1001 not-a-token", true).get(10, TimeUnit.SECONDS);
            assertEquals("error invalid token", answers.poll(20, TimeUnit.SECONDS));
            socket.sendText("bind 1001 " + token("ehr-gateway"), true).get(10, TimeUnit.SECONDS);
            assertTrue(answers.poll(20, TimeUnit.SECONDS).startsWith("error forbidden"));
            String subscriber = token("subscriber");
            // the subscriber may read Subscriptions 1001-1004 (roles subscription-reader:<id>), not 2001
            socket.sendText("bind 2001 " + subscriber, true).get(10, TimeUnit.SECONDS);
            assertTrue(answers.poll(20, TimeUnit.SECONDS).startsWith("error forbidden"));
            socket.sendText("bind 1001 " + subscriber, true).get(10, TimeUnit.SECONDS);
            assertEquals("bound 1001", answers.poll(20, TimeUnit.SECONDS));
            // ids are often sequential: one connection binds to at most 3 here (the test's limit)
            socket.sendText("bind 1002 " + subscriber, true).get(10, TimeUnit.SECONDS);
            assertEquals("bound 1002", answers.poll(20, TimeUnit.SECONDS));
            socket.sendText("bind Subscription/1003 Bearer " + subscriber, true).get(10, TimeUnit.SECONDS);
            assertEquals("bound 1003", answers.poll(20, TimeUnit.SECONDS));
            socket.sendText("bind 1004 " + subscriber, true).get(10, TimeUnit.SECONDS);
            assertTrue(answers.poll(20, TimeUnit.SECONDS).startsWith("error too many bindings"));
        } finally {
            socket.abort();
        }
        assertTrue(AUDIT.events().stream().anyMatch(e -> "websocket".equals(e.source()) && e.granted()
                && "service-account-subscriber".equals(e.principal()) && "1001".equals(e.resourceName())));
        assertTrue(AUDIT.events().stream().anyMatch(e -> "websocket".equals(e.source()) && !e.granted()
                && "service-account-ehr-gateway".equals(e.principal())));
        assertTrue(AUDIT.events().stream().anyMatch(e -> "websocket".equals(e.source()) && !e.granted()
                && "service-account-subscriber".equals(e.principal()) && "2001".equals(e.resourceName())));
    }

    @Test
    @Order(1)
    void theIntakesAndManagementServeHttpsOnlyWithTheSharedServerKey() throws Exception {
        HttpClient plain = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10)).build();
        for (int port : new int[] {env.httpPort(), env.managementPort()}) {
            HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/observe/health/live"))
                    .timeout(Duration.ofSeconds(20)).build();
            // a clear-text request reaches no route: the TLS server answers it with a TLS alert or closes
            boolean refused;
            try {
                refused = plain.send(request, HttpResponse.BodyHandlers.ofString()).statusCode() == 400;
            } catch (java.io.IOException e) {
                refused = true;
            }
            assertTrue(refused, "port " + port + " served clear text");
        }
        assertEquals(200, management("GET", "/observe/health/live", null, null).statusCode());
    }

    @Test
    @Order(8)
    void hawtioLogsInAtTheSameIssuerAndOnlyMonitoringOrOperatorUsersReachJolokiaThroughIt() throws Exception {
        // Hawtio's proxy must accept the runtime's self-signed test certificate (a real site gives Hawtio its CA)
        System.setProperty("hawtio.proxyDisableCertificateValidation", "true");
        int port = FreePorts.next();
        try (HawtioServer hawtio = new HawtioServer("127.0.0.1", port, Path.of("target", "hawtio", "hawtio.war"), "https",
                "127.0.0.1", env.managementPort(), new HawtioServer.Login(keycloak.issuer(), "hawtio")).start()) {
            String base = "http://127.0.0.1:" + port + "/hawtio";
            HttpResponse<String> login = get(base + "/auth/config/", null);
            assertEquals(200, login.statusCode(), login.body());
            assertTrue(login.body().contains(keycloak.issuer()), "Hawtio's login is the issuer's: " + login.body());

            String jolokia = base + "/proxy/https/127.0.0.1/" + env.managementPort() + "/observe/jolokia/version";
            int anonymous = get(jolokia, null).statusCode();
            assertTrue(anonymous == 401 || anonymous == 403, "anonymous got " + anonymous);
            String nurse = keycloak.userToken("hawtio", "nurse.ada", "nurse-test-password");
            String operator = keycloak.userToken("hawtio", "ops.olga", "ops-test-password");
            SECRETS.addAll(List.of(nurse, operator, "ops-test-password"));
            int clinician = get(jolokia, nurse).statusCode();
            assertTrue(clinician == 401 || clinician == 403, "a clinician got " + clinician);
            HttpResponse<String> version = get(jolokia, operator);
            assertEquals(200, version.statusCode(), version.body());
            assertTrue(version.body().contains("\"agent\""), version.body());
        } finally {
            System.clearProperty("hawtio.proxyDisableCertificateValidation");
        }
        assertTrue(AUDIT.events().stream().anyMatch(e -> "management".equals(e.source()) && e.granted()
                && "ops.olga".equals(e.principal())), "the runtime's guard saw the operator's own token");
    }

    private static HttpResponse<String> get(String url, String token) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30));
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    @Order(9)
    void nothingRefusedWasPublished() throws Exception {
        // written after every refusal and on the topics now: anything refused would be there by now too
        assertEquals(202, post(ehr("LAST-MARKER"), "Bearer " + token("ehr-gateway")).statusCode());
        env.topics().awaitRecords("ehr.epic.patient.updated",
                rec -> new String(rec.value(), StandardCharsets.UTF_8).contains("LAST-MARKER"), 1);
        List<String> topics = List.of("ehr.epic.patient.updated", "device.infusion-pump.status", "device.alerts.technical",
                "fhir.patient.created", "workflow.states.admission", "device.alerts.acknowledgements", "ehr.dlq",
                "device.dlq", "fhir.dlq", "workflow.dlq");
        for (String topic : topics) {
            for (ConsumerRecord<String, byte[]> record : env.topics().readAll(topic)) {
                String value = record.value() == null ? "" : new String(record.value(), StandardCharsets.UTF_8);
                for (String refused : REFUSED) {
                    String marker = refused.replaceAll(".*?\"(?:id|alertId|eventId)\":\"([^\"]+)\".*", "$1");
                    assertFalse(value.contains(marker) || marker.equals(record.key()), topic + " holds refused " + marker);
                }
                assertFalse(value.contains("NOTOKEN") || value.contains("WRONGROLE") || value.contains("REFUSED-"),
                        topic + ": " + value);
            }
        }
        assertNotNull(REFUSED.get(0));
    }

    @Test
    @Order(10)
    void noTokenOrSecretInAnyLogLine() {
        List<String> leaking = logs.lines().stream()
                .filter(line -> SECRETS.stream().anyMatch(s -> line.contains(s) || (s.length() > 40
                        && line.contains(s.substring(s.length() - 40)))))
                .toList();
        assertTrue(leaking.isEmpty(), leaking.toString());
        assertFalse(logs.lines().isEmpty());
    }
}
