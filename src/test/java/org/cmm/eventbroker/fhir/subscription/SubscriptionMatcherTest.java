package org.cmm.eventbroker.fhir.subscription;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Set;

import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.cmm.eventbroker.platform.delivery.DeliveryRejectedException;
import org.cmm.eventbroker.fhir.FhirEventHeaders;
import org.cmm.eventbroker.fhir.FhirR4;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.StringType;
import org.hl7.fhir.r4.model.Subscription;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The matcher's decisions without Kafka or a FHIR server: the registry is a stand-in that returns fixed active
 * subscriptions (the real one reads fhir.subscriptions; FhirSubscriptionMatcherIT runs that).
 */
class SubscriptionMatcherTest {

    private static final String TOPIC = "http://cmm.org/fhir/SubscriptionTopic/observation-changed";
    private final CamelContext camel = new DefaultCamelContext();

    @AfterEach
    void close() throws Exception {
        camel.close();
    }

    /** Stand-in registry returning a fixed list. */
    private static final class FixedRegistry extends SubscriptionRegistry {
        private final List<Subscription> active;

        FixedRegistry(Subscription... active) {
            this.active = List.of(active);
        }

        @Override
        public List<Subscription> active() {
            return active;
        }
    }

    private SubscriptionMatcher matcher(Subscription... active) {
        SubscriptionMatcher m = new SubscriptionMatcher();
        m.setRegistry(new FixedRegistry(active));
        m.setValidator(new SubscriptionValidator(SubscriptionTopics.of(List.of(
                new SubscriptionTopics.Topic(TOPIC, "Observation", Set.of("created", "updated", "deleted"))))));
        return m;
    }

    private static Subscription sub(String id, String criteria, String channel) {
        Subscription s = new Subscription();
        s.setId(id);
        s.setStatus(Subscription.SubscriptionStatus.ACTIVE);
        s.setCriteria(criteria);
        s.getChannel().getTypeElement().setValueAsString(channel);
        s.getChannel().setEndpoint(channel.equals("rest-hook") ? "https://x.example/hook" : null);
        return s;
    }

    private static Subscription backport(String id, String filter) {
        Subscription s = sub(id, TOPIC, "websocket");
        s.getMeta().addProfile(SubscriptionValidator.BACKPORT_PROFILE);
        if (filter != null) {
            s.getCriteriaElement().addExtension(SubscriptionValidator.FILTER_CRITERIA_EXTENSION, new StringType(filter));
        }
        return s;
    }

    private Exchange change(String id, String code, String operation) {
        Exchange e = new DefaultExchange(camel);
        Observation o = new Observation();
        o.setId(id);
        o.setCode(new CodeableConcept().addCoding(new Coding("http://loinc.org", code, null)));
        String body = operation.equals("deleted") ? "{\"resourceType\":\"Observation\",\"id\":\"" + id + "\"}"
                : FhirR4.context().newJsonParser().encodeResourceToString(o);
        e.getMessage().setBody(body.getBytes(StandardCharsets.UTF_8));
        e.getMessage().setHeader(FhirEventHeaders.RESOURCE_TYPE, "Observation");
        e.getMessage().setHeader(FhirEventHeaders.RESOURCE_ID, id);
        e.getMessage().setHeader(FhirEventHeaders.VERSION_ID, "3");
        e.getMessage().setHeader(FhirEventHeaders.OPERATION, operation);
        e.getMessage().setHeader("ce_id", "Observation/" + id + "/_history/3");
        return e;
    }

    private static List<String> subscriptionIds(List<Message> notifications) {
        return notifications.stream().map(m -> m.getHeader(FhirEventHeaders.SUBSCRIPTION_ID, String.class)).sorted().toList();
    }

