package org.cmm.eventbroker.platform.http;

import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Input that cannot be accepted as sent, whichever intake received it (an EHR webhook, a device reading or alert, a
 * workflow callback): the body goes untouched to the flow's dead-letter topic and an HTTP sender is answered with
 * {@link #getStatus() a 4xx status} and {@link #getJson() a JSON reason}. A resend would fail the same way, unlike a
 * Kafka outage (503). The reason is logged, sent back and put in {@code dlq_reason}, so it names the part that is
 * wrong and never quotes the content.
 */
public class RequestRejectedException extends Exception {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final int status;

    public RequestRejectedException(int status, String reason) {
        super(reason);
        if (status < 400 || status > 499) {
            throw new IllegalArgumentException("a rejection is a 4xx status, not " + status);
        }
        this.status = status;
    }

    /** The HTTP status of the answer (400, 413, 415, 422). */
    public int getStatus() {
        return status;
    }

    public String getReason() {
        return getMessage();
    }

    /** The answer's body: {@code {"status":400,"error":"<reason>"}}. */
    public String getJson() {
        return JSON.createObjectNode().put("status", status).put("error", getMessage()).toString();
    }
}
