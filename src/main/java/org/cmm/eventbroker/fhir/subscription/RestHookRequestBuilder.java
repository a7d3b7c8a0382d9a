package org.cmm.eventbroker.fhir.subscription;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

import ca.uhn.fhir.parser.IParser;
import com.fasterxml.jackson.databind.JsonNode;
import org.cmm.eventbroker.delivery.DeliveryRejectedException;
import org.cmm.eventbroker.fhir.FhirR4;
import org.hl7.fhir.r4.model.Resource;
import org.hl7.fhir.r4.model.StringType;
import org.hl7.fhir.r4.model.Subscription;

/**
 * Turns a notification record of {@code fhir.subscription.rest-hook} into the HTTP POST the subscriber expects: URL
 * ({@code channel.endpoint}), the {@code channel.header} entries as HTTP headers, Content-Type and the body, and
 * nothing else (the record's Kafka and CloudEvents headers are not the subscriber's business). The body follows the
 * Subscription:
 * <ul>
 *   <li>R4 classic, {@code channel.payload} absent: empty body;</li>
 *   <li>R4 classic with a payload MIME type: the resource in that format (empty for deletes, handshakes, heartbeats);</li>
 *   <li>backport (topic-based) Subscription: the notification Bundle ({@link NotificationBundle}) with the payload
 *       content of {@code backport-payload-content}.</li>
 * </ul>
 * The timeout of the POST (connect and response) is the Subscription's {@code backport-timeout} when given, capped
 * at {@code maxTimeoutMs}, else {@code timeoutMs}.
 *
 * <p>A notification that can never be posted (not a notification, no endpoint, a header without a colon, an unknown
 * payload type or content) is rejected with {@link DeliveryRejectedException}: dead-lettered, not retried.
 */
public class RestHookRequestBuilder {

    private static final String FHIR_JSON = "application/fhir+json";

    private String serverBaseUrl;
    private long timeoutMs = 10_000;
    private long maxTimeoutMs = 60_000;

    public void setServerBaseUrl(String serverBaseUrl) {
        this.serverBaseUrl = serverBaseUrl;
    }

    public void setTimeoutMs(long timeoutMs) {
        this.timeoutMs = timeoutMs;
    }

    public void setMaxTimeoutMs(long maxTimeoutMs) {
        this.maxTimeoutMs = maxTimeoutMs;
    }

    /**
     * The request for a notification record.
     *
     * @param record the record value (SubscriptionNotification JSON)
     * @param offset the record's Kafka offset (event number = offset + 1); null when unknown
     */
    public RestHookRequest build(byte[] record, Long offset) throws DeliveryRejectedException {
        SubscriptionNotification n;
        try {
            n = SubscriptionNotification.fromJson(record == null ? new byte[0] : record);
        } catch (IllegalArgumentException e) {
            throw new DeliveryRejectedException(e.getMessage());
        }
        Subscription subscription = parse(Subscription.class, n.subscription(), "subscription");
        String endpoint = subscription.getChannel().getEndpoint();
        if (endpoint == null || !(endpoint.startsWith("http://") || endpoint.startsWith("https://"))) {
            throw new DeliveryRejectedException(n.subscriptionId() + " has no http(s) channel.endpoint");
        }
        Map<String, String> headers = new LinkedHashMap<>();
        for (StringType line : subscription.getChannel().getHeader()) {
            String h = line.getValue() == null ? "" : line.getValue();
            int colon = h.indexOf(':');
            if (colon <= 0) {
                throw new DeliveryRejectedException(n.subscriptionId() + " has a channel.header that is not 'Name: value'");
            }
            headers.put(h.substring(0, colon).trim(), h.substring(colon + 1).trim());
        }
        String payload = subscription.getChannel().getPayload();
        byte[] body;
        String contentType = null;
        if (BackportSubscription.isBackport(subscription)) {
            String content = BackportSubscription.payloadContent(subscription);
            if (content == null) {
                throw new DeliveryRejectedException(n.subscriptionId() + " names an unknown backport-payload-content");
            }
            contentType = payload == null || payload.isBlank() ? FHIR_JSON : payload;
            Resource resource = BackportSubscription.FULL_RESOURCE.equals(content) && n.resource() != null
                    && !n.resource().isNull() ? parse(Resource.class, n.resource(), "resource") : null;
            long eventNumber = offset == null ? 0 : offset + 1;
            body = encode(NotificationBundle.of(n, subscription, resource, eventNumber, serverBaseUrl, content),
                    contentType, n.subscriptionId());
        } else if (payload == null || payload.isBlank()) {
            body = new byte[0];
        } else {
            contentType = payload;
            boolean hasResource = SubscriptionNotification.EVENT_NOTIFICATION.equals(n.type()) && n.resource() != null
                    && !n.resource().isNull();
            body = hasResource ? encode(parse(Resource.class, n.resource(), "resource"), payload, n.subscriptionId())
                    : new byte[0];
        }
        Long timeoutSeconds = BackportSubscription.timeoutSeconds(subscription);
        long timeout = timeoutSeconds == null ? timeoutMs : Math.min(timeoutSeconds * 1000, maxTimeoutMs);
        return new RestHookRequest(endpoint, headers, contentType, body, timeout);
    }

    private static <T extends Resource> T parse(Class<T> type, JsonNode json, String what) throws DeliveryRejectedException {
        try {
            IParser parser = FhirR4.context().newJsonParser();
            Object parsed = parser.parseResource(json.toString());
            if (!type.isInstance(parsed)) {
                throw new DeliveryRejectedException("notification " + what + " is not a " + type.getSimpleName());
            }
            return type.cast(parsed);
        } catch (RuntimeException e) {
            throw new DeliveryRejectedException("notification " + what + " is not FHIR R4 JSON (" + e.getClass().getSimpleName() + ")");
        }
    }

    private static byte[] encode(Resource resource, String mimeType, String subscriptionId) throws DeliveryRejectedException {
        String mime = mimeType.toLowerCase(java.util.Locale.ROOT);
        IParser parser;
        if (mime.startsWith(FHIR_JSON) || mime.startsWith("application/json")) {
            parser = FhirR4.context().newJsonParser();
        } else if (mime.startsWith("application/fhir+xml") || mime.startsWith("application/xml")) {
            parser = FhirR4.context().newXmlParser();
        } else {
            throw new DeliveryRejectedException(subscriptionId + " asks for an unsupported channel.payload type");
        }
        parser.setStripVersionsFromReferences(false);
        return parser.encodeResourceToString(resource).getBytes(StandardCharsets.UTF_8);
    }
}
