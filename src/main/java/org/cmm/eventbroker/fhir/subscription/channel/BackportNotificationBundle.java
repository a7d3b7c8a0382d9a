package org.cmm.eventbroker.fhir.subscription.channel;

import java.util.Date;

import ca.uhn.fhir.parser.DataFormatException;
import org.cmm.eventbroker.fhir.FhirR4;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.CanonicalType;
import org.hl7.fhir.r4.model.CodeType;
import org.hl7.fhir.r4.model.InstantType;
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.Resource;
import org.hl7.fhir.r4.model.StringType;

/**
 * The notification bundle of the R4 Subscriptions Backport IG for a websocket client of a backport (topic-based)
 * subscription: a {@code history} Bundle whose first entry is the {@code SubscriptionStatus} Parameters
 * (subscription, topic, status, type, events-since-subscription-start, notification-event with event number,
 * timestamp and focus), followed by the focus resource for {@code full-resource}, or its full URL only for
 * {@code id-only}; {@code empty} carries neither focus nor entry.
 */
public final class BackportNotificationBundle {

    static final String STATUS_PROFILE =
            "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-status-r4";

    private BackportNotificationBundle() {
    }

    /**
     * The bundle as FHIR R4 JSON; {@code serverBaseUrl} makes the entries' full URLs. Without
     * {@code resourceContentAllowed} a {@code full-resource} subscription gets {@code id-only}.
     */
    public static String json(ChannelNotification n, String serverBaseUrl, boolean resourceContentAllowed) {
        String content = n.backportPayloadContent();
        if ("full-resource".equals(content) && !resourceContentAllowed) {
            content = "id-only";
        }
        String eventNumber = String.valueOf(n.eventNumber());
        Parameters status = new Parameters();
        status.getMeta().addProfile(STATUS_PROFILE);
        status.addParameter().setName("subscription").setValue(new Reference(n.notification().subscriptionId()));
        String topic = n.notification().subscription().path("criteria").asText("");
        if (!topic.isEmpty()) {
            status.addParameter().setName("topic").setValue(new CanonicalType(topic));
        }
        status.addParameter().setName("status").setValue(new CodeType("active"));
        status.addParameter().setName("type").setValue(new CodeType(n.notification().type()));
        status.addParameter().setName("events-since-subscription-start").setValue(new StringType(eventNumber));
        Parameters.ParametersParameterComponent event = status.addParameter().setName("notification-event");
        event.addPart().setName("event-number").setValue(new StringType(eventNumber));
        InstantType timestamp = instant(n.notification().eventTime());
        if (timestamp != null) {
            event.addPart().setName("timestamp").setValue(timestamp);
        }
        Bundle bundle = new Bundle();
        bundle.setType(Bundle.BundleType.HISTORY);
        bundle.setTimestamp(new Date());
        bundle.addEntry().setResource(status);
        String reference = n.reference();
        if (!"empty".equals(content) && !reference.isEmpty()) {
            event.addPart().setName("focus").setValue(new Reference(reference));
            Bundle.BundleEntryComponent entry = bundle.addEntry().setFullUrl(trim(serverBaseUrl) + "/" + reference);
            if ("full-resource".equals(content) && n.includesResource()) {
                entry.setResource(resource(n));
            }
        }
        return FhirR4.context().newJsonParser().encodeResourceToString(bundle);
    }

    private static Resource resource(ChannelNotification n) {
        try {
            IBaseResource r = FhirR4.context().newJsonParser().parseResource(n.notification().resource().toString());
            return r instanceof Resource resource ? resource : null;
        } catch (DataFormatException e) {
            return null;
        }
    }

    private static InstantType instant(String time) {
        if (time == null || time.isBlank()) {
            return null;
        }
        try {
            return new InstantType(time);
        } catch (IllegalArgumentException | DataFormatException e) {
            return null;
        }
    }

    private static String trim(String base) {
        String b = base == null ? "" : base;
        return b.endsWith("/") ? b.substring(0, b.length() - 1) : b;
    }
}
