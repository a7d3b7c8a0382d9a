package org.cmm.eventbroker.device;

import java.nio.charset.StandardCharsets;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Pattern;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;
import org.cmm.eventbroker.hl7.Hl7Headers;

/**
 * Decides whether a device reading posted by a gateway as JSON (over MQTT or HTTP) can be published to
 * {@code device.<device-type>.<data-type>}, and writes it in the canonical form (docs/devices/device-ingest.md).
 *
 * <p>Device type, device id and data type come from where the gateway sent it: the MQTT topic
 * {@code <topicPrefix>/<device-type>/<device-id>/<data-type>} or the HTTP path
 * {@code /devices/<device-type>/<device-id>/<data-type>}; the body may repeat them but must then agree. The body is
 * {@code {"timestamp": RFC 3339 with offset, "patientId": optional, "readings": [{"code", "value", "unit"}]}}. A
 * reading is rejected ({@link DeviceReadingRejectedException}) when the body is not a JSON object, a field is missing
 * or of the wrong type, the device type or data type is not in the catalogue, the timestamp is skewed
 * ({@link ReadingChecks#checkTime}), or a known measurement has a wrong unit or an impossible value; measurements
 * the catalogue does not name pass unchecked.
 *
 * <p>On success the body becomes the canonical JSON (the gateway's own extra fields kept), and the headers the
 * {@code device-topic-sink} Kamelet and consumers need are set; every header the request brought is dropped first, so
 * nothing but those reaches Kafka. The CloudEvents id is a name-based UUID of the device id, the data type and the
 * canonical body (which names the device type, the timestamp and every measurement), so a reading the MQTT broker
 * redelivers or a gateway resends keeps its id, and two different readings never share one. The HTTP intake
 * de-duplicates on it (docs/reliability.md); no request header takes part: a gateway's resend is byte-identical and a
 * reading carries its own time, while an {@code Idempotency-Key} reused by a faulty gateway would silently drop a
 * different reading.
 */
public class DeviceReadingInspector extends CatalogueCheckedProcessor {

