package org.cmm.eventbroker.fhir.subscription;

import java.io.IOException;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * One notification queued for a subscription's channel on {@code fhir.subscription.<channel-type>} (record value,
 * JSON; docs/fhir/events-and-subscriptions.md): what the matcher decided to send, with the Subscription as it was when
 * the change matched, so the delivery routes need no other look-up.
 *
 * @param type           {@code event-notification}, {@code handshake} or {@code heartbeat}
 * @param subscriptionId {@code Subscription/<id>}
 * @param subscription   the Subscription resource (R4 JSON)
 * @param eventId        {@code ce_id} of the change event; null for handshake and heartbeat
 * @param eventTime      ISO-8601 time of the change; null for handshake and heartbeat
 * @param focus          {@code Type/id/_history/version} (or {@code Type/id}) of the changed resource
 * @param operation      {@code created}, {@code updated} or {@code deleted}
 * @param resource       the resource (R4 JSON); null for deletes, handshake and heartbeat
 */
@JsonInclude(JsonInclude.Include.ALWAYS)
public record SubscriptionNotification(String type, String subscriptionId, JsonNode subscription, String eventId,
                                       String eventTime, String focus, String operation, JsonNode resource) {

    public static final String EVENT_NOTIFICATION = "event-notification";
    public static final String HANDSHAKE = "handshake";
    public static final String HEARTBEAT = "heartbeat";

    private static final ObjectMapper JSON = new ObjectMapper();

    public byte[] toJson() {
        try {
            return JSON.writeValueAsBytes(this);
        } catch (IOException e) {
            throw new IllegalStateException("notification not serialisable", e);
        }
    }

    /** Reads a record value; throws {@link IllegalArgumentException} naming what is wrong when it is not one. */
    public static SubscriptionNotification fromJson(byte[] json) {
        SubscriptionNotification n;
        try {
            n = JSON.readValue(json, SubscriptionNotification.class);
        } catch (IOException e) {
            throw new IllegalArgumentException("not a subscription notification: " + e.getClass().getSimpleName());
        }
        if (n.type() == null || n.subscriptionId() == null || n.subscription() == null) {
            throw new IllegalArgumentException("subscription notification without type, subscriptionId or subscription");
        }
        return n;
    }
}
