package org.cmm.eventbroker.fhir.subscription.channel;

import java.util.LinkedHashMap;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.component.kafka.KafkaConstants;
import org.cmm.eventbroker.platform.delivery.DeliveryRejectedException;
import org.cmm.eventbroker.fhir.subscription.SubscriptionNotification;

/**
 * A notification record of {@code fhir.subscription.<channel-type>} as the websocket, email and sms delivery routes
 * see it: read and checked once (an unreadable record, a record of another channel or an endpoint with the wrong
 * scheme can never be delivered: {@link DeliveryRejectedException}), and the values the channel templates may quote,
 * which name the subscription, the resource (Type/id), the operation and the time, never resource content.
 *
 * <p>The channel steps replace the body and headers with what the peer gets (mail, SMS gateway request, websocket
 * frame) on a copy of the record ({@link ChannelSendOutcome}).
 */
public final class ChannelNotification {

    /** Exchange property: true when the channel sends something for this notification (event notifications). */
    public static final String SEND_PROPERTY = "CmmFhirNotificationSend";

    static final String BACKPORT_PROFILE =
            "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription";
    static final String BACKPORT_PAYLOAD_CONTENT =
            "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content";

    private final SubscriptionNotification notification;
    private final long eventNumber;

    private ChannelNotification(SubscriptionNotification notification, long eventNumber) {
        this.notification = notification;
        this.eventNumber = eventNumber;
    }

    /** Reads the exchange's record and checks it belongs to {@code channelType}. */
    public static ChannelNotification read(Exchange exchange, String channelType) throws DeliveryRejectedException {
        Message message = exchange.getMessage();
        byte[] value = message.getBody(byte[].class);
        if (value == null || value.length == 0) {
            throw new DeliveryRejectedException("empty subscription notification record");
        }
        SubscriptionNotification n;
        try {
            n = SubscriptionNotification.fromJson(value);
        } catch (IllegalArgumentException e) {
            throw new DeliveryRejectedException(e.getMessage());
        }
        String type = n.subscription().path("channel").path("type").asText("");
        if (!channelType.equals(type)) {
            throw new DeliveryRejectedException(n.subscriptionId() + " has channel type '" + type
                    + "', not " + channelType);
        }
        Long offset = message.getHeader(KafkaConstants.OFFSET, Long.class);
        return new ChannelNotification(n, offset == null ? 0 : offset + 1);
    }

    public SubscriptionNotification notification() {
        return notification;
    }

    /** Event notifications are sent; handshakes and heartbeats mean nothing on these channels. */
    public boolean isEvent() {
        return SubscriptionNotification.EVENT_NOTIFICATION.equals(notification.type());
    }

    /** {@code Subscription.channel.endpoint}, or an empty string. */
    public String endpoint() {
        return notification.subscription().path("channel").path("endpoint").asText("").trim();
    }

    /** The logical id of the subscription: {@code abc} of {@code Subscription/abc}. */
    public String subscriptionLogicalId() {
        String id = notification.subscriptionId();
        return id.startsWith("Subscription/") ? id.substring("Subscription/".length()) : id;
    }

    /** {@code Type/id} of the changed resource (the focus without {@code _history}), or an empty string. */
    public String reference() {
        String focus = notification.focus();
        if (focus == null) {
            return "";
        }
        int history = focus.indexOf("/_history/");
        return history < 0 ? focus : focus.substring(0, history);
    }

    /**
     * Whether the subscription asked for the resource: R4, when {@code channel.payload} (a MIME type) is set; the
     * backport form, when the payload content is {@code full-resource}. Never for deletes.
     */
    public boolean includesResource() {
        if (notification.resource() == null || notification.resource().isNull()) {
            return false;
        }
        if (isBackport()) {
            return "full-resource".equals(backportPayloadContent());
        }
        return !notification.subscription().path("channel").path("payload").asText("").isBlank();
    }

    /** Backport payload content: {@code empty}, {@code id-only} or {@code full-resource} ({@code empty} when unsaid). */
    public String backportPayloadContent() {
        for (JsonNode ext : notification.subscription().path("channel").path("_payload").path("extension")) {
            if (BACKPORT_PAYLOAD_CONTENT.equals(ext.path("url").asText())) {
                return ext.path("valueCode").asText("empty");
            }
        }
        return "empty";
    }

    /** The Kafka offset + 1 of the record: the event number of the notification. */
    public long eventNumber() {
        return eventNumber;
    }

    /** {@code channel.payload}, the MIME type the subscription asked for (application/fhir+json when not said). */
    public String payloadMimeType() {
        String payload = notification.subscription().path("channel").path("payload").asText("").trim();
        return payload.isEmpty() ? "application/fhir+json" : payload;
    }

    public boolean isBackport() {
        for (JsonNode profile : notification.subscription().path("meta").path("profile")) {
            if (BACKPORT_PROFILE.equals(profile.asText())) {
                return true;
            }
        }
        return false;
    }

    /**
     * The values the channel templates may quote: {@code subscriptionId} (Subscription/abc), {@code reference}
     * (Observation/123), {@code focus} (Observation/123/_history/4), {@code operation}, {@code eventTime},
     * {@code eventNumber}, {@code type}.
     */
    public Map<String, String> templateValues() {
        Map<String, String> values = new LinkedHashMap<>();
        values.put("subscriptionId", notification.subscriptionId());
        values.put("reference", reference());
        values.put("focus", notification.focus() == null ? "" : notification.focus());
        values.put("operation", notification.operation() == null ? "" : notification.operation());
        values.put("eventTime", notification.eventTime() == null ? "" : notification.eventTime());
        values.put("eventNumber", String.valueOf(eventNumber));
        values.put("type", notification.type());
        return values;
    }
}
