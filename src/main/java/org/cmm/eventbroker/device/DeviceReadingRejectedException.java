package org.cmm.eventbroker.device;

/**
 * A device reading that cannot be accepted as sent (malformed, unknown device or data type, impossible value, clock
 * skew): it goes, untouched, to the dead-letter topic with this reason, and an HTTP gateway is answered
 * {@link #getStatus() 4xx}. The reason is logged and sent back, so it names the field and the rule, never a patient.
 */
public class DeviceReadingRejectedException extends Exception {

    private final int status;

    public DeviceReadingRejectedException(int status, String reason) {
        super(reason);
        if (status < 400 || status > 499) {
            throw new IllegalArgumentException("a rejection is a 4xx status, not " + status);
        }
        this.status = status;
    }

    public DeviceReadingRejectedException(String reason) {
        this(400, reason);
    }

    /** The HTTP status of the answer: 400, 413, 415 or 422. */
    public int getStatus() {
        return status;
    }

    public String getReason() {
        return getMessage();
    }

    /** The answer's body: {@code {"status":422,"error":"<reason>"}}. */
    public String getJson() {
        StringBuilder out = new StringBuilder("{\"status\":").append(status).append(",\"error\":\"");
        for (char c : getMessage().toCharArray()) {
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
        return out.append("\"}").toString();
    }
}
