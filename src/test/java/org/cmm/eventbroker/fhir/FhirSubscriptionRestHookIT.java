package org.cmm.eventbroker.fhir;

import static org.awaitility.Awaitility.await;
import static org.cmm.eventbroker.fhir.RestHookTestSupport.backport;
import static org.cmm.eventbroker.fhir.RestHookTestSupport.classic;
import static org.cmm.eventbroker.fhir.RestHookTestSupport.event;
import static org.cmm.eventbroker.fhir.RestHookTestSupport.observation;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.cmm.eventbroker.stack.FhirServer;
import org.cmm.eventbroker.testsupport.FreePorts;
import org.cmm.eventbroker.testsupport.KafkaTopicReader;
import org.cmm.eventbroker.testsupport.LogCapture;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Extension;
import org.hl7.fhir.r4.model.IntegerType;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.Subscription;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Rest-hook delivery of FHIR Subscription notifications against real peers: an embedded Kafka, the runtime, a HAPI
 * FHIR server holding the Subscriptions, and a JDK HTTP server as the subscribers' endpoint. Notifications are written
 * to fhir.subscription.rest-hook as the matcher writes them.
 */
class FhirSubscriptionRestHookIT {

    private static final String SECRET_NAME = "Restricted-Observation-Text-4711";
    private static FhirServer fhirServer;
    private static RestHookEndpoint endpoint;
    private static RuntimeUnderTest env;
    private static RestHookTestSupport kafka;
    private static LogCapture logs;

    @BeforeAll
    static void start() throws Exception {
        logs = LogCapture.attach();
        fhirServer = new FhirServer("127.0.0.1", FreePorts.next()).start();
        endpoint = new RestHookEndpoint(FreePorts.next());
        env = RuntimeUnderTest.flows("fhir-subscription-rest-hook-delivery", "fhir-subscription-heartbeat").with(Map.of(
                "cmm.fhir.server.base-url", fhirServer.baseUrl(),
                "cmm.fhir.subscription.delivery.initial-backoff-ms", "100",
                "cmm.fhir.subscription.delivery.max-backoff-ms", "400",
                "cmm.fhir.subscription.delivery.max-attempts", "-1",
                "cmm.fhir.subscription.rest-hook.timeout-ms", "3000",
                "cmm.fhir.subscription.heartbeat.check-interval-ms", "200")).start();
        kafka = new RestHookTestSupport(env.bootstrapServers(), fhirServer.baseUrl());
    }

    @AfterAll
    static void stop() throws Exception {
        kafka.close();
        env.close();
        endpoint.close();
        fhirServer.close();
        logs.close();
    }

    private static String url(String path) {
        return "http://127.0.0.1:" + endpoint.port() + path;
    }

    private static List<RestHookEndpoint.Received> awaitReceived(String path, int count) {
        await().atMost(Duration.ofSeconds(30)).until(() -> endpoint.received(path).size() >= count);
        return endpoint.received(path);
    }

    @Test
    void classicSubscriptionWithoutPayloadGetsEmptyPostsInOrderWithItsHeaders() throws Exception {
        Subscription s = kafka.create(classic(url("/classic-empty"), null, "Authorization: Bearer secret-token",
                "X-Tenant: ward-7"));
        for (int i = 1; i <= 3; i++) {
            kafka.publish(event(s, observation("o" + i, "1", SECRET_NAME), "created"));
        }
        List<RestHookEndpoint.Received> got = awaitReceived("/classic-empty", 3);
        assertEquals(3, got.size());
        for (RestHookEndpoint.Received r : got) {
            assertEquals("POST", r.method());
            assertEquals("", r.body(), "R4 rest-hook without payload: no body");
            assertEquals("Bearer secret-token", r.header("Authorization"));
            assertEquals("ward-7", r.header("X-Tenant"));
            assertNull(r.header("ce_id"), "record headers are not sent to the subscriber");
            assertNull(r.header("kafka.TOPIC"));
            assertNull(r.header("fhir_subscription_id"));
        }
    }

