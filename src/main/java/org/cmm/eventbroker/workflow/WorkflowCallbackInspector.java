package org.cmm.eventbroker.workflow;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Locale;
import java.util.UUID;
import java.util.regex.Pattern;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.cmm.eventbroker.hl7.Hl7Headers;

/**
 * Decides whether a state callback of the workflow engine ({@code POST /workflow/callbacks/{workflowType}}) can go
 * to {@code workflow.states.<workflow-type>}, and describes it in headers for the state sink.
 *
 * <p>Every header the request brought (Authorization, Cookie, a forged {@code kafka.KEY}...) is dropped first, so
 * only the headers set here reach Kafka; the body is kept as received. Rejected (400) are: a workflow type that is
 * not 1-64 lower-case letters, digits or hyphens; an empty or malformed body; a body that is not a JSON object with
 * {@code instanceId} (string, at most 128 printable characters) and {@code state} (1-64 letters, digits, '_' or '-'),
 * or whose optional {@code businessKey}, {@code eventId} are not such strings, or whose optional
 * {@code workflowType} differs from the path's. 413 above {@link #setMaxBodyBytes maxBodyBytes}; 415 unless the
 * Content-Type is JSON.
 *
 * <p>The record key is the business key when there is one, else the instance id, so one process's states stay in
 * order on one partition. The event id ({@code ce_id}) says what makes a resend a resend, and the intake
 * de-duplicates on it (docs/reliability.md): the callback's {@code eventId}, the engine's own id of the event; else,
 * with an {@code Idempotency-Key} header, a name-based UUID of the workflow type and a SHA-256 of that key (a resend
 * is recognised even when the engine wrote its body again, and two callbacks of the same state told apart); else a
 * name-based UUID of the workflow type and a SHA-256 of the body (which holds the instance id and the state). A
 * callback the engine resends after a 503 carries the same id. {@code X-Request-Id} is not used: proxies (Envoy,
 * nginx) stamp a new one on every request, so a resend through one would not be recognised.
 */
public class WorkflowCallbackInspector implements org.apache.camel.Processor {

    private static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    private static final Pattern STATE = Pattern.compile("[A-Za-z0-9_-]{1,64}");

    private long maxBodyBytes = 65_536;

    /** Larger bodies are answered 413; their first maxBodyBytes bytes are dead-lettered. */
    public void setMaxBodyBytes(long maxBodyBytes) {
        this.maxBodyBytes = maxBodyBytes;
    }

