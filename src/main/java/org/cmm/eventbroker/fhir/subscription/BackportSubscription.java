package org.cmm.eventbroker.fhir.subscription;

import org.hl7.fhir.r4.model.Extension;
import org.hl7.fhir.r4.model.PrimitiveType;
import org.hl7.fhir.r4.model.Subscription;

/**
 * What the Subscriptions R5 Backport IG (R4 topic-based form) adds to an R4 Subscription, read from its profile and
 * extensions: whether it is one, the payload content, the heartbeat period and the endpoint timeout. Classic R4
 * subscriptions answer {@code false} / null.
 */
public final class BackportSubscription {

    private static final String BASE = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/";
    public static final String PROFILE = BASE + "backport-subscription";
    public static final String PAYLOAD_CONTENT = BASE + "backport-payload-content";
    public static final String HEARTBEAT_PERIOD = BASE + "backport-heartbeat-period";
    public static final String TIMEOUT = BASE + "backport-timeout";
    public static final String NOTIFICATION_PROFILE = BASE + "backport-subscription-notification-r4";
    public static final String STATUS_PROFILE = BASE + "backport-subscription-status-r4";

    /** Payload content codes of the IG. */
    public static final String EMPTY = "empty";
    public static final String ID_ONLY = "id-only";
    public static final String FULL_RESOURCE = "full-resource";

    private BackportSubscription() {
    }

    public static boolean isBackport(Subscription s) {
        return s.getMeta().getProfile().stream().anyMatch(p -> PROFILE.equals(p.getValue()));
    }

    /**
     * {@code empty}, {@code id-only} or {@code full-resource}; {@code empty} when the Subscription names none (the
     * least the endpoint can be sent). Null when the code is not one of these.
     */
    public static String payloadContent(Subscription s) {
        String code = primitive(s.getChannel().getPayloadElement().getExtensionByUrl(PAYLOAD_CONTENT));
        if (code == null) {
            return EMPTY;
        }
        return switch (code) {
            case EMPTY, ID_ONLY, FULL_RESOURCE -> code;
            default -> null;
        };
    }

    /** Seconds between heartbeats; null when the Subscription asks for none (or names no positive number). */
    public static Long heartbeatPeriodSeconds(Subscription s) {
        return positive(primitive(s.getChannel().getExtensionByUrl(HEARTBEAT_PERIOD)));
    }

    /** Seconds the endpoint may take to answer; null when not given. */
    public static Long timeoutSeconds(Subscription s) {
        return positive(primitive(s.getChannel().getExtensionByUrl(TIMEOUT)));
    }

    private static String primitive(Extension e) {
        return e != null && e.getValue() instanceof PrimitiveType<?> p ? p.getValueAsString() : null;
    }

    private static Long positive(String value) {
        if (value == null) {
            return null;
        }
        try {
            long n = Long.parseLong(value.trim());
            return n > 0 ? n : null;
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
