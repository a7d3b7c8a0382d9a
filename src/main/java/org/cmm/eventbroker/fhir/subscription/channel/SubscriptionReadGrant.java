package org.cmm.eventbroker.fhir.subscription.channel;

import java.util.Set;

import org.cmm.eventbroker.platform.security.http.Caller;

/**
 * Whether a verified caller may read one Subscription, and so bind a websocket to it and receive its notifications
 * (with resource content where the Subscription asks for it). Two ways:
 * <ul>
 * <li>a role or scope of {@code cmm.access.websocket.bind-roles} reads <em>every</em> Subscription (default
 * {@code system/Subscription.read}, the SMART scope of a back-end system trusted with all of them);</li>
 * <li>the role or scope {@code subscription-reader:<id>} reads that one Subscription only (in Keycloak: a realm or
 * client role of that name given to the subscribing client, or a client scope).</li>
 * </ul>
 * A token holding neither for the id is refused, so knowing (or guessing a sequential) Subscription id is not enough.
 */
public final class SubscriptionReadGrant {

    private SubscriptionReadGrant() {
    }

    /** The role or scope that grants reading one Subscription. */
    public static String roleFor(String subscriptionId) {
        return "subscription-reader:" + subscriptionId;
    }

    /** Whether {@code caller} may read Subscription {@code subscriptionId}. */
    public static boolean allows(Caller caller, String subscriptionId, Set<String> everySubscriptionRoles) {
        return caller.holdsAny(everySubscriptionRoles) || caller.roles().contains(roleFor(subscriptionId));
    }
}