    @Test
    void classicSubscriptionWithFhirJsonPayloadGetsEachVersionPutToEndpointTypeIdInOrderAndADeleteThere() throws Exception {
        Subscription s = kafka.create(classic(url("/classic-full"), "application/fhir+json"));
        kafka.publish(event(s, observation("p1", "1", "first"), "created"));
        kafka.publish(event(s, observation("p1", "2", "second"), "updated"));
        kafka.publish(event(s, observation("p1", "3", "gone"), "deleted"));
        List<RestHookEndpoint.Received> got = awaitReceived("/classic-full", 3);
        // R4: with a payload the endpoint is a service base, as HAPI FHIR's own server delivers
        assertEquals(List.of("PUT /classic-full/Observation/p1", "PUT /classic-full/Observation/p1",
                "DELETE /classic-full/Observation/p1"), got.stream().map(r -> r.method() + " " + r.path()).toList());
        Observation first = (Observation) FhirR4.context().newJsonParser().parseResource(got.get(0).body());
        Observation second = (Observation) FhirR4.context().newJsonParser().parseResource(got.get(1).body());
        assertEquals("first", first.getCode().getText());
        assertEquals("second", second.getCode().getText());
        assertTrue(got.get(0).header("Content-Type").startsWith("application/fhir+json"));
        assertEquals("", got.get(2).body(), "a delete has no resource to send");
    }

    @Test
    void backportIdOnlyGetsAHistoryBundleWithSubscriptionStatusAndTheFocusButNotTheResource() throws Exception {
        Subscription s = kafka.create(backport(url("/backport-id-only"), "id-only"));
        kafka.publish(RestHookTestSupport.handshake(s));
        RecordMetadata sent = kafka.publish(event(s, observation("q1", "4", SECRET_NAME), "updated"));
        List<RestHookEndpoint.Received> got = awaitReceived("/backport-id-only", 2);

        Bundle handshake = bundle(got.get(0));
        Parameters hs = (Parameters) handshake.getEntryFirstRep().getResource();
        assertEquals("handshake", hs.getParameter("type").getValue().primitiveValue());
        assertNull(hs.getParameter("notification-event"), "a handshake carries no event");
        assertEquals(1, handshake.getEntry().size());

        Bundle b = bundle(got.get(1));
        assertEquals(Bundle.BundleType.HISTORY, b.getType());
        Parameters status = (Parameters) b.getEntryFirstRep().getResource();
        assertEquals(fhirServer.baseUrl() + "/" + RestHookTestSupport.key(s),
                ((Reference) status.getParameter("subscription").getValue()).getReference());
        assertEquals("http://example.org/SubscriptionTopic/observations", status.getParameter("topic").getValue().primitiveValue());
        assertEquals("active", status.getParameter("status").getValue().primitiveValue());
        assertEquals("event-notification", status.getParameter("type").getValue().primitiveValue());
        String eventNumber = String.valueOf(sent.offset() + 1);
        assertEquals(eventNumber, status.getParameter("events-since-subscription-start").getValue().primitiveValue());
        Parameters.ParametersParameterComponent event = status.getParameter("notification-event");
        assertEquals(eventNumber, part(event, "event-number").getValue().primitiveValue());
        assertEquals(fhirServer.baseUrl() + "/Observation/q1/_history/4",
                ((Reference) part(event, "focus").getValue()).getReference());
        assertEquals(2, b.getEntry().size());
        assertEquals(fhirServer.baseUrl() + "/Observation/q1", b.getEntry().get(1).getFullUrl());
        assertFalse(b.getEntry().get(1).hasResource(), "id-only: no resource");
        assertFalse(got.get(1).body().contains(SECRET_NAME));
    }

