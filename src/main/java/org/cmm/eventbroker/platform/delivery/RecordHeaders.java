package org.cmm.eventbroker.platform.delivery;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.regex.Pattern;

import org.apache.camel.Message;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

/**
 * Which Kafka record headers may become exchange headers of an outbound flow. A record is written by whoever may
 * produce to a topic; an exchange header steers components ({@code CamelHttpUri} redirects an HTTP call,
 * {@code kafka.OVERRIDE_TOPIC} re-routes a write, {@code CamelMllpCharset} changes what the MLLP sender sends). So only
 * the project's own event headers cross: CloudEvents {@code ce_*} and the domain headers the flows write and read
 * ({@code hl7_*}, {@code lab_*}, {@code pharmacy_*}, {@code fhir_*}, {@code workflow_*}, {@code device_*},
 * {@code cds_*}, {@code ehr_*}, {@code dlq_*}, {@code order_*}, {@code task_*}, {@code notification_*},
 * {@code adt_*}, {@code peer_*}): lower case, a known prefix, an underscore; and the CloudEvents Kafka binding's
 * {@code content-type} (exactly so). Everything else stays on the record.
 */
public final class RecordHeaders {

    /** The prefixes (before the first underscore) of the headers the project's flows write on records. */
    public static final List<String> ALLOWED_PREFIXES = List.of("ce", "hl7", "lab", "pharmacy", "fhir", "workflow",
            "device", "cds", "ehr", "dlq", "order", "task", "notification", "adt", "peer");

    /** The CloudEvents Kafka protocol binding's data content type (binary mode); the alert flows read it. */
    public static final String CONTENT_TYPE = "content-type";

    private static final Pattern ALLOWED = Pattern.compile(
            "(" + String.join("|", ALLOWED_PREFIXES) + ")_[a-z0-9_]+");

    private RecordHeaders() {
    }

    /** Whether a record header of this name may be copied onto the exchange. */
    public static boolean mayCross(String name) {
        return name != null && (CONTENT_TYPE.equals(name) || ALLOWED.matcher(name).matches());
    }

    /** Copies the allowed headers (UTF-8 values; null values skipped) onto the message; returns how many were left out. */
    public static int copyAllowed(Headers headers, Message message) {
        int refused = 0;
        for (Header header : headers) {
            if (header.value() == null) {
                continue;
            }
            if (mayCross(header.key())) {
                message.setHeader(header.key(), new String(header.value(), StandardCharsets.UTF_8));
            } else {
                refused++;
            }
        }
        return refused;
    }
}
