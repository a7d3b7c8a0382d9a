package org.cmm.eventbroker.fhir.change;

import java.nio.charset.StandardCharsets;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Locale;
import java.util.UUID;

import org.apache.camel.Message;
import org.cmm.eventbroker.fhir.FhirEventHeaders;
import org.cmm.eventbroker.hl7.Hl7Headers;

/**
 * One FHIR resource change as it goes to Kafka ({@code fhir.<type>.<operation>} and {@code fhir.resource.changed},
 * docs/fhir/events-and-subscriptions.md): which resource, which version, what happened, and the record value (the
 * resource JSON, or for a delete only type, id and version).
 *
 * @param lastUpdated {@code meta.lastUpdated} as FHIR wrote it (ISO-8601), or null when unknown
 */
public record FhirChange(String resourceType, String id, String versionId, FhirOperation operation,
        String lastUpdated, byte[] value, String eventId) {

    public FhirChange {
        if (eventId == null) {
            eventId = versionId != null ? resourceType + "/" + id + "/_history/" + versionId : UUID.randomUUID().toString();
        }
    }

    public FhirChange(String resourceType, String id, String versionId, FhirOperation operation, String lastUpdated,
            byte[] value) {
        this(resourceType, id, versionId, operation, lastUpdated, value, null);
    }

    /** The value of a delete: {@code {"resourceType":"Observation","id":"123","meta":{"versionId":"4"}}}. */
    public static byte[] deletedValue(String resourceType, String id, String versionId) {
        var node = FhirChangeReader.JSON.createObjectNode().put("resourceType", resourceType).put("id", id);
        if (versionId != null) {
            node.putObject("meta").put("versionId", versionId);
        }
        return node.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** The record key, {@code ResourceType/id}. */
    public String key() {
        return resourceType + "/" + id;
    }

    /** {@code <prefix>.<resource-type>.<operation>} in lower case: {@code fhir.patient.created}. */
    public String topic(String prefix) {
        return prefix + "." + resourceType.toLowerCase(Locale.ROOT) + "." + operation.eventName();
    }

    /**
     * Makes {@code message} this change's record: the value as body, the CloudEvents and fhir_* headers; every header
     * but Camel's own is dropped first, so nothing a sender brought reaches Kafka.
     */
    public void applyTo(Message message, String source, String topicPrefix) {
        for (String name : new ArrayList<>(message.getHeaders().keySet())) {
            if (!name.startsWith("Camel")) {
                message.removeHeader(name);
            }
        }
        message.setBody(value);
        message.setHeader(Hl7Headers.CE_SPECVERSION, "1.0");
        message.setHeader(Hl7Headers.CE_ID, eventId);
        message.setHeader(Hl7Headers.CE_SOURCE, source);
        message.setHeader(Hl7Headers.CE_TYPE, topic(topicPrefix));
        message.setHeader(Hl7Headers.CE_TIME, lastUpdated != null ? lastUpdated
                : OffsetDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        message.setHeader(Hl7Headers.CE_SUBJECT, key());
        message.setHeader(Hl7Headers.CONTENT_TYPE, "application/fhir+json");
        message.setHeader(FhirEventHeaders.RESOURCE_TYPE, resourceType);
        message.setHeader(FhirEventHeaders.RESOURCE_ID, id);
        if (versionId != null) {
            message.setHeader(FhirEventHeaders.VERSION_ID, versionId);
        }
        message.setHeader(FhirEventHeaders.OPERATION, operation.eventName());
    }

    /** Ids only, for logs: never the value. */
    @Override
    public String toString() {
        return operation.eventName() + " " + eventId;
    }
}
