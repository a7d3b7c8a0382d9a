package org.cmm.eventbroker.lake;

import java.nio.charset.StandardCharsets;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The key fields of an event's payload that the lake keeps as columns beside the raw bytes, so a query can filter
 * without parsing: for HL7 v2 (ER7) the message type and trigger (MSH-9), control id (MSH-10), sending facility
 * (MSH-4), message time (MSH-7) and patient (first PID-3 identifier); for JSON (FHIR resources, EHR and device
 * events) the resource type, id and patient reference. A payload that is neither is refused with the reason.
 */
public record PayloadKeyFields(String payloadFormat, String messageType, String triggerEvent, String controlId,
        String sendingFacility, String messageTime, String patientId, String resourceType, String resourceId) {

    public static final String HL7V2 = "hl7v2";
    public static final String JSON = "json";

    private static final ObjectMapper JSON_MAPPER = new ObjectMapper();

    /** Reads the key fields, or says why they cannot be read (without quoting the payload). */
    public static PayloadKeyFields of(byte[] payload) throws UnparseablePayloadException {
        if (payload == null || payload.length == 0) {
            throw new UnparseablePayloadException("empty payload");
        }
        int first = 0;
        while (first < payload.length && Character.isWhitespace(payload[first])) {
            first++;
        }
        if (first == payload.length) {
            throw new UnparseablePayloadException("payload is only whitespace");
        }
        if (payload.length - first >= 4 && payload[first] == 'M' && payload[first + 1] == 'S'
                && payload[first + 2] == 'H') {
            return hl7(new String(payload, first, payload.length - first, StandardCharsets.ISO_8859_1));
        }
        if (payload[first] == '{') {
            return json(payload);
        }
        throw new UnparseablePayloadException("neither an HL7 v2 message (no MSH segment first) nor a JSON object");
    }

    private static PayloadKeyFields hl7(String message) throws UnparseablePayloadException {
        char field = message.charAt(3);
        java.util.List<String> segments = message.lines().toList(); // CR, LF or CRLF, without a regular expression
        String[] msh = (segments.isEmpty() ? "" : segments.get(0)).split(java.util.regex.Pattern.quote(String.valueOf(field)), -1);
        if (msh.length < 12) {
            throw new UnparseablePayloadException("HL7 v2 MSH segment has " + msh.length + " fields, fewer than 12");
        }
        String encoding = msh[1];
        char component = encoding.isEmpty() ? '^' : encoding.charAt(0);
        char repetition = encoding.length() > 1 ? encoding.charAt(1) : '~';
        // msh[i] is MSH-(i+1): MSH-1 is the separator itself
        String[] type = msh[8].split(java.util.regex.Pattern.quote(String.valueOf(component)), -1);
        if (type[0].isBlank()) {
            throw new UnparseablePayloadException("HL7 v2 message without a message type (MSH-9)");
        }
        if (msh[9].isBlank()) {
            throw new UnparseablePayloadException("HL7 v2 message without a control id (MSH-10)");
        }
        String patient = null;
        for (String segment : segments) {
            if (segment.startsWith("PID" + field)) {
                String[] pid = segment.split(java.util.regex.Pattern.quote(String.valueOf(field)), -1);
                if (pid.length > 3 && !pid[3].isBlank()) {
                    String firstId = pid[3].split(java.util.regex.Pattern.quote(String.valueOf(repetition)), -1)[0];
                    patient = blankToNull(firstId.split(java.util.regex.Pattern.quote(String.valueOf(component)), -1)[0]);
                }
                break;
            }
        }
        return new PayloadKeyFields(HL7V2, type[0], type.length > 1 ? blankToNull(type[1]) : null, msh[9],
                blankToNull(msh[3].split(java.util.regex.Pattern.quote(String.valueOf(component)), -1)[0]),
                blankToNull(msh[6].split(java.util.regex.Pattern.quote(String.valueOf(component)), -1)[0]),
                patient, null, null);
    }

    private static PayloadKeyFields json(byte[] payload) throws UnparseablePayloadException {
        JsonNode node;
        try {
            node = JSON_MAPPER.readTree(payload);
        } catch (JsonProcessingException e) {
            throw new UnparseablePayloadException("not valid JSON (line " + e.getLocation().getLineNr() + ", column "
                    + e.getLocation().getColumnNr() + ")");
        } catch (java.io.IOException e) {
            throw new UnparseablePayloadException("not readable as JSON: " + e.getClass().getSimpleName());
        }
        if (node == null || !node.isObject()) {
            throw new UnparseablePayloadException("JSON payload is not an object");
        }
        String resourceType = text(node, "resourceType");
        String id = text(node, "id");
        String patient = null;
        if ("Patient".equals(resourceType)) {
            patient = id;
        } else {
            for (String reference : new String[] {"subject", "patient"}) {
                String ref = node.path(reference).path("reference").asText(null);
                if (ref != null && ref.startsWith("Patient/")) {
                    patient = ref.substring("Patient/".length());
                    break;
                }
            }
        }
        return new PayloadKeyFields(JSON, null, null, null, null, null, patient, resourceType, id);
    }

    private static String text(JsonNode node, String field) {
        JsonNode value = node.get(field);
        return value == null || !value.isValueNode() ? null : blankToNull(value.asText());
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }
}
