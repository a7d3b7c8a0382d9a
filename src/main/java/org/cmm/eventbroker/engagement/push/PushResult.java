package org.cmm.eventbroker.engagement.push;

/**
 * What a push service answered for one device.
 *
 * @param outcome what the notification service does next
 * @param status  the service's HTTP status (0 when none came back)
 * @param reason  the service's reason (APNs {@code Unregistered}, FCM {@code UNREGISTERED}), or the failure's class
 */
public record PushResult(Outcome outcome, int status, String reason) {

    public enum Outcome {
        /** The push service accepted the message. */
        ACCEPTED,
        /** The token or subscription is gone (Web Push 404/410, FCM UNREGISTERED, APNs 410/Unregistered): removed. */
        INVALID_TOKEN,
        /** Worth another attempt later (unreachable, 429, 5xx, timeout). */
        RETRY,
        /** Refused for good (4xx other than the above, no credentials configured for the platform). */
        REJECTED
    }

    public static PushResult of(Outcome outcome, int status, String reason) {
        return new PushResult(outcome, status, reason);
    }

    /** 429 and 5xx are worth retrying, other 4xx are not. */
    public static Outcome byHttpStatus(int status) {
        if (status >= 200 && status < 300) {
            return Outcome.ACCEPTED;
        }
        if (status == 404 || status == 410) {
            return Outcome.INVALID_TOKEN;
        }
        return status == 429 || status >= 500 || status == 408 ? Outcome.RETRY : Outcome.REJECTED;
    }
}
