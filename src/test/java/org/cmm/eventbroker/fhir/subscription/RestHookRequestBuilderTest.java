package org.cmm.eventbroker.fhir.subscription;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.cmm.eventbroker.platform.delivery.DeliveryRejectedException;
import org.cmm.eventbroker.fhir.FhirR4;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.CodeType;
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.Subscription;
import org.hl7.fhir.r4.model.UnsignedIntType;
import org.junit.jupiter.api.Test;

class RestHookRequestBuilderTest {

    private final RestHookRequestBuilder builder = new RestHookRequestBuilder();

    RestHookRequestBuilderTest() {
        builder.setServerBaseUrl("http://fhir.example/fhir");
        builder.setTimeoutMs(7000);
        builder.setMaxTimeoutMs(20_000);
    }

    private static Subscription subscription(String endpoint) {
        Subscription s = new Subscription();
        s.setId("s1");
        s.setStatus(Subscription.SubscriptionStatus.ACTIVE);
        s.setCriteria("Observation?code=1");
        s.getChannel().setType(Subscription.SubscriptionChannelType.RESTHOOK).setEndpoint(endpoint);
        return s;
    }

    private static byte[] record(Subscription s, String type) throws Exception {
        JsonNode json = new ObjectMapper().readTree(FhirR4.context().newJsonParser().encodeResourceToString(s));
        return new SubscriptionNotification(type, "Subscription/s1", json, null, null, null, null, null).toJson();
    }

    @Test
    void headerWithoutAColonIsRejectedNamingTheSubscription() throws Exception {
        Subscription s = subscription("http://hook.example/in");
        s.getChannel().addHeader("Authorization Bearer x");
        DeliveryRejectedException e = assertThrows(DeliveryRejectedException.class,
                () -> builder.build(record(s, "heartbeat"), 0L));
        assertTrue(e.getMessage().contains("Subscription/s1") && e.getMessage().contains("channel.header"), e.getMessage());
        assertTrue(!e.getMessage().contains("Bearer"), "the header value is not quoted");
    }

    @Test
    void endpointThatIsNotHttpIsRejected() throws Exception {
        assertThrows(DeliveryRejectedException.class, () -> builder.build(record(subscription("mailto:a@b.c"), "heartbeat"), 0L));
    }

    @Test
    void unknownBackportPayloadContentAndUnsupportedMimeTypeAreRejected() throws Exception {
        Subscription s = subscription("http://hook.example/in");
        s.getMeta().addProfile(BackportSubscription.PROFILE);
        s.getChannel().getPayloadElement().addExtension(BackportSubscription.PAYLOAD_CONTENT, new CodeType("everything"));
        assertThrows(DeliveryRejectedException.class, () -> builder.build(record(s, "handshake"), 0L));
        Subscription c = subscription("http://hook.example/in");
        c.getChannel().setPayload("text/csv");
        SubscriptionNotification n = new SubscriptionNotification("event-notification", "Subscription/s1",
                new ObjectMapper().readTree(FhirR4.context().newJsonParser().encodeResourceToString(c)), "x", null,
                "Patient/1", "created", new ObjectMapper().readTree("{\"resourceType\":\"Patient\",\"id\":\"1\"}"));
        assertThrows(DeliveryRejectedException.class, () -> builder.build(n.toJson(), 0L));
    }

    @Test
    void classicPayloadIsPutToTheEndpointAsServiceBaseAndADeleteIsADeleteThereButNotificationsWithoutPayloadArePosts()
            throws Exception {
        Subscription c = subscription("http://hook.example/in/");
        c.getChannel().setPayload("application/fhir+json");
        JsonNode sub = new ObjectMapper().readTree(FhirR4.context().newJsonParser().encodeResourceToString(c));
        JsonNode obs = new ObjectMapper().readTree("{\"resourceType\":\"Observation\",\"id\":\"o1\",\"status\":\"final\","
                + "\"code\":{\"text\":\"hr\"}}");
        RestHookRequest put = builder.build(new SubscriptionNotification("event-notification", "Subscription/s1", sub,
                "e1", null, "Observation/o1/_history/2", "updated", obs).toJson(), 5L);
        assertEquals("PUT", put.method());
        assertEquals("http://hook.example/in/Observation/o1", put.url());
        assertTrue(new String(put.body(), StandardCharsets.UTF_8).contains("\"id\":\"o1\""));
        RestHookRequest delete = builder.build(new SubscriptionNotification("event-notification", "Subscription/s1",
                sub, "e2", null, "Observation/o1/_history/3", "deleted", null).toJson(), 6L);
        assertEquals("DELETE", delete.method());
        assertEquals("http://hook.example/in/Observation/o1", delete.url());
        assertEquals(0, delete.body().length);
        RestHookRequest handshake = builder.build(record(c, "handshake"), 0L);
        assertEquals("POST", handshake.method());
        assertEquals("http://hook.example/in/", handshake.url());
        assertEquals(0, handshake.body().length);
        RestHookRequest empty = builder.build(new SubscriptionNotification("event-notification", "Subscription/s1",
                new ObjectMapper().readTree(FhirR4.context().newJsonParser().encodeResourceToString(
                        subscription("http://hook.example/plain"))), "e3", null, "Observation/o1/_history/2", "updated",
                obs).toJson(), 7L);
        assertEquals("POST", empty.method());
        assertEquals("http://hook.example/plain", empty.url());
        assertEquals(0, empty.body().length);
    }

    @Test
    void notANotificationIsRejected() {
        assertThrows(DeliveryRejectedException.class,
                () -> builder.build("[]".getBytes(StandardCharsets.UTF_8), 0L));
    }

    @Test
    void backportTimeoutIsUsedUpToTheMaximumAndTheDefaultOtherwise() throws Exception {
        Subscription s = subscription("http://hook.example/in");
        assertEquals(7000, builder.build(record(s, "heartbeat"), 0L).timeoutMs());
        s.getChannel().addExtension(BackportSubscription.TIMEOUT, new UnsignedIntType(3));
        assertEquals(3000, builder.build(record(s, "heartbeat"), 0L).timeoutMs());
        s.getChannel().getExtensionByUrl(BackportSubscription.TIMEOUT).setValue(new UnsignedIntType(600));
        assertEquals(20_000, builder.build(record(s, "heartbeat"), 0L).timeoutMs());
    }

    @Test
    void backportHeartbeatWithoutPayloadContentIsAnEmptyBundleWithoutEventCount() throws Exception {
        Subscription s = subscription("http://hook.example/in");
        s.getMeta().addProfile(BackportSubscription.PROFILE);
        RestHookRequest r = builder.build(record(s, "heartbeat"), 41L);
        assertEquals("application/fhir+json", r.contentType());
        Bundle b = (Bundle) FhirR4.context().newJsonParser().parseResource(new String(r.body(), StandardCharsets.UTF_8));
        assertEquals(1, b.getEntry().size());
        Parameters p = (Parameters) b.getEntryFirstRep().getResource();
        assertEquals("heartbeat", p.getParameter("type").getValue().primitiveValue());
        assertNull(p.getParameter("events-since-subscription-start"));
        assertEquals("http://fhir.example/fhir/Subscription/s1/$status", b.getEntryFirstRep().getRequest().getUrl());
    }
}
