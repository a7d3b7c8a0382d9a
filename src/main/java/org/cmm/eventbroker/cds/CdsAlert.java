package org.cmm.eventbroker.cds;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * A CDS alert, the JSON value of a record on {@code cds.<type>.<priority>} (schema {@value #SCHEMA}, documented in
 * routes/cds/cds-rules.yaml and the README). Everything in it is derived from the triggering event and the rule, so
 * processing the same event again after a restart produces the same alert, byte for byte, with the same alertId.
 *
 * @param alertId   "cds-" + 32 hex digits of SHA-256(ruleId, trigger, detail)
 * @param codes     the codes involved (LOINC of the result, RxNorm/ingredients of the drugs): no values, no names
 * @param createdAt the triggering record's Kafka timestamp, or the follow-up deadline of a care gap (ISO-8601)
 */
@JsonPropertyOrder({"schema", "alertId", "type", "priority", "patientId", "ruleId", "summary", "codes", "createdAt", "trigger"})
public record CdsAlert(String schema, String alertId, String type, String priority, String patientId, String ruleId,
                       String summary, List<String> codes, String createdAt, Trigger trigger) {

    public static final String SCHEMA = "cmm.cds.alert.v1";
    private static final ObjectMapper JSON = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    /** The record that made the rule fire. */
    public record Trigger(String topic, int partition, long offset) {
    }

    static CdsAlert of(String type, AlertPriority priority, String patientId, String ruleId, String summary,
                       List<String> codes, long createdAtMs, String topic, int partition, long offset, String detail) {
        String id = "cds-" + sha256Hex(ruleId + "\n" + topic + "-" + partition + "@" + offset + "\n" + detail).substring(0, 32);
        return new CdsAlert(SCHEMA, id, type, priority.topicPart(), patientId, ruleId, summary, List.copyOf(codes),
                Instant.ofEpochMilli(createdAtMs).toString(), new Trigger(topic, partition, offset));
    }

    /** {@code <type>.<priority>} (drug-interaction.high): the topic is {@code <cds topic prefix>.<kind>}, set by the cds-alert-sink Kamelet. */
    public String kind() {
        return type + "." + priority;
    }

    public byte[] toJson() {
        try {
            return JSON.writeValueAsBytes(this);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static CdsAlert fromJson(byte[] json) throws IOException {
        return JSON.readValue(json, CdsAlert.class);
    }

    static String sha256Hex(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
