package org.cmm.eventbroker.fhir.subscription.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Properties;
import java.util.Set;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.cmm.eventbroker.fhir.subscription.SubscriptionNotification;
import org.cmm.eventbroker.platform.security.http.Caller;
import org.junit.jupiter.api.Test;

/**
 * Per-Subscription authorization of the websocket channel: a token reads one Subscription with
 * {@code subscription-reader:<id>}, every one only with a role of {@code cmm.access.websocket.bind-roles}; and a
 * backport {@code full-resource} notification carries the resource only when access control is on (every bound client
 * proved it may read that Subscription), never to unauthenticated binds.
 */
class WebsocketSubscriptionAccessTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> EVERY = Set.of("system/Subscription.read");

    @Test
    void aTokenReadsOnlyTheSubscriptionsItsRolesName() {
        Caller subscriber = new Caller("svc-subscriber", Set.of("subscription-reader:1001", "subscription-reader:1002"));
        assertTrue(SubscriptionReadGrant.allows(subscriber, "1001", EVERY));
        assertTrue(SubscriptionReadGrant.allows(subscriber, "1002", EVERY));
        assertFalse(SubscriptionReadGrant.allows(subscriber, "1003", EVERY), "the next sequential id");
        assertFalse(SubscriptionReadGrant.allows(subscriber, "100", EVERY), "a prefix of a granted id");
        assertFalse(SubscriptionReadGrant.allows(new Caller("other", Set.of("subscription-reader")), "1001", EVERY),
                "the bare role names no Subscription");
        assertTrue(SubscriptionReadGrant.allows(new Caller("backend", Set.of("system/Subscription.read")), "9999", EVERY));
    }

    private static Exchange fullResourceNotification(CamelContext camel) throws Exception {
        String subscription = "{\"resourceType\":\"Subscription\",\"id\":\"s1\",\"meta\":{\"profile\":[\""
                + ChannelNotification.BACKPORT_PROFILE + "\"]},\"channel\":{\"type\":\"websocket\",\"payload\":"
                + "\"application/fhir+json\",\"_payload\":{\"extension\":[{\"url\":\""
                + ChannelNotification.BACKPORT_PAYLOAD_CONTENT + "\",\"valueCode\":\"full-resource\"}]}}}";
        SubscriptionNotification n = new SubscriptionNotification("event-notification", "Subscription/s1",
                JSON.readTree(subscription), "Observation/9/_history/2", "2026-11-26T10:00:00Z",
                "Observation/9/_history/2", "updated",
                JSON.readTree("{\"resourceType\":\"Observation\",\"id\":\"9\",\"code\":{\"text\":\"Secret\"}}"));
        Exchange e = new DefaultExchange(camel);
        e.getMessage().setBody(n.toJson());
        e.getMessage().setHeader("kafka.OFFSET", 41L);
        return e;
    }

    private static String sentFrame(boolean accessControl) throws Exception {
        CamelContext camel = new DefaultCamelContext();
        Properties props = new Properties();
        props.put("cmm.access.enabled", String.valueOf(accessControl));
        props.put("cmm.security.oidc.audience", "cmm-event-broker");
        props.put("cmm.access.websocket.bind-roles", "system/Subscription.read");
        camel.getPropertiesComponent().setInitialProperties(props);
        WebsocketBindings bindings = new WebsocketBindings();
        bindings.setResourceContent(true);
        bindings.setServerBaseUrl("http://fhir/base");
        Exchange bind = new DefaultExchange(camel);
        bind.getMessage().setHeader(WebsocketBindings.CONNECTION_KEY, "conn-1");
        bind.getMessage().setBody("bind s1");
        if (!accessControl) {
            bindings.onClientEvent(bind);
            assertEquals("bound s1", bind.getMessage().getBody(String.class));
        } else {
            // a granted bind, as onClientEvent records it after the token check (the check itself: HttpAccessIT)
            bindings.onClientEvent(bind);
            assertTrue(bind.getMessage().getBody(String.class).startsWith("error authentication required"));
            bindings.bindVerified("conn-1", "s1");
        }
        Exchange notification = fullResourceNotification(camel);
        bindings.prepare(notification);
        return notification.getMessage().getBody(String.class);
    }

    @Test
    void fullResourceContentGoesOnlyToClientsThatProvedTheyMayReadTheSubscription() throws Exception {
        String unauthenticated = sentFrame(false);
        assertFalse(unauthenticated.contains("Secret"), unauthenticated);
        assertTrue(unauthenticated.contains("\"fullUrl\":\"http://fhir/base/Observation/9\""), unauthenticated);
        String authorized = sentFrame(true);
        assertTrue(authorized.contains("Secret"), authorized);
    }
}