    @Test
    void oneNotificationPerMatchingSubscriptionWithTheDocumentedHeaders() throws Exception {
        SubscriptionMatcher m = matcher(sub("hr", "Observation?code=http://loinc.org|8867-4", "rest-hook"),
                sub("temp", "Observation?code=8310-5", "websocket"), sub("all", "Observation", "websocket"));
        List<Message> got = m.match(change("o1", "8867-4", "created"));
        assertEquals(List.of("Subscription/all", "Subscription/hr"), subscriptionIds(got));
        Message hr = got.stream().filter(n -> n.getHeader(FhirEventHeaders.SUBSCRIPTION_ID).equals("Subscription/hr"))
                .findFirst().orElseThrow();
        assertEquals("rest-hook", hr.getHeader(FhirEventHeaders.CHANNEL_TYPE));
        assertEquals("event-notification", hr.getHeader(FhirEventHeaders.NOTIFICATION_TYPE));
        assertEquals("Observation/o1/_history/3", hr.getHeader("ce_id"));
        SubscriptionNotification n = SubscriptionNotification.fromJson(hr.getBody(byte[].class));
        assertEquals("Observation/o1/_history/3", n.focus());
        assertEquals("created", n.operation());
        assertEquals("8867-4", n.resource().at("/code/coding/0/code").asText());
    }

    @Test
    void aSubscriptionPastItsEndOrNotActiveIsNotMatched() throws Exception {
        Subscription ended = sub("ended", "Observation", "websocket");
        ended.setEnd(Date.from(Instant.now().minusSeconds(60)));
        Subscription future = sub("future", "Observation", "websocket");
        future.setEnd(Date.from(Instant.now().plusSeconds(3600)));
        assertEquals(List.of("Subscription/future"), subscriptionIds(matcher(ended, future).match(change("o1", "x", "updated"))));
    }

    @Test
    void deletesNotifyOnlyUnfilteredTopicsWithADeleteTrigger() throws Exception {
        SubscriptionMatcher m = matcher(sub("r4", "Observation", "websocket"), backport("topic", null),
                backport("filtered", "Observation?code=8867-4"));
        List<Message> got = m.match(change("o1", "8867-4", "deleted"));
        assertEquals(List.of("Subscription/topic"), subscriptionIds(got));
        SubscriptionNotification n = SubscriptionNotification.fromJson(got.get(0).getBody(byte[].class));
        assertTrue(n.resource() == null || n.resource().isNull());
        assertEquals(List.of("Subscription/filtered", "Subscription/r4", "Subscription/topic"),
                subscriptionIds(m.match(change("o1", "8867-4", "created"))));
        assertEquals(List.of("Subscription/r4", "Subscription/topic"),
                subscriptionIds(m.match(change("o2", "8310-5", "created"))));
    }

    @Test
    void unreadableChangeRecordsAreRejectedWithAReasonNamingThePart() {
        Exchange noType = change("o1", "x", "created");
        noType.getMessage().removeHeader(FhirEventHeaders.RESOURCE_TYPE);
        assertTrue(assertThrows(DeliveryRejectedException.class, () -> matcher().match(noType)).getMessage()
                .contains(FhirEventHeaders.RESOURCE_TYPE));
        Exchange badOp = change("o1", "x", "created");
        badOp.getMessage().setHeader(FhirEventHeaders.OPERATION, "patched");
        assertThrows(DeliveryRejectedException.class, () -> matcher().match(badOp));
        Exchange notJson = change("o1", "x", "created");
        notJson.getMessage().setBody("<Observation/>".getBytes(StandardCharsets.UTF_8));
        assertTrue(assertThrows(DeliveryRejectedException.class, () -> matcher().match(notJson)).getMessage()
                .contains("not FHIR R4 JSON"));
        Exchange otherType = change("o1", "x", "created");
        otherType.getMessage().setHeader(FhirEventHeaders.RESOURCE_TYPE, "Patient");
        assertTrue(assertThrows(DeliveryRejectedException.class, () -> matcher().match(otherType)).getMessage()
                .contains("another resource type"));
    }
}
