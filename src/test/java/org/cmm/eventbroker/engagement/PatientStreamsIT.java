package org.cmm.eventbroker.engagement;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.cmm.eventbroker.platform.security.audit.AuditEvent;
import org.cmm.eventbroker.platform.security.audit.AuditSink;
import org.cmm.eventbroker.platform.security.http.KeycloakIssuer;
import org.cmm.eventbroker.testsupport.HapiSender;
import org.cmm.eventbroker.testsupport.Hl7Samples;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.cmm.eventbroker.testsupport.SseEvents;
import org.cmm.eventbroker.testsupport.TestPeers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Real-time updates for patients and staff (issue 16, item 4) and device registration bound to the token's identity
 * (item 1), with access control on and real tokens from Keycloak (the test realm's {@code patient-app-1..8} clients
 * carry a {@code patient} claim, {@code patient-app-no-claim} has the patient role without one, {@code nurse.ben} is
 * staff). The patient portal topic has ONE partition here on purpose: a patient's last event then proves that every
 * record before it, of every patient, went through that patient's filter, so "never another patient's event" is
 * checked, not hoped. Browsers: Chromium's own EventSource with a single-use ticket; WebSocket: the JDK's client.
 */
class PatientStreamsIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String RESULTS = "patient.portal.results";
    private static final int PATIENTS = 8;
    private static final List<AuditEvent> AUDIT = new CopyOnWriteArrayList<>();

    private static KeycloakIssuer keycloak;
    private static RuntimeUnderTest env;
    private static HttpClient http;
    private static String base;
    private static KafkaProducer<String, byte[]> producer;

    @BeforeAll
    static void start() throws Exception {
        keycloak = KeycloakIssuer.shared();
        Path bindings = Files.createTempDirectory("patient-streams-bindings").resolve("kafka-role-bindings.conf");
        Files.writeString(bindings, "# no binding: patients and staff read only through the scoped streams\n");
        Map<String, String> p = new HashMap<>();
        p.put("cmm.access.enabled", "true");
        p.put("cmm.security.oidc.issuer", keycloak.issuer());
        p.put("cmm.security.oidc.clock-skew-seconds", "0");
        p.put("cmm.kafka.security.role-bindings", bindings.toString());
        p.put("cmm.engagement.devices.topic", "engagement.push.devices.streams-it");
        p.put("cmm.eventapi.stream.heartbeat-ms", "1000");
        p.put("cmm.engagement.streams.staff", "alerts = notifications.push.alert -> clinician,staff; "
                + "push-status = notifications.push.status -> operator");
        env = RuntimeUnderTest.flows("realtime-streams", "event-api", "push-device-registration", "lab-results-mllp-inbound",
                "patient-portal-results").with(p).start();
        env.runtime().camelContext().getRegistry().bind(AuditSink.REGISTRY_NAME, AuditSink.class, (AuditSink) AUDIT::add);
        try (Admin admin = KafkaClients.forBootstrap(env.bootstrapServers()).admin("patient-streams-it", Map.of())) {
            admin.createTopics(List.of(new NewTopic(RESULTS, 1, (short) 1),
                    new NewTopic("notifications.push.alert", 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
        }
        producer = KafkaClients.forBootstrap(env.bootstrapServers()).producer("patient-streams-it", Map.of());
        http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10))
                .build();
        base = "http://127.0.0.1:" + env.httpPort();
    }

    @AfterAll
    static void stop() throws Exception {
        if (producer != null) {
            producer.close(Duration.ofSeconds(5));
        }
        if (env != null) {
            env.close();
        }
    }

    // ---- item 1: registration bound to the token's identity ----

    @Test
    void aPatientRegistersDevicesOnlyForItsOwnPatientClaimAndStaffOnlyForThemselves() throws Exception {
        String patient1 = keycloak.clientToken("patient-app-1");
        String patient2 = keycloak.clientToken("patient-app-2");
        String noClaim = keycloak.clientToken("patient-app-no-claim");
        String nurse = keycloak.userToken("nurse.ben", "nurse-test-password");

        HttpResponse<String> own = register(patient1, apns("a1", "patientId", "MRN90001"));
        assertEquals(201, own.statusCode(), own.body());
        String deviceId = JSON.readTree(own.body()).path("id").asText();
        HttpResponse<String> other = register(patient1, apns("a2", "patientId", "MRN90002"));
        assertEquals(403, other.statusCode());
        assertEquals("patientId is not the patient of the token", JSON.readTree(other.body()).path("error").asText());
        assertEquals(403, register(patient1, apns("a3", "staffId", "nurse.ben")).statusCode(), "a patient as staff");
        HttpResponse<String> unclaimed = register(noClaim, apns("a4", "patientId", "MRN90001"));
        assertEquals(403, unclaimed.statusCode());
        assertTrue(JSON.readTree(unclaimed.body()).path("error").asText().contains("no patient claim"));
        assertEquals(201, register(nurse, apns("b1", "staffId", "nurse.ben")).statusCode(), "staff for themselves");
        assertEquals(403, register(nurse, apns("b2", "staffId", "nurse.ada")).statusCode(), "staff for another");
        assertEquals(403, register(nurse, apns("b3", "patientId", "MRN90001")).statusCode(), "staff for a patient");
        // removal: only the owner
        assertEquals(403, delete(patient2, deviceId).statusCode(), "another patient cannot remove the device");
        assertEquals(204, delete(patient1, deviceId).statusCode());
        assertEquals(401, register(null, apns("a5", "patientId", "MRN90001")).statusCode(), "no token");
        // every refusal audited with the caller's name and the reason
        await().atMost(Duration.ofSeconds(30)).until(() -> AUDIT.stream().filter(e -> !e.granted()
                && "RegisterPushDevice".equals(e.operation())).count() >= 5);
        assertTrue(AUDIT.stream().anyMatch(e -> !e.granted() && "RemovePushDevice".equals(e.operation())
                && "service-account-patient-app-2".equals(e.principal())));
        assertTrue(AUDIT.stream().noneMatch(e -> e.reason() != null && e.reason().contains("MRN9000")),
                "no patient id in an audit reason");
    }

    // ---- item 4: patient streams ----

    @Test
    void eachPatientsStreamCarriesOnlyTheirOwnUpdatesAmongManyInterleaved() throws Exception {
        List<BlockingQueue<String[]>> streams = new ArrayList<>();
        List<InputStream> bodies = new ArrayList<>();
        for (int i = 1; i <= PATIENTS; i++) {
            String token = keycloak.clientToken("patient-app-" + i);
            HttpRequest.Builder request;
            if (i % 2 == 0) {
                // browser style: a single-use ticket; and a patient= parameter that must change nothing
                request = HttpRequest.newBuilder(URI.create(base + "/patient/streams/results?ticket=" + ticket(token)
                        + "&patient=MRN90001&key=MRN90001"));
            } else {
                request = HttpRequest.newBuilder(URI.create(base + "/patient/streams/results"))
                        .header("Authorization", "Bearer " + token);
            }
            HttpResponse<InputStream> response = http.send(request.GET().build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            assertEquals(200, response.statusCode(), () -> body(response));
            BlockingQueue<String[]> events = new LinkedBlockingQueue<>();
            SseEvents.readInto(response.body(), events);
            streams.add(events);
            bodies.add(response.body());
        }
        // 5 rounds over the 8 patients, interleaved; then a last event per patient
        String run = "iso-" + System.nanoTime();
        for (int round = 1; round <= 5; round++) {
            for (int i = 1; i <= PATIENTS; i++) {
                send("MRN9000" + i, "{\"run\":\"" + run + "\",\"patient\":" + i + ",\"round\":" + round + "}");
            }
        }
        for (int i = 1; i <= PATIENTS; i++) {
            send("MRN9000" + i, "{\"run\":\"" + run + "\",\"patient\":" + i + ",\"round\":\"last\"}");
        }
        for (int i = 1; i <= PATIENTS; i++) {
            List<JsonNode> got = new ArrayList<>();
            while (got.isEmpty() || !"last".equals(got.get(got.size() - 1).path("value").path("data").path("round")
                    .asText())) {
                String[] e = streams.get(i - 1).poll(60, TimeUnit.SECONDS);
                assertNotNull(e, "patient " + i + " got its last event");
                JsonNode record = JSON.readTree(e[1]);
                if (run.equals(record.path("value").path("data").path("run").asText())) {
                    got.add(record);
                }
                assertEquals("MRN9000" + i, record.path("key").path("data").asText(),
                        "patient " + i + "'s stream carried another patient's event");
            }
            assertEquals(6, got.size(), "patient " + i + ": its 5 updates and the last, no more, no fewer");
            for (JsonNode r : got) {
                assertEquals(i, r.path("value").path("data").path("patient").asInt());
            }
        }
        for (InputStream b : bodies) {
            b.close();
        }
    }

    @Test
    void aPatientResumesAfterReconnectWithLastEventIdWithoutLossOrRepeat() throws Exception {
        String token = keycloak.clientToken("patient-app-3");
        String run = "resume-" + System.nanoTime();
        for (int n = 1; n <= 3; n++) {
            send("MRN90003", "{\"run\":\"" + run + "\",\"n\":" + n + "}");
            send("MRN90004", "{\"run\":\"" + run + "\",\"n\":" + n + "}");
        }
        HttpResponse<InputStream> first = http.send(HttpRequest.newBuilder(URI.create(base
                + "/patient/streams/results?from=earliest")).header("Authorization", "Bearer " + token).GET().build(),
                HttpResponse.BodyHandlers.ofInputStream());
        BlockingQueue<String[]> events = new LinkedBlockingQueue<>();
        SseEvents.readInto(first.body(), events);
        String lastId = null;
        for (int n = 1; n <= 2;) {
            String[] e = events.poll(60, TimeUnit.SECONDS);
            assertNotNull(e);
            JsonNode v = JSON.readTree(e[1]).path("value").path("data");
            if (run.equals(v.path("run").asText())) {
                assertEquals(n, v.path("n").asInt());
                lastId = e[0];
                n++;
            }
        }
        first.body().close(); // the app loses its connection after n=2
        for (int n = 4; n <= 5; n++) {
            send("MRN90003", "{\"run\":\"" + run + "\",\"n\":" + n + "}");
            send("MRN90004", "{\"run\":\"" + run + "\",\"n\":" + n + "}");
        }
        HttpResponse<InputStream> again = http.send(HttpRequest.newBuilder(URI.create(base
                + "/patient/streams/results")).header("Authorization", "Bearer " + token)
                .header("Last-Event-ID", lastId).GET().build(), HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, again.statusCode());
        BlockingQueue<String[]> resumed = new LinkedBlockingQueue<>();
        SseEvents.readInto(again.body(), resumed);
        List<Integer> after = new ArrayList<>();
        while (after.size() < 3) {
            String[] e = resumed.poll(60, TimeUnit.SECONDS);
            assertNotNull(e, "resumed events " + after);
            JsonNode r = JSON.readTree(e[1]);
            assertEquals("MRN90003", r.path("key").path("data").asText());
            if (run.equals(r.path("value").path("data").path("run").asText())) {
                after.add(r.path("value").path("data").path("n").asInt());
            }
        }
        assertEquals(List.of(3, 4, 5), after, "exactly the updates after the last event id, in order");
        again.body().close();
    }

    @Test
    void aWebSocketClientWithATicketGetsOnlyItsPatientsUpdatesAndResumes() throws Exception {
        String token = keycloak.clientToken("patient-app-5");
        String run = "ws-" + System.nanoTime();
        send("MRN90006", "{\"run\":\"" + run + "\",\"n\":0}");
        send("MRN90005", "{\"run\":\"" + run + "\",\"n\":1}");
        send("MRN90006", "{\"run\":\"" + run + "\",\"n\":0}");
        send("MRN90005", "{\"run\":\"" + run + "\",\"n\":2}");
        BlockingQueue<JsonNode> frames = new LinkedBlockingQueue<>();
        WebSocket ws = http.newWebSocketBuilder().buildAsync(URI.create("ws://127.0.0.1:" + env.httpPort()
                + "/ws/patient/streams/results?from=earliest&ticket=" + ticket(token)), collector(frames))
                .get(30, TimeUnit.SECONDS);
        List<JsonNode> mine = framesOfRun(frames, run, 2);
        assertEquals(List.of(1, 2), mine.stream().map(f -> f.path("value").path("data").path("n").asInt()).toList());
        ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(10, TimeUnit.SECONDS);
        send("MRN90006", "{\"run\":\"" + run + "\",\"n\":0}");
        send("MRN90005", "{\"run\":\"" + run + "\",\"n\":3}");
        BlockingQueue<JsonNode> more = new LinkedBlockingQueue<>();
        WebSocket again = http.newWebSocketBuilder().buildAsync(URI.create("ws://127.0.0.1:" + env.httpPort()
                + "/ws/patient/streams/results?ticket=" + ticket(token) + "&last_event_id="
                + java.net.URLEncoder.encode(mine.get(1).path("id").asText(), StandardCharsets.UTF_8)),
                collector(more)).get(30, TimeUnit.SECONDS);
        assertEquals(3, framesOfRun(more, run, 1).get(0).path("value").path("data").path("n").asInt());
        again.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(10, TimeUnit.SECONDS);
    }

    @Test
    void chromiumsOwnEventSourceShowsOnlyThePatientsUpdatesAndResumesAfterAnEventId() throws Exception {
        String chromium = TestPeers.require("chromium").toString();
        String token = keycloak.clientToken("patient-app-7");
        String run = "browser-" + System.nanoTime();
        // where the browser starts: the id of a marker event, as a Java client of the same stream saw it
        HttpResponse<InputStream> marker = http.send(HttpRequest.newBuilder(URI.create(base
                + "/patient/streams/results")).header("Authorization", "Bearer " + token).GET().build(),
                HttpResponse.BodyHandlers.ofInputStream());
        BlockingQueue<String[]> seen = new LinkedBlockingQueue<>();
        SseEvents.readInto(marker.body(), seen);
        send("MRN90007", "{\"run\":\"" + run + "\",\"n\":0}");
        String[] start = seen.poll(60, TimeUnit.SECONDS);
        assertNotNull(start, "the marker event");
        marker.body().close();
        for (int n = 1; n <= 3; n++) {
            send("MRN90008", "{\"run\":\"" + run + "\",\"n\":" + n + "}");
            send("MRN90007", "{\"run\":\"" + run + "\",\"n\":" + n + "}");
        }
        Path profile = Files.createTempDirectory("chromium-patient");
        String dom = chromium(chromium, profile.resolve("a"), base + "/patient/live?type=results&max=3&ticket="
                + ticket(token) + "&last_event_id=" + java.net.URLEncoder.encode(start[0], StandardCharsets.UTF_8));
        List<String[]> shown = domEvents(dom);
        assertEquals(3, shown.size(), dom);
        assertTrue(shown.stream().allMatch(e -> "MRN90007".equals(e[1])), dom);
        // a new page (new ticket) resumes after the first event's id: the two after it
        String resumed = chromium(chromium, profile.resolve("b"), base + "/patient/live?type=results&max=2&ticket="
                + ticket(token) + "&last_event_id=" + java.net.URLEncoder.encode(shown.get(0)[0],
                        StandardCharsets.UTF_8));
        List<String[]> after = domEvents(resumed);
        assertEquals(List.of(shown.get(1)[2], shown.get(2)[2]), after.stream().map(e -> e[2]).toList(), resumed);
        assertTrue(after.stream().allMatch(e -> "MRN90007".equals(e[1])));
    }

    @Test
    void aLabResultAcknowledgedOverMllpReachesOnlyItsPatientsStream() throws Exception {
        String token = keycloak.clientToken("patient-app-1");
        HttpResponse<InputStream> stream = http.send(HttpRequest.newBuilder(URI.create(base
                + "/patient/streams/results")).header("Authorization", "Bearer " + token).GET().build(),
                HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, stream.statusCode());
        BlockingQueue<String[]> events = new LinkedBlockingQueue<>();
        SseEvents.readInto(stream.body(), events);
        try (HapiSender lis = new HapiSender(env.labResultsPort())) {
            assertEquals("AA", lis.send(lis.parse(Hl7Samples.load("oru-r01-normal.hl7", "STREAM-N1")
                    .replace("MRN100004", "MRN90001"))));
        }
        String[] e = events.poll(60, TimeUnit.SECONDS);
        assertNotNull(e, "the result reached the patient's stream");
        JsonNode record = JSON.readTree(e[1]);
        assertEquals("MRN90001", record.path("key").path("data").asText());
        assertEquals("Bundle", record.path("value").path("data").path("resourceType").asText(), e[1]);
        stream.body().close();
    }

    // ---- refusals and bad input ----

    @Test
    void streamsAreRefusedWithTheReasonToTokensThatMayNotReadThem() throws Exception {
        String noClaim = keycloak.clientToken("patient-app-no-claim");
        String patient = keycloak.clientToken("patient-app-1");
        String nurse = keycloak.userToken("nurse.ben", "nurse-test-password");
        HttpResponse<String> unclaimed = get("/patient/streams/results", noClaim);
        assertEquals(403, unclaimed.statusCode());
        assertTrue(JSON.readTree(unclaimed.body()).path("message").asText().contains("no patient claim"));
        assertEquals(403, get("/patient/streams/results", nurse).statusCode(), "staff have no patient stream");
        assertEquals(404, get("/patient/streams/everything", patient).statusCode(), "unknown update type");
        assertEquals(401, get("/patient/streams/results", null).statusCode(), "no token, no ticket");
        assertEquals(401, get("/patient/streams/results?ticket=not-a-ticket", null).statusCode());
        assertEquals(401, get("/patient/streams/results", "not.a.jwt").statusCode(), "garbage token");
        String once = ticket(patient);
        HttpResponse<InputStream> used = http.send(HttpRequest.newBuilder(URI.create(base
                + "/patient/streams/results?ticket=" + once)).GET().build(), HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, used.statusCode(), () -> body(used));
        used.body().close();
        assertEquals(401, get("/patient/streams/results?ticket=" + once, null).statusCode(), "single use");
        // the portal topic itself is not readable with a patient token through the generic streams
        assertEquals(403, get("/streams/" + RESULTS, patient).statusCode());
        // staff streams: per role; never for a patient token
        assertEquals(403, get("/staff/streams/alerts", patient).statusCode());
        assertEquals(403, get("/staff/streams/push-status", nurse).statusCode(), "nurse is not an operator");
        assertEquals(404, get("/staff/streams/nothing", nurse).statusCode());
        await().atMost(Duration.ofSeconds(30)).until(() -> AUDIT.stream().anyMatch(ev -> !ev.granted()
                && "Stream".equals(ev.resourceType()) && "staff/streams/alerts".equals(ev.resourceName())));
    }

    @Test
    void aStaffMemberStreamsTheAlertsTheirRolesAllow() throws Exception {
        String nurse = keycloak.userToken("nurse.ben", "nurse-test-password");
        HttpResponse<InputStream> stream = http.send(HttpRequest.newBuilder(URI.create(base
                + "/staff/streams/alerts?ticket=" + ticket(nurse))).GET().build(),
                HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, stream.statusCode());
        BlockingQueue<String[]> events = new LinkedBlockingQueue<>();
        SseEvents.readInto(stream.body(), events);
        producer.send(new ProducerRecord<>("notifications.push.alert", "alert-1",
                "{\"notificationId\":\"alert-1\",\"notificationType\":\"alert\"}".getBytes(StandardCharsets.UTF_8)))
                .get(30, TimeUnit.SECONDS);
        String[] e = events.poll(60, TimeUnit.SECONDS);
        assertNotNull(e);
        assertEquals("alert-1", JSON.readTree(e[1]).path("key").path("data").asText());
        stream.body().close();
    }

    @Test
    void anExpiredTokenIsRefusedOnRegistrationAndStreams() throws Exception {
        String shortLived = keycloak.clientToken("short-lived"); // the realm's 2 s tokens
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500))
                .until(() -> get("/patient/streams/results", shortLived).statusCode() == 401);
        assertEquals(401, register(shortLived, apns("c1", "patientId", "MRN90001")).statusCode());
        HttpResponse<String> ticket = http.send(HttpRequest.newBuilder(URI.create(base + "/streams/tickets"))
                .header("Authorization", "Bearer " + shortLived).POST(HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(401, ticket.statusCode(), "no ticket for an expired token");
    }

    // ---- helpers ----

    private static String body(HttpResponse<InputStream> response) {
        try (InputStream in = response.body()) {
            return response.statusCode() + " " + new String(in.readNBytes(2000), StandardCharsets.UTF_8);
        } catch (java.io.IOException e) {
            return response.statusCode() + " (no body)";
        }
    }

    private static void send(String patient, String json) throws Exception {
        producer.send(new ProducerRecord<>(RESULTS, patient, json.getBytes(StandardCharsets.UTF_8))).get(30,
                TimeUnit.SECONDS);
    }

    private static String apns(String seed, String field, String id) {
        String hex = (seed + "0".repeat(64)).replaceAll("[^0-9a-f]", "0").substring(0, 64);
        return "{\"platform\":\"apns\",\"token\":\"" + hex + "\",\"" + field + "\":\"" + id + "\"}";
    }

    private static HttpResponse<String> register(String token, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + "/engagement/devices"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> delete(String token, String id) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(base + "/engagement/devices/" + id))
                .header("Authorization", "Bearer " + token).DELETE().build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> get(String path, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30)).GET();
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String ticket(String token) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/streams/tickets"))
                .header("Authorization", "Bearer " + token).POST(HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(201, r.statusCode(), r.body());
        return JSON.readTree(r.body()).path("ticket").asText();
    }

    private static List<JsonNode> framesOfRun(BlockingQueue<JsonNode> frames, String run, int n) throws Exception {
        List<JsonNode> got = new ArrayList<>();
        while (got.size() < n) {
            JsonNode f = frames.poll(60, TimeUnit.SECONDS);
            assertNotNull(f, "frames " + got);
            assertEquals("MRN90005", f.path("key").path("data").asText(), "another patient's frame");
            if (run.equals(f.path("value").path("data").path("run").asText())) {
                got.add(f);
            }
        }
        return got;
    }

    private static WebSocket.Listener collector(BlockingQueue<JsonNode> frames) {
        return new WebSocket.Listener() {
            private final StringBuilder text = new StringBuilder();

            @Override
            public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
                text.append(data);
                if (last) {
                    try {
                        frames.add(JSON.readTree(text.toString()));
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                    text.setLength(0);
                }
                webSocket.request(1);
                return null;
            }
        };
    }


    /** The events the live page listed: {data-id, data-key, data-offset}. */
    private static List<String[]> domEvents(String dom) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile(
                "<li class=\"event\" data-id=\"([^\"]+)\" data-key=\"([^\"]*)\" data-offset=\"([0-9]+)\"").matcher(dom);
        List<String[]> events = new ArrayList<>();
        while (m.find()) {
            events.add(new String[] {m.group(1).replace("&amp;", "&"), m.group(2), m.group(3)});
        }
        return events;
    }

    /** Headless Chromium as EventApiIT runs it; the DOM it dumped. */
    private static String chromium(String executable, Path userDataDir, String url) throws Exception {
        List<String> command = new ArrayList<>(List.of("timeout", "90", executable, "--headless", "--no-sandbox",
                "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--user-data-dir=" + userDataDir, "--window-size=1200,900",
                "--virtual-time-budget=10000", "--dump-dom", url));
        Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(90, TimeUnit.SECONDS), "Chromium finished");
        return new String(out, StandardCharsets.UTF_8);
    }
}
