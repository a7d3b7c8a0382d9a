package org.cmm.eventbroker.ehr;

/**
 * A webhook request that cannot be accepted as sent: it is answered with {@link #getStatus() a 4xx status} and a JSON
 * reason, and its body is kept, untouched, on the dead-letter topic. A resend of the same request would fail the same
 * way, unlike a Kafka outage (503), so the vendor should not retry it unchanged.
 *
 * <p>The reason is sent back to the vendor, logged and put in the {@code dlq_reason} header, so it names the part of
 * the request that is wrong and never quotes request content.
 */
public class EhrRequestRejectedException extends Exception {

    private final int status;

    public EhrRequestRejectedException(int status, String reason) {
        super(reason);
        if (status < 400 || status > 499) {
            throw new IllegalArgumentException("a rejection is a 4xx status, not " + status);
        }
        this.status = status;
    }

    /** The HTTP status of the answer: 400, 413 or 415. */
    public int getStatus() {
        return status;
    }

    public String getReason() {
        return getMessage();
    }

    /** The answer's body: {@code {"status":400,"error":"<reason>"}}. */
    public String getJson() {
        return "{\"status\":" + status + ",\"error\":\"" + jsonEscaped(getMessage()) + "\"}";
    }

    static String jsonEscaped(String text) {
        StringBuilder out = new StringBuilder(text.length() + 8);
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.toString();
    }
}
