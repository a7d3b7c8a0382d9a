package org.cmm.eventbroker.device;

import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * One device alert in the broker's canonical form (README, Device alerts): what the MQTT and HTTP channels accept as
 * JSON, what a PCD-04 ORU^R40 is read into, and what the alert-processing route decides on.
 *
 * @param alertId   the alert instance, stable over its phases (start, continue, end, acknowledged)
 * @param deviceId  the device that raised it; the Kafka key, so one device's alerts stay in order
 * @param deviceType e.g. pulse-oximeter; null for PCD-04 alerts (the message does not name one)
 * @param patientId optional
 * @param kind      technical, physiological or operational (IEC 60601-1-8 alarm source ST, SP; SA advisory)
 * @param priority  high, medium or low (PH, PM, PL; PN "no priority" is low)
 * @param code      the alert code, e.g. MDC_EVT_LO or 196670
 * @param text      human-readable alert text, may be empty
 * @param state     active, inactive or acknowledged
 * @param timestamp when the device raised or changed the alert
 */
public record DeviceAlert(String alertId, String deviceId, String deviceType, String patientId, Kind kind,
                          Priority priority, String code, String text, State state, OffsetDateTime timestamp) {

    /** Ids, codes and device types become Kafka keys, header values and MQTT topic levels: no separators or spaces. */
    static final Pattern IDENTIFIER = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:^-]{0,127}");
    static final int MAX_TEXT = 1024;

    public enum Kind {
        TECHNICAL, PHYSIOLOGICAL, OPERATIONAL;

        public String topicName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public enum Priority {
        HIGH, MEDIUM, LOW;

        public String code() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public enum State {
        ACTIVE, INACTIVE, ACKNOWLEDGED;

        public String code() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * Rejects a timestamp too far in the future (device clock ahead) or too old (device clock behind, or an alert
     * replayed from a buffer): either way a caregiver cannot rely on it.
     */
    public static void requireTimely(OffsetDateTime timestamp, Instant now, long maxSkewMs, long maxAgeMs)
            throws DeviceAlertRejectedException {
        Instant at = timestamp.toInstant();
        if (at.isAfter(now.plusMillis(maxSkewMs))) {
            throw new DeviceAlertRejectedException("timestamp is " + Duration.between(now, at).toSeconds()
                    + " s in the future (clock skew; at most " + maxSkewMs / 1000 + " s allowed)");
        }
        if (at.isBefore(now.minusMillis(maxAgeMs))) {
            throw new DeviceAlertRejectedException("timestamp is " + Duration.between(at, now).toSeconds()
                    + " s old (clock skew or stale alert; at most " + maxAgeMs / 1000 + " s allowed)");
        }
    }

    /** Checks an identifier-like field; the reason names the field, never the value. */
    static String requireIdentifier(String field, String value) throws DeviceAlertRejectedException {
        if (value == null || value.isBlank()) {
            throw new DeviceAlertRejectedException(field + " is missing");
        }
        if (!IDENTIFIER.matcher(value).matches()) {
            throw new DeviceAlertRejectedException(field + " must be 1-128 letters, digits or . _ : ^ - (starting with a letter or digit)");
        }
        return value;
    }

    /** The canonical JSON fields, in schema order (absent optional fields left out). */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("alertId", alertId);
        m.put("deviceId", deviceId);
        if (deviceType != null) {
            m.put("deviceType", deviceType);
        }
        if (patientId != null) {
            m.put("patientId", patientId);
        }
        m.put("kind", kind.topicName());
        m.put("priority", priority.code());
        m.put("code", code);
        m.put("text", text == null ? "" : text);
        m.put("state", state.code());
        m.put("timestamp", timestamp.toString());
        return m;
    }
}
