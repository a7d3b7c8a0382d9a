package org.cmm.eventbroker.fhir.subscription;

/**
 * A Subscription this broker cannot serve; the message is the reason written to {@code Subscription.error} (it never
 * quotes the endpoint or header values).
 */
public class InvalidSubscriptionException extends Exception {

    public InvalidSubscriptionException(String reason) {
        super(reason);
    }
}