    @Test
    void backportFullResourceBundleCarriesTheResourceAndEmptyCarriesNoFocus() throws Exception {
        Subscription full = kafka.create(backport(url("/backport-full"), "full-resource"));
        Subscription empty = kafka.create(backport(url("/backport-empty"), "empty"));
        kafka.publish(event(full, observation("r1", "1", "full text"), "created"));
        kafka.publish(event(empty, observation("r2", "1", "not sent"), "created"));

        Bundle b = bundle(awaitReceived("/backport-full", 1).get(0));
        assertEquals(2, b.getEntry().size());
        Observation o = (Observation) b.getEntry().get(1).getResource();
        assertEquals("full text", o.getCode().getText());
        assertEquals("POST", b.getEntry().get(1).getRequest().getMethod().toCode());

        RestHookEndpoint.Received e = awaitReceived("/backport-empty", 1).get(0);
        Bundle eb = bundle(e);
        assertEquals(1, eb.getEntry().size(), "empty: only the status");
        Parameters.ParametersParameterComponent event = ((Parameters) eb.getEntryFirstRep().getResource())
                .getParameter("notification-event");
        assertTrue(part(event, "event-number") != null);
        assertNull(part(event, "focus"));
        assertFalse(e.body().contains("not sent"));
    }

    @Test
    void unreadableNotificationIsDeadLetteredUntouchedAndTheSubscriptionGoesOn() throws Exception {
        Subscription s = kafka.create(classic(url("/after-bad-input"), null));
        byte[] garbage = "{not json".getBytes(StandardCharsets.UTF_8);
        kafka.publish(RestHookTestSupport.key(s), garbage, "event-notification", "bad-1");
        kafka.publish(event(s, observation("b1", "1", "x"), "created"));
        assertEquals(1, awaitReceived("/after-bad-input", 1).size());
        ConsumerRecord<String, byte[]> dead = env.topics().awaitRecords("fhir.subscription.dlq",
                r -> "bad-1".equals(KafkaTopicReader.header(r, "ce_id")), 1).get(0);
        assertArrayEquals(garbage, dead.value());
        assertEquals(RestHookTestSupport.key(s), dead.key());
        assertTrue(KafkaTopicReader.header(dead, "dlq_reason").contains("not a subscription notification"));
    }

    @Test
    void endpointAnswering503GetsEveryNotificationAfterwardsInOrderAndTheSubscriptionShowsTheOutage() throws Exception {
        endpoint.answer("/outage", 503);
        Subscription s = kafka.create(classic(url("/outage"), "application/fhir+json"));
        for (int i = 1; i <= 4; i++) {
            kafka.publish(event(s, observation("out", String.valueOf(i), "v" + i), "updated"));
        }
        String id = s.getIdElement().getIdPart();
        await().atMost(Duration.ofSeconds(30)).until(() -> errorCount(kafka.read(id)) >= 2);
        Subscription failing = kafka.read(id);
        assertEquals("rest-hook endpoint answered HTTP 503", failing.getError());
        assertEquals(Subscription.SubscriptionStatus.ACTIVE, failing.getStatus(), "still retrying");
        assertTrue(endpoint.received("/outage").isEmpty());

        endpoint.answer("/outage", 200);
        List<RestHookEndpoint.Received> got = awaitReceived("/outage", 4);
        List<String> texts = new ArrayList<>();
        for (RestHookEndpoint.Received r : got) {
            texts.add(((Observation) FhirR4.context().newJsonParser().parseResource(r.body())).getCode().getText());
        }
        assertEquals(List.of("v1", "v2", "v3", "v4"), texts);
        await().atMost(Duration.ofSeconds(10)).until(() -> kafka.read(id).getError() == null);
        assertTrue(errorCount(kafka.read(id)) >= 2, "the count of failed attempts stays");
    }

    @Test
    void endpointThatIsClosedGetsEveryNotificationOnceItListens() throws Exception {
        int port = FreePorts.next();
        Subscription s = kafka.create(classic("http://127.0.0.1:" + port + "/late", null, "X-Seq: yes"));
        kafka.publish(event(s, observation("c1", "1", "x"), "created"));
        kafka.publish(event(s, observation("c2", "1", "y"), "created"));
        String id = s.getIdElement().getIdPart();
        await().atMost(Duration.ofSeconds(30)).until(() -> errorCount(kafka.read(id)) >= 1);
        assertTrue(kafka.read(id).getError().startsWith("rest-hook endpoint refused the connection"), kafka.read(id).getError());
        assertFalse(kafka.read(id).getError().contains(String.valueOf(port)), "the endpoint URL is not repeated");
        try (RestHookEndpoint late = new RestHookEndpoint(port)) {
            await().atMost(Duration.ofSeconds(30)).until(() -> late.received("/late").size() >= 2);
            assertEquals(2, late.received("/late").size());
            await().atMost(Duration.ofSeconds(10)).until(() -> kafka.read(id).getError() == null);
        }
    }

