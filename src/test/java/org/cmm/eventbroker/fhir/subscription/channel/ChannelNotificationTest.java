package org.cmm.eventbroker.fhir.subscription.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.cmm.eventbroker.platform.delivery.DeliveryRejectedException;
import org.cmm.eventbroker.fhir.subscription.SubscriptionNotification;
import org.junit.jupiter.api.Test;

class ChannelNotificationTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private final CamelContext camel = new DefaultCamelContext();

    private Exchange record(String channelJson, String metaJson, String resourceJson) throws Exception {
        String subscription = "{\"resourceType\":\"Subscription\",\"id\":\"s1\"" + (metaJson == null ? "" : ",\"meta\":" + metaJson)
                + ",\"channel\":" + channelJson + "}";
        SubscriptionNotification n = new SubscriptionNotification("event-notification", "Subscription/s1",
                JSON.readTree(subscription), "Observation/9/_history/2", "2026-11-26T10:00:00Z", "Observation/9/_history/2",
                "updated", resourceJson == null ? null : JSON.readTree(resourceJson));
        Exchange e = new DefaultExchange(camel);
        e.getMessage().setBody(n.toJson());
        e.getMessage().setHeader("kafka.OFFSET", 41L);
        return e;
    }

    @Test
    void templateValuesNameTheResourceNotItsContent() throws Exception {
        ChannelNotification n = ChannelNotification.read(record("{\"type\":\"email\",\"endpoint\":\"mailto:a@b.org\"}", null,
                "{\"resourceType\":\"Observation\",\"id\":\"9\",\"note\":[{\"text\":\"Secret\"}]}"), "email");
        Map<String, String> v = n.templateValues();
        assertEquals("Observation/9", v.get("reference"));
        assertEquals("Observation/9/_history/2", v.get("focus"));
        assertEquals("42", v.get("eventNumber"));
        assertEquals("Subscription/s1", v.get("subscriptionId"));
        assertFalse(v.values().stream().anyMatch(s -> s.contains("Secret")));
        assertFalse(n.includesResource(), "no channel.payload: no resource");
    }

    @Test
    void theResourceIsIncludedOnlyWhenR4PayloadIsSetOrBackportAsksForFullResource() throws Exception {
        String obs = "{\"resourceType\":\"Observation\",\"id\":\"9\"}";
        assertTrue(ChannelNotification.read(record("{\"type\":\"email\",\"endpoint\":\"mailto:a@b.org\",\"payload\":\"application/fhir+json\"}",
                null, obs), "email").includesResource());
        String backport = "{\"profile\":[\"" + ChannelNotification.BACKPORT_PROFILE + "\"]}";
        String idOnly = "{\"type\":\"email\",\"endpoint\":\"mailto:a@b.org\",\"payload\":\"application/fhir+json\",\"_payload\":"
                + "{\"extension\":[{\"url\":\"" + ChannelNotification.BACKPORT_PAYLOAD_CONTENT + "\",\"valueCode\":\"id-only\"}]}}";
        assertFalse(ChannelNotification.read(record(idOnly, backport, obs), "email").includesResource());
        assertTrue(ChannelNotification.read(record(idOnly.replace("id-only", "full-resource"), backport, obs), "email")
                .includesResource());
        assertFalse(ChannelNotification.read(record("{\"type\":\"email\",\"endpoint\":\"mailto:a@b.org\",\"payload\":\"application/fhir+json\"}",
                null, null), "email").includesResource(), "a delete has no resource");
    }

    @Test
    void backportBundlesCarryTheResourceOnlyForFullResourceAndOnlyWhenAllowed() throws Exception {
        String backport = "{\"profile\":[\"" + ChannelNotification.BACKPORT_PROFILE + "\"]}";
        String channel = "{\"type\":\"websocket\",\"payload\":\"application/fhir+json\",\"_payload\":"
                + "{\"extension\":[{\"url\":\"" + ChannelNotification.BACKPORT_PAYLOAD_CONTENT + "\",\"valueCode\":\"full-resource\"}]}}";
        String obs = "{\"resourceType\":\"Observation\",\"id\":\"9\",\"status\":\"final\",\"code\":{\"text\":\"Secret\"}}";
        ChannelNotification n = ChannelNotification.read(record(channel, backport, obs), "websocket");
        String allowed = BackportNotificationBundle.json(n, "http://fhir/base/", true);
        String denied = BackportNotificationBundle.json(n, "http://fhir/base", false);
        assertTrue(allowed.contains("Secret"), allowed);
        assertFalse(denied.contains("Secret"), denied);
        assertTrue(denied.contains("\"fullUrl\":\"http://fhir/base/Observation/9\""), denied);
        assertTrue(denied.contains("\"valueString\":\"42\""), "event number = offset + 1: " + denied);
        String empty = BackportNotificationBundle.json(ChannelNotification.read(record(channel.replace("full-resource", "empty"),
                backport, obs), "websocket"), "http://fhir/base", true);
        assertFalse(empty.contains("fullUrl"), empty);
    }

    @Test
    void aRecordOfAnotherChannelOrUnreadableIsRejected() throws Exception {
        assertThrows(DeliveryRejectedException.class,
                () -> ChannelNotification.read(record("{\"type\":\"sms\",\"endpoint\":\"tel:+491\"}", null, null), "email"));
        Exchange garbage = new DefaultExchange(camel);
        garbage.getMessage().setBody("{nope".getBytes(StandardCharsets.UTF_8));
        assertThrows(DeliveryRejectedException.class, () -> ChannelNotification.read(garbage, "email"));
    }

    @Test
    void mailtoEndpointsGiveTheAddressesAndOtherSchemesAreRejected() throws Exception {
        assertEquals(List.of("a@b.org", "c@d.org"), EmailNotificationComposer.recipients(ChannelNotification.read(
                record("{\"type\":\"email\",\"endpoint\":\"mailto:a@b.org,c%40d.org?subject=x\"}", null, null), "email")));
        DeliveryRejectedException e = assertThrows(DeliveryRejectedException.class, () -> EmailNotificationComposer.recipients(
                ChannelNotification.read(record("{\"type\":\"email\",\"endpoint\":\"https://x.org/hook\"}", null, null), "email")));
        assertTrue(e.getMessage().contains("'https'"), e.getMessage());
        assertThrows(DeliveryRejectedException.class, () -> EmailNotificationComposer.recipients(
                ChannelNotification.read(record("{\"type\":\"email\",\"endpoint\":\"mailto:nobody\"}", null, null), "email")));
    }

    @Test
    void telEndpointsGiveTheNumberWithoutSeparators() throws Exception {
        assertEquals("+4930123456", SmsNotificationComposer.number(ChannelNotification.read(
                record("{\"type\":\"sms\",\"endpoint\":\"tel:+49-30 (123) 456;ext=1\"}", null, null), "sms")));
        assertThrows(DeliveryRejectedException.class, () -> SmsNotificationComposer.number(ChannelNotification.read(
                record("{\"type\":\"sms\",\"endpoint\":\"tel:call-me\"}", null, null), "sms")));
    }

    @Test
    void templatesReplaceKnownNamesKeepUnknownOnesAndEscapeForJson() {
        NotificationTemplate t = new NotificationTemplate("{\"text\":\"{text}\",\"x\":\"{unknown}\"}");
        assertEquals("{\"text\":\"say \\\"hi\\\"\\n\",\"x\":\"{unknown}\"}", t.renderJson(Map.of("text", "say \"hi\"\n")));
        assertEquals("a $1 b", new NotificationTemplate("a {v} b").render(Map.of("v", "$1")));
    }
}
