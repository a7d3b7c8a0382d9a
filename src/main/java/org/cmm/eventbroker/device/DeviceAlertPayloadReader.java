package org.cmm.eventbroker.device;

import java.io.IOException;
import java.time.Clock;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.Arrays;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;
import org.cmm.eventbroker.hl7.Hl7Headers;

/**
 * Reads an alert sent as canonical JSON over MQTT or HTTP (schema: README, Device alerts), checks it, and leaves on
 * the exchange exactly what goes to {@code device.alerts.<kind>}: the normalised JSON as body and the
 * {@link DeviceAlertHeaders} plus CloudEvents headers. Every other header (MQTT properties, HTTP request headers such
 * as Authorization) is dropped here, so none can reach Kafka.
 *
 * <p>Anything that cannot be an alert a caregiver may rely on is rejected with a {@link DeviceAlertRejectedException}
 * naming the field: not JSON, not an object, a missing or malformed field, an unknown kind, priority, state or device
 * type, a timestamp without offset or outside the clock-skew bounds, a payload whose device disagrees with the MQTT
 * topic it was published on. Unknown fields are not carried over (no more data downstream than the schema names).
 *
 * <p>MQTT alerts are published on {@code <prefix>/<device-type>/<device-id>/alerts}; their payload may leave out
 * deviceType and deviceId, which the topic then gives.
 */
public class DeviceAlertPayloadReader implements Processor {

    /** The MQTT topic header of camel-paho-mqtt5 (PahoMqtt5Constants.MQTT_TOPIC). */
    public static final String MQTT_TOPIC = "CamelMqttTopic";

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private String channel = "http";
    private Set<String> deviceTypes = Set.of();
    private long maxClockSkewMs = 300_000;
    private long maxAgeMs = 86_400_000;
    private int maxBodyBytes = 65_536;
    private Clock clock = Clock.systemUTC();

    /** mqtt or http: recorded in device_alert_channel; mqtt also checks the payload against the topic. */
    public void setChannel(String channel) {
        this.channel = channel.trim().toLowerCase(Locale.ROOT);
    }

    /** Known device types (comma separated); an alert of any other type is dead-lettered. */
    public void setDeviceTypes(String deviceTypes) {
        this.deviceTypes = Arrays.stream(deviceTypes.split(",")).map(String::trim).filter(s -> !s.isEmpty())
                .map(s -> s.toLowerCase(Locale.ROOT)).collect(Collectors.toUnmodifiableSet());
    }

    public void setMaxClockSkewMs(long maxClockSkewMs) {
        this.maxClockSkewMs = maxClockSkewMs;
    }

    public void setMaxAgeMs(long maxAgeMs) {
        this.maxAgeMs = maxAgeMs;
    }

    public void setMaxBodyBytes(int maxBodyBytes) {
        this.maxBodyBytes = maxBodyBytes;
    }

    void setClock(Clock clock) {
        this.clock = clock;
    }

    @Override
    public void process(Exchange exchange) throws DeviceAlertRejectedException {
        Message in = exchange.getMessage();
        String[] fromTopic = "mqtt".equals(channel) ? topicParts(in.getHeader(MQTT_TOPIC, String.class)) : null;
        DeviceAlert alert = read(in.getBody(byte[].class), fromTopic);
        in.getHeaders().clear();
        in.setBody(toJson(alert));
        setHeaders(in, alert, channel, "/devices/" + alert.deviceType() + "/" + alert.deviceId());
        in.setHeader(Hl7Headers.CONTENT_TYPE, "application/json");
    }