    @Test
    void restartRepeatsNothingDeliveredAndLosesNothingQueuedMeanwhile() throws Exception {
        Subscription s = kafka.create(classic(url("/restart"), "application/fhir+json"));
        for (int i = 1; i <= 3; i++) {
            kafka.publish(event(s, observation("rs", String.valueOf(i), "before-" + i), "updated"));
        }
        awaitReceived("/restart", 3);
        env.stopRuntime();
        try {
            for (int i = 1; i <= 3; i++) {
                kafka.publish(event(s, observation("rs", String.valueOf(i + 3), "after-" + i), "updated"));
            }
        } finally {
            env.startRuntime();
        }
        await().atMost(Duration.ofSeconds(60)).until(() -> endpoint.received("/restart").size() >= 6);
        await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(5))
                .until(() -> endpoint.received("/restart").size() == 6);
        List<String> texts = new ArrayList<>();
        for (RestHookEndpoint.Received r : endpoint.received("/restart")) {
            texts.add(((Observation) FhirR4.context().newJsonParser().parseResource(r.body())).getCode().getText());
        }
        assertEquals(List.of("before-1", "before-2", "before-3", "after-1", "after-2", "after-3"), texts);
    }

    @Test
    void heartbeatArrivesForASubscriptionWithAHeartbeatPeriod() throws Exception {
        Subscription s = kafka.create(RestHookTestSupport.withHeartbeat(backport(url("/heartbeat"), "id-only"), 1));
        Subscription quiet = kafka.create(backport(url("/no-heartbeat"), "id-only"));
        kafka.register(s);
        kafka.register(quiet);
        List<RestHookEndpoint.Received> got = awaitReceived("/heartbeat", 2);
        Parameters status = (Parameters) bundle(got.get(0)).getEntryFirstRep().getResource();
        assertEquals("heartbeat", status.getParameter("type").getValue().primitiveValue());
        assertNull(status.getParameter("notification-event"));
        assertTrue(endpoint.received("/no-heartbeat").isEmpty(), "no heartbeat without a period");
    }

    @Test
    void deliveriesAreCountedPerSubscriptionOnTheMetricsEndpoint() throws Exception {
        Subscription s = kafka.create(classic(url("/metrics"), null));
        kafka.publish(event(s, observation("m1", "1", "x"), "created"));
        awaitReceived("/metrics", 1);
        HttpClient http = HttpClient.newHttpClient();
        String tag = "subscription=\"" + RestHookTestSupport.key(s) + "\"";
        await().atMost(Duration.ofSeconds(10)).until(() -> http.send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + env.managementPort() + "/observe/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body().lines().anyMatch(l -> l.startsWith(
                "cmm_fhir_subscription_notifications_total") && l.contains(tag) && l.contains("outcome=\"delivered\"")
                && l.contains("channel=\"rest-hook\"") && l.endsWith(" 1.0")));
    }

    @Test
    void noResourceContentReachesTheLogs() throws Exception {
        Subscription s = kafka.create(backport(url("/logs"), "full-resource"));
        kafka.publish(event(s, observation("l1", "1", SECRET_NAME), "created"));
        awaitReceived("/logs", 1);
        assertEquals(List.of(), logs.linesContaining(List.of(SECRET_NAME)));
    }

    private static Bundle bundle(RestHookEndpoint.Received r) {
        assertTrue(r.header("Content-Type").startsWith("application/fhir+json"), r.header("Content-Type"));
        return (Bundle) FhirR4.context().newJsonParser().parseResource(r.body());
    }

    private static Parameters.ParametersParameterComponent part(Parameters.ParametersParameterComponent p, String name) {
        return p.getPart().stream().filter(x -> name.equals(x.getName())).findFirst().orElse(null);
    }

    private static int errorCount(Subscription s) {
        Extension e = s.getExtensionByUrl(FhirEventHeaders.ERROR_COUNT_EXTENSION);
        return e != null && e.getValue() instanceof IntegerType i ? i.getValue() : 0;
    }
}