    static final Pattern DEVICE_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:-]{0,63}");
    private static final Pattern TYPE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9-]{0,63}");
    private static final int MAX_READINGS = 1000;
    private static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private String source = "mqtt";
    private String topicPrefix = "devices";
    private long maxBodyBytes = 65_536;

    /** mqtt (device from the topic header) or http (device from the request path). */
    public void setSource(String source) {
        if (!source.equals("mqtt") && !source.equals("http")) {
            throw new IllegalArgumentException("source must be mqtt or http, not " + source);
        }
        this.source = source;
    }

    /** The MQTT topic levels before {@code <device-type>/<device-id>/<data-type>} (cmm.device.mqtt.topic-prefix). */
    public void setTopicPrefix(String topicPrefix) {
        this.topicPrefix = topicPrefix == null ? "" : topicPrefix.replaceAll("^/+|/+$", "");
    }

    /** Larger bodies are rejected (413 over HTTP). */
    public void setMaxBodyBytes(long maxBodyBytes) {
        this.maxBodyBytes = maxBodyBytes;
    }

    @Override
    public void process(Exchange exchange) throws DeviceReadingRejectedException {
        Message in = exchange.getMessage();
        String[] address; // device type, device id, data type
        if (source.equals("mqtt")) {
            String topic = in.getHeader("CamelMqttTopic", String.class);
            keepOnlyCamelHeaders(in);
            if (topic != null) {
                in.setHeader(DeviceHeaders.MQTT_TOPIC, topic);
            }
            address = mqttAddress(topic);
        } else {
            String path = in.getHeader(Exchange.HTTP_PATH, String.class);
            String contentType = in.getHeader(Exchange.CONTENT_TYPE, String.class);
            keepOnlyCamelHeaders(in);
            address = httpAddress(path);
            if (!isJson(contentType)) {
                in.setBody(in.getBody(byte[].class));
                throw new DeviceReadingRejectedException(415, "Content-Type must be JSON (application/json)");
            }
        }
        in.setHeader(DeviceHeaders.INGEST, source);
        byte[] body = in.getBody(byte[].class);
        in.setBody(body == null ? new byte[0] : body);
        body = in.getBody(byte[].class);
        // known before anything else is checked, so the dead letter says which device sent it
        in.setHeader(DeviceHeaders.DEVICE_ID, address[1]);
        if (body.length > maxBodyBytes) {
            throw new DeviceReadingRejectedException(413, "body of " + body.length + " bytes is larger than the limit of "
                    + maxBodyBytes + " bytes");
        }
        ObjectNode canonical = canonical(body, address[0], address[1], address[2]);
        byte[] out;
        try {
            out = JSON.writeValueAsBytes(canonical);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a parsed JSON tree always serialises", e);
        }
        String deviceType = canonical.get("deviceType").asText();
        String dataType = canonical.get("dataType").asText();
        in.setHeader(DeviceHeaders.DEVICE_TYPE, deviceType);
        in.setHeader(DeviceHeaders.DATA_TYPE, dataType);
        JsonNode patient = canonical.get("patientId");
        if (patient != null) {
            in.setHeader(DeviceHeaders.PATIENT_ID, patient.asText());
            in.setHeader(Hl7Headers.CE_SUBJECT, patient.asText());
        }
        in.setHeader(Hl7Headers.CE_SPECVERSION, "1.0");
        in.setHeader(Hl7Headers.CE_ID, UUID.nameUUIDFromBytes(concat(address[1] + '|' + dataType + '|', out)).toString());
        in.setHeader(Hl7Headers.CE_SOURCE, "/devices/" + deviceType + "/" + address[1]);
        in.setHeader(Hl7Headers.CE_TIME, canonical.get("timestamp").asText());
        in.setHeader(Hl7Headers.CONTENT_TYPE, "application/json");
        in.setBody(out);
    }

    /** The canonical reading of a body (for tests and for the benchmark's verification). */
    ObjectNode canonical(byte[] body, String deviceType, String deviceId, String dataType)
            throws DeviceReadingRejectedException {
        ReadingChecks c = checks();
        if (body.length == 0) {
            throw new DeviceReadingRejectedException("empty body");
        }
        JsonNode root;
        try {
            root = JSON.readTree(body);
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            // Jackson's message quotes the offending text: only the position is given back
            throw new DeviceReadingRejectedException("malformed JSON"
                    + (at != null ? " at line " + at.getLineNr() + ", column " + at.getColumnNr() : ""));
        } catch (java.io.IOException e) {
            throw new DeviceReadingRejectedException("unreadable JSON");
        }
        if (root == null || !root.isObject()) {
            throw new DeviceReadingRejectedException("body must be a JSON object");
        }
        ObjectNode reading = (ObjectNode) root;
        agree(reading, "deviceType", deviceType);
        agree(reading, "deviceId", deviceId);
        agree(reading, "dataType", dataType);
        if (!c.catalogue().isDeviceType(deviceType)) {
            throw new DeviceReadingRejectedException(422, "unknown device type '" + ReadingChecks.printable(deviceType)
                    + "' (known: " + String.join(", ", c.catalogue().deviceTypes()) + ")");
        }
        if (!c.catalogue().isDataType(dataType)) {
            throw new DeviceReadingRejectedException(422, "unknown data type '" + ReadingChecks.printable(dataType)
                    + "' (known: " + String.join(", ", c.catalogue().dataTypes()) + ")");
        }
        JsonNode patient = reading.get("patientId");
        if (patient != null && !patient.isNull()) {
            if (!patient.isTextual() || !DEVICE_ID.matcher(patient.asText()).matches()) {
                throw new DeviceReadingRejectedException("patientId must be 1 to 64 letters, digits or . _ : -");
            }
        } else {
            reading.remove("patientId");
        }
        JsonNode ts = reading.get("timestamp");
        if (ts == null || !ts.isTextual()) {
            throw new DeviceReadingRejectedException("timestamp is missing (RFC 3339 with offset, e.g. 2026-01-01T12:00:00Z)");
        }
        OffsetDateTime time;
        try {
            time = OffsetDateTime.parse(ts.asText());
        } catch (DateTimeParseException e) {
            throw new DeviceReadingRejectedException("timestamp is not RFC 3339 with offset (e.g. 2026-01-01T12:00:00Z)");
        }
        c.checkTime(time.toInstant(), "timestamp");
        JsonNode readings = reading.get("readings");
        if (readings == null || !readings.isArray() || readings.isEmpty()) {
            throw new DeviceReadingRejectedException("readings must be a non-empty array");
        }
        if (readings.size() > MAX_READINGS) {
            throw new DeviceReadingRejectedException("more than " + MAX_READINGS + " readings in one message");
        }
        ArrayNode checked = JSON.createArrayNode();
        for (int i = 0; i < readings.size(); i++) {
            checked.add(checkedReading(c, readings.get(i), "readings[" + i + "]"));
        }
        ObjectNode out = JSON.createObjectNode();
        out.put("deviceId", deviceId);
        out.put("deviceType", deviceType);
        out.put("dataType", dataType);
        if (reading.has("patientId")) {
            out.set("patientId", reading.get("patientId"));
        }
        out.put("timestamp", ts.asText());
        out.set("readings", checked);
        // the gateway's own fields (a sequence number, a gateway id) travel on
        List<Map.Entry<String, JsonNode>> extra = new ArrayList<>();
        reading.fields().forEachRemaining(extra::add);
        for (Map.Entry<String, JsonNode> e : extra) {
            if (!out.has(e.getKey())) {
                out.set(e.getKey(), e.getValue());
            }
        }
        return out;
    }

    private static ObjectNode checkedReading(ReadingChecks c, JsonNode r, String what)
            throws DeviceReadingRejectedException {
        if (r == null || !r.isObject()) {
            throw new DeviceReadingRejectedException(what + " must be an object {code, value, unit}");
        }
        JsonNode code = r.get("code");
        if (code == null || !(code.isTextual() || code.isIntegralNumber()) || code.asText().isBlank()
                || code.asText().length() > 64) {
            throw new DeviceReadingRejectedException(what + ".code must be an MDC reference id or code");
        }
        JsonNode value = r.get("value");
        JsonNode unit = r.get("unit");
        if (unit != null && !unit.isNull() && !unit.isTextual()) {
            throw new DeviceReadingRejectedException(what + ".unit must be text");
        }
        String unitText = unit == null || unit.isNull() ? null : unit.asText();
        MeasurementCatalogue.Measurement m = c.catalogue().measurement(code.asText());
        if (value == null || value.isNull() || !(value.isNumber() || value.isTextual())) {
            throw new DeviceReadingRejectedException(what + ".value must be a number or text");
        }
        if (m != null) {
            if (value.isNumber()) {
                c.checkValue(m, value.asDouble(), unitText, what);
            } else if (m.isNumeric()) {
                throw new DeviceReadingRejectedException(422, what + " (" + m.referenceId() + ") must be a number");
            }
            if (m.isNumeric() && (unitText == null || unitText.isBlank())) {
                throw new DeviceReadingRejectedException(422, what + " (" + m.referenceId() + ") needs a unit, "
                        + String.join(" or ", m.units()));
            }
        }
        ObjectNode out = JSON.createObjectNode();
        out.set("code", code);
        out.set("value", value);
        if (unitText != null) {
            out.put("unit", unitText);
        }
        return out;
    }

    private static void agree(ObjectNode reading, String field, String expected) throws DeviceReadingRejectedException {
        JsonNode v = reading.get(field);
        if (v != null && !v.isNull() && !v.asText().toLowerCase(Locale.ROOT).equals(expected.toLowerCase(Locale.ROOT))) {
            throw new DeviceReadingRejectedException(field + " in the body differs from the one in the topic or path");
        }
    }

    String[] mqttAddress(String topic) throws DeviceReadingRejectedException {
        String layout = (topicPrefix.isEmpty() ? "" : topicPrefix + "/") + "<device-type>/<device-id>/<data-type>";
        String rest = topic;
        if (rest != null && !topicPrefix.isEmpty()) {
            rest = rest.startsWith(topicPrefix + "/") ? rest.substring(topicPrefix.length() + 1) : null;
        }
        String[] parts = rest == null ? new String[0] : rest.split("/", -1);
        if (parts.length != 3) {
            throw new DeviceReadingRejectedException("MQTT topic does not follow " + layout);
        }
        return address(parts[0], parts[1], parts[2]);
    }

    static String[] httpAddress(String path) throws DeviceReadingRejectedException {
        String[] parts = path == null ? new String[0] : path.split("/", -1);
        if (parts.length < 3) {
            throw new DeviceReadingRejectedException("path must be /devices/<device-type>/<device-id>/<data-type>");
        }
        return address(parts[parts.length - 3], parts[parts.length - 2], parts[parts.length - 1]);
    }

    private static String[] address(String deviceType, String deviceId, String dataType)
            throws DeviceReadingRejectedException {
        if (!TYPE.matcher(deviceType).matches()) {
            throw new DeviceReadingRejectedException("device type must be 1 to 64 letters, digits or hyphens");
        }
        if (!DEVICE_ID.matcher(deviceId).matches()) {
            throw new DeviceReadingRejectedException("device id must be 1 to 64 letters, digits or . _ : -");
        }
        if (!TYPE.matcher(dataType).matches()) {
            throw new DeviceReadingRejectedException("data type must be 1 to 64 letters, digits or hyphens");
        }
        return new String[] {deviceType.toLowerCase(Locale.ROOT), deviceId, dataType.toLowerCase(Locale.ROOT)};
    }

    private static boolean isJson(String contentType) {
        if (contentType == null) {
            return false;
        }
        int semicolon = contentType.indexOf(';');
        String type = (semicolon >= 0 ? contentType.substring(0, semicolon) : contentType).trim().toLowerCase(Locale.ROOT);
        return type.equals("application/json") || type.startsWith("application/") && type.endsWith("+json");
    }

    private static void keepOnlyCamelHeaders(Message in) {
        for (String name : new ArrayList<>(in.getHeaders().keySet())) {
            if (!name.startsWith("Camel")) {
                in.removeHeader(name);
            }
        }
    }

    private static byte[] concat(String prefix, byte[] body) {
        byte[] p = prefix.getBytes(StandardCharsets.UTF_8);
        byte[] all = new byte[p.length + body.length];
        System.arraycopy(p, 0, all, 0, p.length);
        System.arraycopy(body, 0, all, p.length, body.length);
        return all;
    }
}
