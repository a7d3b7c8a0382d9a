package org.cmm.eventbroker.ehr;

import org.cmm.eventbroker.platform.http.RequestRejectedException;

/**
 * A webhook request that cannot be accepted as sent: it is answered with {@link #getStatus() a 4xx status} and a JSON
 * reason, and its body is kept, untouched, on the dead-letter topic. A resend of the same request would fail the same
 * way, unlike a Kafka outage (503), so the vendor should not retry it unchanged.
 *
 * <p>The reason is sent back to the vendor, logged and put in the {@code dlq_reason} header, so it names the part of
 * the request that is wrong and never quotes request content.
 */
public class EhrRequestRejectedException extends RequestRejectedException {

    public EhrRequestRejectedException(int status, String reason) {
        super(status, reason);
    }
}