    @Override
    public void process(Exchange exchange) throws WorkflowCallbackRejectedException {
        Message in = exchange.getMessage();
        String path = in.getHeader(Exchange.HTTP_PATH, String.class);
        String workflowType = path == null ? null : path.substring(path.lastIndexOf('/') + 1);
        String contentType = in.getHeader(Exchange.CONTENT_TYPE, String.class);
        String idempotencyKey = in.getHeader("Idempotency-Key", String.class);
        byte[] body = in.getBody(byte[].class);
        body = body == null ? new byte[0] : body;
        in.setBody(body);
        for (String name : new ArrayList<>(in.getHeaders().keySet())) {
            if (!name.startsWith("Camel")) {
                in.removeHeader(name);
            }
        }
        if (body.length > maxBodyBytes) {
            in.setBody(Arrays.copyOf(body, (int) Math.min(maxBodyBytes, Integer.MAX_VALUE)));
            in.setHeader("dlq_truncated", "true");
            throw new WorkflowCallbackRejectedException(413, "body of " + body.length + " bytes is larger than the limit"
                    + " of " + maxBodyBytes + " bytes");
        }
        if (workflowType == null || workflowType.length() > 64
                || !WorkflowTriggerTable.WORKFLOW_TYPE.matcher(workflowType).matches()) {
            throw new WorkflowCallbackRejectedException(400, "path segment workflowType must be 1 to 64 lower-case"
                    + " letters, digits or hyphens");
        }
        in.setHeader(WorkflowHeaders.WORKFLOW_TYPE, workflowType);
        if (!isJson(contentType)) {
            throw new WorkflowCallbackRejectedException(415, "Content-Type must be application/json");
        }
        in.setHeader(Hl7Headers.CONTENT_TYPE, "application/json");
        Callback callback = read(workflowType, body, idempotencyKey);

        in.setHeader(WorkflowHeaders.STATE, callback.state());
        in.setHeader(Hl7Headers.CE_SPECVERSION, "1.0");
        in.setHeader(Hl7Headers.CE_ID, callback.eventId());
        in.setHeader(Hl7Headers.CE_SOURCE, "/workflow-engine/" + workflowType);
        in.setHeader(Hl7Headers.CE_SUBJECT, callback.key());
        in.setHeader(Hl7Headers.CE_TIME, OffsetDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
    }

    /** What the state record needs of a callback. */
    record Callback(String instanceId, String businessKey, String state, String eventId) {
        String key() {
            return businessKey != null ? businessKey : instanceId;
        }
    }

    /** Validates a callback body (the reasons name fields, never values), without an Idempotency-Key. */
    static Callback read(String workflowType, byte[] body) throws WorkflowCallbackRejectedException {
        return read(workflowType, body, null);
    }

    /** Validates a callback body (the reasons name fields, never values); its event id as the class comment says. */
    static Callback read(String workflowType, byte[] body, String idempotencyKey)
            throws WorkflowCallbackRejectedException {
        if (body.length == 0) {
            throw new WorkflowCallbackRejectedException(400, "empty body");
        }
        JsonNode root;
        try {
            root = JSON.readTree(body);
        } catch (JsonProcessingException e) {
            var at = e.getLocation();
            throw new WorkflowCallbackRejectedException(400, "malformed JSON"
                    + (at != null ? " at line " + at.getLineNr() + ", column " + at.getColumnNr() : ""));
        } catch (java.io.IOException e) {
            throw new WorkflowCallbackRejectedException(400, "unreadable JSON");
        }
        if (root == null || !root.isObject()) {
            throw new WorkflowCallbackRejectedException(400, "body must be a JSON object");
        }
        String instanceId = identifier(root, "instanceId", true);
        String businessKey = identifier(root, "businessKey", false);
        String eventId = identifier(root, "eventId", false);
        JsonNode state = root.get("state");
        if (state == null || !state.isTextual() || !STATE.matcher(state.asText()).matches()) {
            throw new WorkflowCallbackRejectedException(400, "state must be 1 to 64 letters, digits, '_' or '-'");
        }
        JsonNode type = root.get("workflowType");
        if (type != null && !(type.isTextual() && type.asText().toLowerCase(Locale.ROOT).equals(workflowType))) {
            throw new WorkflowCallbackRejectedException(400, "workflowType in the body differs from the path's");
        }
        if (eventId == null && idempotencyKey != null && !idempotencyKey.isBlank()) {
            eventId = UUID.nameUUIDFromBytes((workflowType + "|key|"
                    + sha256(idempotencyKey.trim().getBytes(StandardCharsets.UTF_8))).getBytes(StandardCharsets.UTF_8))
                    .toString();
        } else if (eventId == null) {
            eventId = UUID.nameUUIDFromBytes((workflowType + "|" + sha256(body)).getBytes(StandardCharsets.UTF_8))
                    .toString();
        }
        return new Callback(instanceId, businessKey, state.asText(), eventId);
    }

    private static String identifier(JsonNode root, String field, boolean required)
            throws WorkflowCallbackRejectedException {
        JsonNode value = root.get(field);
        if (value == null || value.isNull()) {
            if (required) {
                throw new WorkflowCallbackRejectedException(400, field + " is required");
            }
            return null;
        }
        String text = value.isTextual() || value.isIntegralNumber() ? value.asText() : null;
        if (text == null || text.isEmpty() || text.length() > 128 || !text.chars().allMatch(c -> c > 0x20 && c < 0x7F)) {
            throw new WorkflowCallbackRejectedException(400, field + " must be a string of 1 to 128 printable"
                    + " characters without spaces");
        }
        return text;
    }

    private static boolean isJson(String contentType) {
        if (contentType == null) {
            return false;
        }
        int semicolon = contentType.indexOf(';');
        String type = (semicolon >= 0 ? contentType.substring(0, semicolon) : contentType).trim().toLowerCase(Locale.ROOT);
        return type.equals("application/json") || type.startsWith("application/") && type.endsWith("+json");
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