    /** The alert in a payload; {@code fromTopic} is {deviceType, deviceId} of the MQTT topic, or null. */
    public DeviceAlert read(byte[] body, String[] fromTopic) throws DeviceAlertRejectedException {
        if (body == null || body.length == 0) {
            throw new DeviceAlertRejectedException("empty payload");
        }
        if (body.length > maxBodyBytes) {
            throw new DeviceAlertRejectedException("payload of " + body.length + " bytes is larger than " + maxBodyBytes);
        }
        JsonNode root;
        try {
            root = JSON.readTree(body);
        } catch (JsonProcessingException e) {
            throw new DeviceAlertRejectedException("payload is not well-formed JSON (line "
                    + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")");
        } catch (IOException e) {
            throw new DeviceAlertRejectedException("payload is not readable JSON");
        }
        if (root == null || !root.isObject()) {
            throw new DeviceAlertRejectedException("payload is not a JSON object");
        }
        String deviceType = optionalText(root, "deviceType");
        String deviceId = optionalText(root, "deviceId");
        if (fromTopic != null) {
            if (deviceType != null && !deviceType.equalsIgnoreCase(fromTopic[0])) {
                throw new DeviceAlertRejectedException("deviceType differs from the MQTT topic's device type");
            }
            if (deviceId != null && !deviceId.equals(fromTopic[1])) {
                throw new DeviceAlertRejectedException("deviceId differs from the MQTT topic's device id");
            }
            deviceType = fromTopic[0];
            deviceId = fromTopic[1];
        }
        DeviceAlert.requireIdentifier("deviceId", deviceId);
        DeviceAlert.requireIdentifier("deviceType", deviceType);
        deviceType = deviceType.toLowerCase(Locale.ROOT);
        if (!deviceTypes.contains(deviceType)) {
            throw new DeviceAlertRejectedException("unknown device type (known: " + String.join(",",
                    deviceTypes.stream().sorted().toList()) + ")");
        }
        String alertId = DeviceAlert.requireIdentifier("alertId", optionalText(root, "alertId"));
        String patientId = optionalText(root, "patientId");
        if (patientId != null) {
            DeviceAlert.requireIdentifier("patientId", patientId);
        }
        DeviceAlert.Kind kind = enumValue(DeviceAlert.Kind.class, "kind", optionalText(root, "kind"),
                "technical, physiological or operational");
        DeviceAlert.Priority priority = enumValue(DeviceAlert.Priority.class, "priority",
                optionalText(root, "priority"), "high, medium or low");
        DeviceAlert.State state = enumValue(DeviceAlert.State.class, "state", optionalText(root, "state"),
                "active, inactive or acknowledged");
        String code = DeviceAlert.requireIdentifier("code", optionalText(root, "code"));
        String text = optionalText(root, "text");
        if (text != null && text.length() > DeviceAlert.MAX_TEXT) {
            throw new DeviceAlertRejectedException("text is longer than " + DeviceAlert.MAX_TEXT + " characters");
        }
        String time = optionalText(root, "timestamp");
        if (time == null || time.isBlank()) {
            throw new DeviceAlertRejectedException("timestamp is missing");
        }
        OffsetDateTime timestamp;
        try {
            timestamp = OffsetDateTime.parse(time);
        } catch (DateTimeParseException e) {
            throw new DeviceAlertRejectedException("timestamp is not an RFC 3339 date-time with offset");
        }
        DeviceAlert.requireTimely(timestamp, clock.instant(), maxClockSkewMs, maxAgeMs);
        return new DeviceAlert(alertId, deviceId, deviceType, patientId, kind, priority, code,
                text == null ? "" : text, state, timestamp);
    }

    /** {deviceType, deviceId} of {@code <prefix...>/<device-type>/<device-id>/alerts}. */
    static String[] topicParts(String topic) throws DeviceAlertRejectedException {
        String[] levels = topic == null ? new String[0] : topic.split("/", -1);
        if (levels.length < 3 || !"alerts".equals(levels[levels.length - 1])) {
            throw new DeviceAlertRejectedException("MQTT topic is not <prefix>/<device-type>/<device-id>/alerts");
        }
        return new String[] {levels[levels.length - 3], levels[levels.length - 2]};
    }

    /**
     * Sets the record headers of an alert (shared with the PCD-04 reader, which keeps the ce_id and ce_source the HL7
     * inspector set: the message's control id and sender).
     */
    static void setHeaders(Message m, DeviceAlert alert, String channel, String source) {
        m.setHeader(DeviceAlertHeaders.ALERT_ID, alert.alertId());
        m.setHeader(DeviceAlertHeaders.DEVICE_ID, alert.deviceId());
        if (alert.deviceType() != null) {
            m.setHeader(DeviceAlertHeaders.DEVICE_TYPE, alert.deviceType());
        }
        m.setHeader(DeviceAlertHeaders.KIND, alert.kind().topicName());
        m.setHeader(DeviceAlertHeaders.PRIORITY, alert.priority().code());
        m.setHeader(DeviceAlertHeaders.CODE, alert.code());
        m.setHeader(DeviceAlertHeaders.STATE, alert.state().code());
        m.setHeader(DeviceAlertHeaders.CHANNEL, channel);
        m.setHeader(Hl7Headers.CE_SPECVERSION, "1.0");
        if (m.getHeader(Hl7Headers.CE_ID) == null) {
            // one event per phase of an alert: the alert id alone repeats across start, end and acknowledgement
            m.setHeader(Hl7Headers.CE_ID, alert.alertId() + ':' + alert.state().code() + ':'
                    + alert.timestamp().toInstant().toEpochMilli());
        }
        if (source != null) {
            m.setHeader(Hl7Headers.CE_SOURCE, source);
        }
        m.setHeader(Hl7Headers.CE_TIME, alert.timestamp().toString());
        if (alert.patientId() != null) {
            m.setHeader(Hl7Headers.CE_SUBJECT, alert.patientId());
        }
    }

    /** The canonical JSON of an alert. */
    public static byte[] toJson(DeviceAlert alert) {
        try {
            return JSON.writeValueAsBytes(alert.toMap());
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write an alert as JSON", e);
        }
    }

    private static String optionalText(JsonNode root, String field) throws DeviceAlertRejectedException {
        JsonNode node = root.get(field);
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isTextual()) {
            throw new DeviceAlertRejectedException(field + " must be a string");
        }
        return node.asText();
    }

    private static <E extends Enum<E>> E enumValue(Class<E> type, String field, String value, String allowed)
            throws DeviceAlertRejectedException {
        if (value == null || value.isBlank()) {
            throw new DeviceAlertRejectedException(field + " is missing");
        }
        try {
            return Enum.valueOf(type, value.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new DeviceAlertRejectedException(field + " must be " + allowed);
        }
    }
}
