package org.cmm.eventbroker.fhir.subscription;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;

import org.hl7.fhir.r4.model.StringType;
import org.hl7.fhir.r4.model.Subscription;
import org.junit.jupiter.api.Test;

class SubscriptionValidatorTest {

    private static final String TOPIC = "http://cmm.org/fhir/SubscriptionTopic/observation-changed";
    private final SubscriptionValidator validator = new SubscriptionValidator(SubscriptionTopics.of(
            List.of(new SubscriptionTopics.Topic(TOPIC, "Observation", Set.of("created", "deleted")))));

    private static Subscription restHook(String criteria, String endpoint) {
        Subscription s = new Subscription();
        s.setId("s1");
        s.setStatus(Subscription.SubscriptionStatus.REQUESTED);
        s.setCriteria(criteria);
        s.getChannel().setType(Subscription.SubscriptionChannelType.RESTHOOK).setEndpoint(endpoint)
                .setPayload("application/fhir+json");
        return s;
    }

    @Test
    void r4RestHookSubscriptionMatchesCreatesAndUpdatesOfItsType() throws Exception {
        SubscriptionRule rule = validator.validate(restHook("Observation?code=http://loinc.org|8867-4", "https://ehr.example/hook"));
        assertEquals("Observation", rule.resourceType());
        assertEquals(Set.of("created", "updated"), rule.operations());
        assertEquals("rest-hook", rule.channelType());
    }

    @Test
    void channelsAndEndpointsAreChecked() {
        Subscription message = restHook("Observation?code=x", "https://ehr.example/hook");
        message.getChannel().setType(Subscription.SubscriptionChannelType.MESSAGE);
        assertMessage("unsupported channel type 'message'", () -> validator.validate(message));
        assertMessage("channel.endpoint missing", () -> validator.validate(restHook("Observation?code=x", null)));
        assertMessage("http(s) URL", () -> validator.validate(restHook("Observation?code=x", "mailto:a@b.example")));
        Subscription email = restHook("Observation?code=x", "https://x.example");
        email.getChannel().setType(Subscription.SubscriptionChannelType.EMAIL);
        assertMessage("mailto:", () -> validator.validate(email));
        Subscription sms = restHook("Observation?code=x", "tel:+41 44 000 00 00");
        sms.getChannel().setType(Subscription.SubscriptionChannelType.SMS);
        assertNull(catching(sms));
        Subscription ws = restHook("Observation?code=x", null);
        ws.getChannel().setType(Subscription.SubscriptionChannelType.WEBSOCKET);
        assertNull(catching(ws));
        Subscription xml = restHook("Observation?code=x", "https://x.example");
        xml.getChannel().setPayload("application/fhir+xml");
        assertMessage("unsupported channel.payload", () -> validator.validate(xml));
    }

    @Test
    void backportSubscriptionTakesTypeAndTriggersFromItsTopicAndFiltersFromTheExtension() throws Exception {
        Subscription s = restHook(TOPIC, "https://ehr.example/hook");
        s.getMeta().addProfile(SubscriptionValidator.BACKPORT_PROFILE);
        s.getCriteriaElement().addExtension(SubscriptionValidator.FILTER_CRITERIA_EXTENSION,
                new StringType("Observation?patient=Patient/p1"));
        SubscriptionRule rule = validator.validate(s);
        assertEquals(Set.of("created", "deleted"), rule.operations());
        assertEquals(1, rule.filters().size());
        assertTrue(rule.filtered());

        Subscription unknown = restHook("http://example.org/other-topic", "https://ehr.example/hook");
        unknown.getMeta().addProfile(SubscriptionValidator.BACKPORT_PROFILE);
        assertMessage("unknown SubscriptionTopic", () -> validator.validate(unknown));

        Subscription wrongType = restHook(TOPIC, "https://ehr.example/hook");
        wrongType.getMeta().addProfile(SubscriptionValidator.BACKPORT_PROFILE);
        wrongType.getCriteriaElement().addExtension(SubscriptionValidator.FILTER_CRITERIA_EXTENSION,
                new StringType("Encounter?patient=Patient/p1"));
        assertMessage("not the topic's resource type", () -> validator.validate(wrongType));
    }

    @Test
    void theShippedTopicsFileLoads() {
        SubscriptionTopics topics = SubscriptionTopics.load("routes/fhir/subscription-topics.yaml");
        assertEquals(Set.of("created", "updated", "deleted"), topics.topic(TOPIC).orElseThrow().operations());
        assertMessage("no-such-file.yaml cannot be read", () -> SubscriptionTopics.load("routes/fhir/no-such-file.yaml"));
    }

    private String catching(Subscription s) {
        try {
            validator.validate(s);
            return null;
        } catch (InvalidSubscriptionException e) {
            return e.getMessage();
        }
    }

    private static void assertMessage(String expected, org.junit.jupiter.api.function.Executable call) {
        Throwable t = assertThrows(Throwable.class, call);
        assertTrue(t.getMessage() != null && t.getMessage().contains(expected), "message '" + t.getMessage() + "' lacks '" + expected + "'");
    }
}
