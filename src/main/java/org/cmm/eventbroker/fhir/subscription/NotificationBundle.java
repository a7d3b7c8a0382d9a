package org.cmm.eventbroker.fhir.subscription;

import java.util.Date;
import java.util.UUID;

import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.CanonicalType;
import org.hl7.fhir.r4.model.CodeType;
import org.hl7.fhir.r4.model.InstantType;
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.Resource;
import org.hl7.fhir.r4.model.StringType;
import org.hl7.fhir.r4.model.Subscription;

/**
 * The notification Bundle of a topic-based (backport) Subscription in R4, as the Subscriptions R5 Backport IG
 * describes it: a {@code history} Bundle whose first entry is a {@code Parameters} resource with the
 * SubscriptionStatus content (subscription, topic, status, type, events-since-subscription-start and, for an event,
 * notification-event with event-number, timestamp and focus), followed for {@code id-only} and {@code full-resource}
 * by an entry for the focus resource (with the resource itself for {@code full-resource}, unless it was deleted).
 *
 * <p>The event number is the notification record's Kafka offset + 1 (docs/fhir/events-and-subscriptions.md):
 * increasing per subscription, not contiguous. Handshake and heartbeat carry no event and no event count.
 */
public final class NotificationBundle {

    private NotificationBundle() {
    }

    /**
     * @param n             the notification
     * @param subscription  its Subscription (parsed from {@code n.subscription()})
     * @param resource      the focus resource for {@code full-resource}, else null
     * @param eventNumber   offset + 1 of the record (used for event notifications only)
     * @param serverBaseUrl the FHIR server's base URL, for the subscription's and the focus's full URLs
     * @param content       {@code empty}, {@code id-only} or {@code full-resource}
     */
    public static Bundle of(SubscriptionNotification n, Subscription subscription, Resource resource, long eventNumber,
                            String serverBaseUrl, String content) {
        String base = serverBaseUrl.endsWith("/") ? serverBaseUrl.substring(0, serverBaseUrl.length() - 1) : serverBaseUrl;
        boolean event = SubscriptionNotification.EVENT_NOTIFICATION.equals(n.type());

        Parameters status = new Parameters();
        status.setId(UUID.randomUUID().toString());
        status.getMeta().addProfile(BackportSubscription.STATUS_PROFILE);
        status.addParameter().setName("subscription").setValue(new Reference(base + "/" + n.subscriptionId()));
        status.addParameter().setName("topic").setValue(new CanonicalType(subscription.getCriteria()));
        status.addParameter().setName("status").setValue(new CodeType(
                subscription.getStatus() != null ? subscription.getStatus().toCode() : "active"));
        status.addParameter().setName("type").setValue(new CodeType(n.type()));
        if (event) {
            String number = String.valueOf(eventNumber);
            status.addParameter().setName("events-since-subscription-start").setValue(new StringType(number));
            Parameters.ParametersParameterComponent notificationEvent = status.addParameter().setName("notification-event");
            notificationEvent.addPart().setName("event-number").setValue(new StringType(number));
            if (n.eventTime() != null) {
                notificationEvent.addPart().setName("timestamp").setValue(new InstantType(n.eventTime()));
            }
            if (!BackportSubscription.EMPTY.equals(content) && n.focus() != null) {
                notificationEvent.addPart().setName("focus").setValue(new Reference(base + "/" + n.focus()));
            }
        }

        Bundle bundle = new Bundle();
        bundle.setId(UUID.randomUUID().toString());
        bundle.getMeta().addProfile(BackportSubscription.NOTIFICATION_PROFILE);
        bundle.setType(Bundle.BundleType.HISTORY);
        bundle.setTimestamp(new Date());
        Bundle.BundleEntryComponent first = bundle.addEntry().setFullUrl("urn:uuid:" + status.getId()).setResource(status);
        first.getRequest().setMethod(Bundle.HTTPVerb.GET).setUrl(base + "/" + n.subscriptionId() + "/$status");
        first.getResponse().setStatus("200");

        if (event && n.focus() != null && !BackportSubscription.EMPTY.equals(content)) {
            String withoutVersion = withoutHistory(n.focus());
            Bundle.BundleEntryComponent focus = bundle.addEntry().setFullUrl(base + "/" + withoutVersion);
            if (BackportSubscription.FULL_RESOURCE.equals(content) && resource != null) {
                focus.setResource(resource);
            }
            String operation = n.operation() == null ? "updated" : n.operation();
            switch (operation) {
                case "created" -> {
                    focus.getRequest().setMethod(Bundle.HTTPVerb.POST).setUrl(typeOf(withoutVersion));
                    focus.getResponse().setStatus("201");
                }
                case "deleted" -> {
                    focus.getRequest().setMethod(Bundle.HTTPVerb.DELETE).setUrl(withoutVersion);
                    focus.getResponse().setStatus("204");
                }
                default -> {
                    focus.getRequest().setMethod(Bundle.HTTPVerb.PUT).setUrl(withoutVersion);
                    focus.getResponse().setStatus("200");
                }
            }
        }
        return bundle;
    }

    private static String withoutHistory(String reference) {
        int history = reference.indexOf("/_history/");
        return history >= 0 ? reference.substring(0, history) : reference;
    }

    private static String typeOf(String reference) {
        int slash = reference.indexOf('/');
        return slash >= 0 ? reference.substring(0, slash) : reference;
    }
}
