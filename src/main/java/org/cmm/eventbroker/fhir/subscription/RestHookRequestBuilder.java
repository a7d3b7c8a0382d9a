package org.cmm.eventbroker.fhir.subscription;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

import ca.uhn.fhir.parser.IParser;
import com.fasterxml.jackson.databind.JsonNode;
import org.cmm.eventbroker.platform.delivery.DeliveryRejectedException;
import org.cmm.eventbroker.fhir.FhirR4;
import org.hl7.fhir.r4.model.Resource;
import org.hl7.fhir.r4.model.StringType;
import org.hl7.fhir.r4.model.Subscription;

/**
 * Turns a notification record of {@code fhir.subscription.rest-hook} into the HTTP request the subscriber expects: URL
 * ({@code channel.endpoint}), the {@code channel.header} entries as HTTP headers, Content-Type and the body, and
 * nothing else (the record's Kafka and CloudEvents headers are not the subscriber's business). Method and body follow
 * the Subscription:
 * <ul>
 *   <li>R4 classic, {@code channel.payload} absent: an empty POST to the endpoint;</li>
 *   <li>R4 classic with a payload MIME type: as R4 says ("the URL is interpreted as the service base") and HAPI FHIR's
 *       own server does it, {@code PUT <endpoint>/<type>/<id>} with the resource in that format, and
 *       {@code DELETE <endpoint>/<type>/<id>} for a delete; handshakes and heartbeats are an empty POST;</li>
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
        String method = "POST";
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
        } else if (SubscriptionNotification.EVENT_NOTIFICATION.equals(n.type()) && n.focus() != null) {
            String target = withoutTrailingSlash(endpoint) + "/" + typeAndId(n.focus(), n.subscriptionId());
            if ("deleted".equals(n.operation()) || n.resource() == null || n.resource().isNull()) {
                method = "DELETE";
                body = new byte[0];
            } else {
                method = "PUT";
                contentType = payload;
                body = encode(parse(Resource.class, n.resource(), "resource"), payload, n.subscriptionId());
            }
            endpoint = target;
        } else {
            body = new byte[0];
        }
        Long timeoutSeconds = BackportSubscription.timeoutSeconds(subscription);
        long timeout = timeoutSeconds == null ? timeoutMs : Math.min(timeoutSeconds * 1000, maxTimeoutMs);
        return new RestHookRequest(method, endpoint, headers, contentType, body, timeout);
    }

    private static String withoutTrailingSlash(String url) {
        return url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
    }

    /** {@code Type/id} of a focus {@code Type/id[/_history/v]}. */
    private static String typeAndId(String focus, String subscriptionId) throws DeliveryRejectedException {
        String[] parts = focus.split("/");
        if (parts.length < 2 || parts[0].isEmpty() || parts[1].isEmpty()) {
            throw new DeliveryRejectedException(subscriptionId + ": notification focus is not Type/id");
        }
        return parts[0] + "/" + parts[1];
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
