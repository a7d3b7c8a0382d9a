package org.cmm.eventbroker.fhir.subscription;

import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.component.kafka.KafkaConstants;
import org.cmm.eventbroker.fhir.FhirEventHeaders;
import org.cmm.eventbroker.fhir.FhirR4;
import org.hl7.fhir.r4.model.Subscription;

/**
 * Decides when an active rest-hook Subscription with a {@code backport-heartbeat-period} is due a heartbeat: when
 * the period has passed since the last notification this instance queued for it (a heartbeat) or delivered to it.
 * A heartbeat queued but not yet delivered (endpoint down) holds further ones back for up to five periods, so an
 * outage does not pile heartbeats up behind the waiting notifications.
 *
 * <p>What it knows is this instance's: at start every subscription counts as just served (the first heartbeat comes
 * one period later), and with several instances each one sends heartbeats for the subscriptions it did not deliver
 * to itself (README, FHIR change events and subscriptions: run the heartbeat route on one instance only).
 */
public class RestHookHeartbeats {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String CHANNEL = "rest-hook";

    private final Map<String, Long> lastServed = new ConcurrentHashMap<>();
    private final Map<String, Long> pendingSince = new ConcurrentHashMap<>();
    private final long startedAt;
    private final Clock clock;
    private String registryBean = "subscriptionRegistry";

    public RestHookHeartbeats() {
        this(Clock.systemUTC());
    }

    RestHookHeartbeats(Clock clock) {
        this.clock = clock;
        this.startedAt = clock.millis();
    }

    /** Name of the {@link SubscriptionRegistry} bean (looked up at the first check, so bean files load in any order). */
    public void setRegistryBean(String registryBean) {
        this.registryBean = registryBean;
    }

    /** The heartbeat notifications due now (one per subscription at most), as records for fhir.subscription.rest-hook. */
    public List<SubscriptionNotification> due(Exchange exchange) throws Exception {
        SubscriptionRegistry registry = exchange.getContext().getRegistry()
                .lookupByNameAndType(registryBean, SubscriptionRegistry.class);
        if (registry == null) {
            throw new IllegalStateException("restHookHeartbeats needs the bean " + registryBean);
        }
        long now = clock.millis();
        List<SubscriptionNotification> due = new ArrayList<>();
        for (Subscription s : registry.active()) {
            if (s.getChannel().getType() != Subscription.SubscriptionChannelType.RESTHOOK) {
                continue;
            }
            Long period = BackportSubscription.heartbeatPeriodSeconds(s);
            if (period == null) {
                continue;
            }
            String id = SubscriptionRegistry.keyOf(s);
            long periodMs = period * 1000;
            Long pending = pendingSince.get(id);
            if (pending != null && now - pending < 5 * periodMs) {
                continue;
            }
            if (now - lastServed.getOrDefault(id, startedAt) < periodMs) {
                continue;
            }
            JsonNode subscription = JSON.readTree(FhirR4.context().newJsonParser().encodeResourceToString(s));
            due.add(new SubscriptionNotification(SubscriptionNotification.HEARTBEAT, id, subscription, null, null, null,
                    null, null));
        }
        return due;
    }

    /** Makes the body (a heartbeat from {@link #due}) the record as docs/fhir/events-and-subscriptions.md describes. */
    public void toRecord(Exchange exchange) {
        SubscriptionNotification n = exchange.getMessage().getBody(SubscriptionNotification.class);
        Message m = exchange.getMessage();
        m.setHeader(KafkaConstants.KEY, n.subscriptionId());
        m.setHeader(FhirEventHeaders.SUBSCRIPTION_ID, n.subscriptionId());
        m.setHeader(FhirEventHeaders.NOTIFICATION_TYPE, n.type());
        m.setHeader(FhirEventHeaders.CHANNEL_TYPE, CHANNEL);
        m.setHeader("ce_id", UUID.randomUUID().toString());
        m.setBody(n.toJson());
    }

    /** The heartbeat record of the exchange was acknowledged by Kafka. */
    public void queued(Exchange exchange) {
        String id = exchange.getMessage().getHeader(FhirEventHeaders.SUBSCRIPTION_ID, String.class);
        long now = clock.millis();
        lastServed.put(id, now);
        pendingSince.put(id, now);
    }

    /** A notification (any type) of the exchange's subscription reached its endpoint. */
    public void delivered(Exchange exchange) {
        String id = exchange.getMessage().getHeader(FhirEventHeaders.SUBSCRIPTION_ID, String.class);
        if (id != null) {
            lastServed.put(id, clock.millis());
            pendingSince.remove(id);
        }
    }
}
