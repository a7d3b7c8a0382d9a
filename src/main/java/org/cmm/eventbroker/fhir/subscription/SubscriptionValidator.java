package org.cmm.eventbroker.fhir.subscription;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import org.hl7.fhir.r4.model.CanonicalType;
import org.hl7.fhir.r4.model.Extension;
import org.hl7.fhir.r4.model.Subscription;

/**
 * Decides whether this broker can serve a Subscription (R4, or the R4 topic-based backport form) and, when it can,
 * what it matches ({@link SubscriptionRule}). Supported: channel types rest-hook (http(s) endpoint), websocket (no
 * endpoint), email ({@code mailto:}) and sms ({@code tel:}); payload {@code application/fhir+json},
 * {@code application/json} or none; criteria a resource-type search of an R4 type, or for the backport form a topic
 * listed in {@link SubscriptionTopics} with filters of the topic's type.
 */
public class SubscriptionValidator {

    public static final String BACKPORT_PROFILE =
            "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription";
    public static final String FILTER_CRITERIA_EXTENSION =
            "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-filter-criteria";
    public static final String PAYLOAD_CONTENT_EXTENSION =
            "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content";

    private static final Set<String> CHANNELS = Set.of("rest-hook", "websocket", "email", "sms");
    private static final Set<String> PAYLOADS = Set.of("application/fhir+json", "application/json");
    private static final Set<String> PAYLOAD_CONTENTS = Set.of("empty", "id-only", "full-resource");

    private final SubscriptionTopics topics;

    public SubscriptionValidator(SubscriptionTopics topics) {
        this.topics = topics;
    }

    public static boolean isBackport(Subscription s) {
        return s.getMeta().getProfile().stream().map(CanonicalType::getValue).anyMatch(BACKPORT_PROFILE::equals);
    }

    public SubscriptionRule validate(Subscription s) throws InvalidSubscriptionException {
        String channel = s.getChannel().getTypeElement().getValueAsString();
        if (channel == null || channel.isBlank()) {
            throw new InvalidSubscriptionException("channel.type missing");
        }
        if (!CHANNELS.contains(channel)) {
            throw new InvalidSubscriptionException("unsupported channel type '" + channel
                    + "' (supported: rest-hook, websocket, email, sms)");
        }
        checkEndpoint(channel, s.getChannel().getEndpoint());
        checkPayload(s);
        return isBackport(s) ? backportRule(channel, s) : r4Rule(channel, s);
    }

    private static SubscriptionRule r4Rule(String channel, Subscription s) throws InvalidSubscriptionException {
        SubscriptionCriteria criteria = criteria(s.getCriteria());
        return new SubscriptionRule(channel, criteria.resourceType(), Set.of("created", "updated"), List.of(criteria));
    }

    private SubscriptionRule backportRule(String channel, Subscription s) throws InvalidSubscriptionException {
        String url = s.getCriteria();
        if (url == null || url.isBlank()) {
            throw new InvalidSubscriptionException("criteria missing: the topic's canonical URL");
        }
        SubscriptionTopics.Topic topic = topics.topic(url)
                .orElseThrow(() -> new InvalidSubscriptionException("unsupported criteria: unknown SubscriptionTopic " + url));
        List<SubscriptionCriteria> filters = new ArrayList<>();
        for (Extension e : s.getCriteriaElement().getExtensionsByUrl(FILTER_CRITERIA_EXTENSION)) {
            String value = e.getValue() == null ? null : e.getValue().primitiveValue();
            SubscriptionCriteria filter = criteria(value);
            if (!filter.resourceType().equals(topic.resourceType())) {
                throw new InvalidSubscriptionException("unsupported filter criteria: " + filter.resourceType()
                        + " is not the topic's resource type " + topic.resourceType());
            }
            filters.add(filter);
        }
        return new SubscriptionRule(channel, topic.resourceType(), topic.operations(), List.copyOf(filters));
    }

    private static SubscriptionCriteria criteria(String criteria) throws InvalidSubscriptionException {
        try {
            return SubscriptionCriteria.parse(criteria);
        } catch (IllegalArgumentException e) {
            throw new InvalidSubscriptionException(e.getMessage());
        }
    }

    private static void checkEndpoint(String channel, String endpoint) throws InvalidSubscriptionException {
        if (channel.equals("websocket")) {
            return;
        }
        if (endpoint == null || endpoint.isBlank()) {
            throw new InvalidSubscriptionException("channel.endpoint missing (required for " + channel + ")");
        }
        String e = endpoint.trim();
        String lower = e.toLowerCase(Locale.ROOT);
        switch (channel) {
            case "rest-hook" -> {
                URI uri;
                try {
                    uri = URI.create(e);
                } catch (IllegalArgumentException bad) {
                    throw new InvalidSubscriptionException("channel.endpoint of a rest-hook is not a valid URL");
                }
                String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
                if (!(scheme.equals("http") || scheme.equals("https")) || uri.getHost() == null) {
                    throw new InvalidSubscriptionException("channel.endpoint of a rest-hook must be an http(s) URL");
                }
            }
            case "email" -> {
                if (!lower.startsWith("mailto:") || !e.substring("mailto:".length()).matches("[^@\\s,]+@[^@\\s,]+")) {
                    throw new InvalidSubscriptionException("channel.endpoint of an email channel must be a mailto: address");
                }
            }
            case "sms" -> {
                if (!lower.startsWith("tel:") || !e.substring("tel:".length()).matches("\\+?[0-9][0-9 ()./-]*")) {
                    throw new InvalidSubscriptionException("channel.endpoint of an sms channel must be a tel: number");
                }
            }
            default -> throw new IllegalStateException(channel);
        }
    }

    private static void checkPayload(Subscription s) throws InvalidSubscriptionException {
        String payload = s.getChannel().getPayload();
        if (payload != null && !payload.isBlank()) {
            String mime = payload.split(";")[0].trim().toLowerCase(Locale.ROOT);
            if (!PAYLOADS.contains(mime)) {
                throw new InvalidSubscriptionException("unsupported channel.payload '" + mime
                        + "' (supported: application/fhir+json, application/json)");
            }
        }
        for (Extension e : s.getChannel().getPayloadElement().getExtensionsByUrl(PAYLOAD_CONTENT_EXTENSION)) {
            String content = e.getValue() == null ? null : e.getValue().primitiveValue();
            if (!PAYLOAD_CONTENTS.contains(content)) {
                throw new InvalidSubscriptionException("unsupported payload content '" + content
                        + "' (supported: empty, id-only, full-resource)");
            }
        }
    }
}
