package org.cmm.eventbroker.ehr;

import static org.awaitility.Awaitility.await;
import static org.cmm.eventbroker.testsupport.KafkaTopicReader.header;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;
import org.cmm.eventbroker.testsupport.LogCapture;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Flow 5, EHR vendor webhooks over HTTP, against a real Kafka broker and the runtime's platform HTTP server, with a
 * plain java.net.http client as the vendor.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class EhrApiEventsIT {

    private static final int MAX_BODY_BYTES = 4096;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> EVENT_HEADERS = Set.of("ce_specversion", "ce_id", "ce_source", "ce_type",
            "ce_time", "ce_subject", "content-type", "ehr_vendor", "ehr_resource_type", "ehr_operation");
    private static final String SECRET = "Bearer s3cr3t-vendor-token";

    private static RuntimeUnderTest env;
    private static LogCapture logs;
    private static HttpClient http;

    @BeforeAll
    static void start() throws Exception {
        logs = LogCapture.attach();
        env = RuntimeUnderTest.flows("ehr-api-events").with(Map.of("cmm.ehr.api.max-body-bytes", String.valueOf(MAX_BODY_BYTES))).start();
        http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    }

    @AfterAll
    static void stop() throws Exception {
        if (env != null) {
            env.close();
        }
        if (logs != null) {
            logs.close();
        }
    }

    private static HttpResponse<String> post(String path, String contentType, byte[] body, String... headers)
            throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + env.httpPort() + path))
                .timeout(Duration.ofSeconds(20))
                .header("Authorization", SECRET)
                .header("Cookie", "session=vendor-session-cookie")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (contentType != null) {
            request.header("Content-Type", contentType);
        }
        for (int i = 0; i < headers.length; i += 2) {
            request.header(headers[i], headers[i + 1]);
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static Predicate<ConsumerRecord<String, byte[]>> eventId(String id) {
        return r -> id.equals(header(r, "ce_id"));
    }

    private static void assertOnlyEventHeaders(ConsumerRecord<String, byte[]> record, Set<String> allowed) {
        Set<String> names = new TreeSet<>();
        for (Header h : record.headers()) {
            names.add(h.key());
        }
        assertTrue(allowed.containsAll(names), "only event headers on the record: " + names);
        for (Header h : record.headers()) {
            assertFalse(new String(h.value(), StandardCharsets.UTF_8).contains("s3cr3t"), h.key() + " carries the token");
        }
    }

    private static void assertNoInternalHeadersIn(HttpResponse<String> response) {
        for (String name : response.headers().map().keySet()) {
            String n = name.toLowerCase(Locale.ROOT);
            assertFalse(n.startsWith("ce_") || n.startsWith("kafka") || n.startsWith("ehr_") || n.startsWith("dlq_")
                    || n.startsWith("camel") || n.equals("authorization"), "internal header in the answer: " + name);
        }
    }

    @Test
    @Order(1)
    void aJsonWebhookIsAnswered202AfterItIsOnItsTopicKeyedByResourceIdWithCloudEventsHeadersAndNoRequestHeaders()
            throws Exception {
        byte[] body = utf8("{\"resourceType\":\"Patient\",\"id\":\"pat-1001\",\"name\":[{\"family\":\"ZEBEDEE\"}]}");
        // request headers named like path parameters or Kafka headers must change nothing
        HttpResponse<String> response = post("/ehr/Epic/Patient/updated", "application/fhir+json; charset=utf-8", body,
                "Idempotency-Key", "evt-json-1", "vendor", "other", "operation", "deleted", "kafka.KEY", "forged",
                "ce_id", "forged");

        assertEquals(202, response.statusCode(), response.body());
        assertNoInternalHeadersIn(response);
        JsonNode answer = JSON.readTree(response.body());
        assertEquals("ehr.epic.patient.updated", answer.path("topic").asText());
        String id = answer.path("eventId").asText();
        assertFalse(id.isBlank());

        // 202 promises the write happened: the record is there on the first read, no waiting
        List<ConsumerRecord<String, byte[]>> records = env.topics().readAll("ehr.epic.patient.updated").stream()
                .filter(eventId(id)).toList();
        assertEquals(1, records.size());
        ConsumerRecord<String, byte[]> record = records.get(0);
        assertEquals("pat-1001", record.key());
        assertArrayEquals(body, record.value());
        assertEquals("1.0", header(record, "ce_specversion"));
        assertEquals("ehr.epic.patient.updated", header(record, "ce_type"));
        assertEquals("/ehr/epic", header(record, "ce_source"));
        assertEquals("pat-1001", header(record, "ce_subject"));
        assertNotNull(java.time.OffsetDateTime.parse(header(record, "ce_time")));
        assertEquals("application/fhir+json; charset=utf-8", header(record, "content-type"));
        assertEquals("patient", header(record, "ehr_resource_type"));
        assertOnlyEventHeaders(record, EVENT_HEADERS);
    }

    @Test
    @Order(1)
    void theWebhookEndpointIsOnThePlatformHttpServerNotOnTheManagementServer() throws Exception {
        HttpRequest onManagement = HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + env.managementPort() + "/ehr/epic/Patient/updated"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{}")).build();
        assertEquals(404, http.send(onManagement, HttpResponse.BodyHandlers.ofString()).statusCode());
    }

    @Test
    @Order(2)
    void anXmlWebhookIsPublishedUntouchedKeyedByTheFhirIdValueAttribute() throws Exception {
        byte[] body = utf8("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Observation xmlns=\"http://hl7.org/fhir\">"
                + "<id value=\"obs-77\"/><status value=\"final\"/><note><text value=\"héhé\"/></note></Observation>");
        HttpResponse<String> response = post("/ehr/Cerner-Millennium/Observation/created", "application/fhir+xml", body);

        assertEquals(202, response.statusCode(), response.body());
        String id = JSON.readTree(response.body()).path("eventId").asText();
        ConsumerRecord<String, byte[]> record = env.topics().readAll("ehr.cerner-millennium.observation.created")
                .stream().filter(eventId(id)).findFirst().orElseThrow();
        assertEquals("obs-77", record.key());
        assertArrayEquals(body, record.value());
        assertOnlyEventHeaders(record, EVENT_HEADERS);
    }

    @Test
    @Order(3)
    void aWebhookWithoutAResourceIdIsKeyedByItsEventId() throws Exception {
        HttpResponse<String> response = post("/ehr/athena/Appointment/cancelled", "application/json",
                utf8("[{\"appointment\":\"A-1\"}]"));
        assertEquals(202, response.statusCode(), response.body());
        String id = JSON.readTree(response.body()).path("eventId").asText();
        ConsumerRecord<String, byte[]> record = env.topics().readAll("ehr.athena.appointment.cancelled").stream()
                .filter(eventId(id)).findFirst().orElseThrow();
        assertEquals(id, record.key());
    }

    @Test
    @Order(4)
    void aResendWithTheSameIdempotencyKeyOrTheSameBodyIsAnswered202ButPublishedOnce() throws Exception {
        byte[] body = utf8("{\"id\":\"enc-5\",\"status\":\"in-progress\"}");
        HttpResponse<String> first = post("/ehr/epic/Encounter/updated", "application/json", body, "Idempotency-Key", "dup-1");
        HttpResponse<String> resend = post("/ehr/epic/Encounter/updated", "application/json", body, "Idempotency-Key", "dup-1");
        assertEquals(202, first.statusCode());
        assertEquals(202, resend.statusCode());
        assertEquals(first.body(), resend.body(), "a resend is told the same event id");

        byte[] noKey = utf8("{\"id\":\"enc-6\",\"status\":\"finished\"}");
        HttpResponse<String> a = post("/ehr/epic/Encounter/updated", "application/json", noKey);
        HttpResponse<String> b = post("/ehr/epic/Encounter/updated", "application/json", noKey, "X-Request-Id", "");
        assertEquals(202, a.statusCode());
        assertEquals(a.body(), b.body());

        // a marker written after both resends is on the topic: anything the resends published would be before it
        HttpResponse<String> marker = post("/ehr/epic/Encounter/updated", "application/json", utf8("{\"id\":\"marker\"}"));
        String markerId = JSON.readTree(marker.body()).path("eventId").asText();
        List<ConsumerRecord<String, byte[]>> onTopic = env.topics().readAll("ehr.epic.encounter.updated");
        assertEquals(1, onTopic.stream().filter(eventId(markerId)).count());
        assertEquals(1, onTopic.stream().filter(r -> "enc-5".equals(r.key())).count());
        assertEquals(1, onTopic.stream().filter(r -> "enc-6".equals(r.key())).count());
    }

    /** Sends a bad request and checks the answer, then that the body is on ehr.dlq, untouched, with the reason. */
    private static void assertRejected(int status, String reasonPart, String path, String contentType, byte[] body)
            throws Exception {
        HttpResponse<String> response = post(path, contentType, body, "Idempotency-Key", "bad-" + System.nanoTime());
        assertEquals(status, response.statusCode(), response.body());
        assertTrue(response.headers().firstValue("Content-Type").orElse("").startsWith("application/json"));
        assertNoInternalHeadersIn(response);
        JsonNode answer = JSON.readTree(response.body());
        assertEquals(status, answer.path("status").asInt());
        String reason = answer.path("error").asText();
        assertTrue(reason.contains(reasonPart), reason);
        assertFalse(reason.contains("ZEBEDEE") || reason.contains("ALBERTINE"), "the reason quotes no content: " + reason);

        List<ConsumerRecord<String, byte[]>> dead = env.topics().readAll("ehr.dlq").stream()
                .filter(r -> reason.equals(header(r, "dlq_reason")) && Arrays.equals(body, r.value())).toList();
        assertEquals(1, dead.size(), "one dead letter with the untouched body and the reason " + reason);
        assertEquals("ehr-api-events", header(dead.get(0), "dlq_source"));
        Set<String> allowed = new TreeSet<>(EVENT_HEADERS);
        allowed.addAll(Set.of("dlq_reason", "dlq_source", "dlq_time"));
        assertOnlyEventHeaders(dead.get(0), allowed);
    }

    @Test
    @Order(5)
    void aPathSegmentThatCannotBePartOfATopicNameIsAnswered400AndDeadLettered() throws Exception {
        assertRejected(400, "vendor", "/ehr/Ep_ic/Patient/updated", "application/json", utf8("{\"id\":\"p-1\"}"));
        assertRejected(400, "operation", "/ehr/epic/Patient/" + "x".repeat(65), "application/json", utf8("{\"id\":\"p-2\"}"));
        assertRejected(400, "resourceType", "/ehr/epic/Pat%2Eient/updated", "application/json", utf8("{\"id\":\"p-3\"}"));
    }

    @Test
    @Order(6)
    void aBodyThatIsNeitherJsonNorXmlIsAnswered415AndDeadLettered() throws Exception {
        assertRejected(415, "Content-Type", "/ehr/epic/Patient/updated", "text/plain", utf8("ZEBEDEE ALBERTINE"));
        assertRejected(415, "Content-Type", "/ehr/epic/Patient/updated", null, utf8("{\"id\":\"no-type\"}"));
    }

    @Test
    @Order(7)
    void malformedJsonIsAnswered400WithThePositionNotTheContentAndDeadLettered() throws Exception {
        assertRejected(400, "malformed JSON at line 1", "/ehr/epic/Patient/updated", "application/json",
                utf8("{\"name\": ZEBEDEE ALBERTINE}"));
        assertRejected(400, "malformed JSON", "/ehr/epic/Patient/updated", "application/json",
                utf8("{\"id\":\"p-4\"} trailing"));
        assertRejected(400, "object or an array", "/ehr/epic/Patient/updated", "application/json", utf8("\"ZEBEDEE\""));
    }

    @Test
    @Order(8)
    void malformedXmlAndXmlWithADoctypeAreAnswered400AndNoEntityIsResolved() throws Exception {
        assertRejected(400, "malformed XML", "/ehr/epic/Patient/updated", "application/xml",
                utf8("<Patient><name>ZEBEDEE</Patient>"));
        byte[] xxe = utf8("<?xml version=\"1.0\"?><!DOCTYPE p [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
                + "<Patient><id>&x;</id></Patient>");
        assertRejected(400, "DOCTYPE", "/ehr/epic/Patient/updated", "text/xml", xxe);
        byte[] laughs = utf8("<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]>"
                + "<l>&b;</l>");
        assertRejected(400, "DOCTYPE", "/ehr/epic/Patient/updated", "application/xml", laughs);
    }

    @Test
    @Order(9)
    void anEmptyBodyIsAnswered400AndDeadLettered() throws Exception {
        assertRejected(400, "empty body", "/ehr/epic/Patient/updated", "application/json", new byte[0]);
    }

    @Test
    @Order(10)
    void aBodyOverTheConfiguredLimitIsAnswered413AndItsHeadIsDeadLetteredMarkedTruncated() throws Exception {
        byte[] body = utf8("{\"id\":\"big\",\"pad\":\"" + "x".repeat(MAX_BODY_BYTES) + "\"}");
        HttpResponse<String> response = post("/ehr/epic/Patient/updated", "application/json", body);
        assertEquals(413, response.statusCode(), response.body());
        String reason = JSON.readTree(response.body()).path("error").asText();
        assertTrue(reason.contains(String.valueOf(MAX_BODY_BYTES)), reason);
        ConsumerRecord<String, byte[]> dead = env.topics().readAll("ehr.dlq").stream()
                .filter(r -> reason.equals(header(r, "dlq_reason"))).findFirst().orElseThrow();
        assertArrayEquals(Arrays.copyOf(body, MAX_BODY_BYTES), dead.value());
        assertEquals("true", header(dead, "dlq_truncated"));
        assertEquals(String.valueOf(body.length), header(dead, "dlq_original_bytes"));
    }

    @Test
    @Order(11)
    void whenKafkaIsDownWebhooksGet503InBoundedTimeAndAfterItIsBackEveryEventAnswered202IsOnKafkaOnce() throws Exception {
        String path = "/ehr/epic/MedicationRequest/created";
        String topic = "ehr.epic.medicationrequest.created";
        List<String> accepted = new ArrayList<>();
        int events = 8;
        List<Long> unavailableMillis = new ArrayList<>();
        for (int i = 0; i < events; i++) {
            if (i == 3) {
                env.broker().stop();
                for (int j = 3; j < 5; j++) { // while Kafka is down: 503, in time, nothing answered 202
                    long t0 = System.nanoTime();
                    HttpResponse<String> r = post(path, "application/json", outageBody(j), "Idempotency-Key", "outage-" + j);
                    unavailableMillis.add((System.nanoTime() - t0) / 1_000_000);
                    assertEquals(503, r.statusCode(), r.body());
                    assertTrue(r.body().contains("retry"), r.body());
                    assertTrue(r.headers().firstValue("Retry-After").isPresent());
                    assertNoInternalHeadersIn(r);
                }
                env.broker().start();
            }
            int n = i;
            String[] answer = new String[1];
            // the vendor resends until it is answered 202, as webhook senders do
            await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200)).until(() -> {
                HttpResponse<String> r = post(path, "application/json", outageBody(n), "Idempotency-Key", "outage-" + n);
                assertTrue(r.statusCode() == 202 || r.statusCode() == 503, r.statusCode() + " " + r.body());
                answer[0] = r.body();
                return r.statusCode() == 202;
            });
            accepted.add(JSON.readTree(answer[0]).path("eventId").asText());
        }
        assertTrue(unavailableMillis.stream().allMatch(ms -> ms < 10_000), "each 503 came within 10 s: " + unavailableMillis);

        List<ConsumerRecord<String, byte[]>> onTopic = env.topics().readAll(topic);
        for (String id : accepted) {
            assertEquals(1, onTopic.stream().filter(eventId(id)).count(), "event " + id + " once on " + topic);
        }
        assertEquals(events, onTopic.size());
    }

    private static byte[] outageBody(int n) {
        return utf8("{\"resourceType\":\"MedicationRequest\",\"id\":\"mr-" + n + "\"}");
    }

    @Test
    @Order(12)
    void neitherTheTokenNorPatientDataReachedTheLogs() {
        assertTrue(logs.lines().stream().anyMatch(l -> l.contains("rejected with 400")), "the rejects were logged");
        assertEquals(List.of(), logs.linesContaining(List.of("s3cr3t", "ZEBEDEE", "ALBERTINE", "vendor-session-cookie")));
    }
}
