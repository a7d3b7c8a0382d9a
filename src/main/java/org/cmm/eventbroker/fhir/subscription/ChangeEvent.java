package org.cmm.eventbroker.fhir.subscription;

import java.nio.charset.StandardCharsets;
import java.util.Set;

import org.apache.camel.Message;
import org.cmm.eventbroker.platform.delivery.DeliveryRejectedException;
import org.cmm.eventbroker.fhir.FhirEventHeaders;
import org.cmm.eventbroker.fhir.FhirR4;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.Resource;

/**
 * A record of {@code fhir.resource.changed} (docs/fhir/events-and-subscriptions.md) as the Subscription processor
 * reads it: headers and the resource, parsed unless it is a delete. A record that is not one is rejected with a reason
 * that names the missing or wrong part, never its content.
 */
record ChangeEvent(String resourceType, String id, String versionId, String operation, String ceId, String ceTime,
                   byte[] body, Resource resource) {

    private static final Set<String> OPERATIONS = Set.of("created", "updated", "deleted");

    static ChangeEvent of(Message message) throws DeliveryRejectedException {
        String type = message.getHeader(FhirEventHeaders.RESOURCE_TYPE, String.class);
        String id = message.getHeader(FhirEventHeaders.RESOURCE_ID, String.class);
        String operation = message.getHeader(FhirEventHeaders.OPERATION, String.class);
        if (type == null || type.isBlank() || id == null || id.isBlank()) {
            throw new DeliveryRejectedException("change event without " + FhirEventHeaders.RESOURCE_TYPE + " or "
                    + FhirEventHeaders.RESOURCE_ID);
        }
        if (operation == null || !OPERATIONS.contains(operation)) {
            throw new DeliveryRejectedException("change event " + type + "/" + id + " without a known "
                    + FhirEventHeaders.OPERATION + " (created, updated, deleted)");
        }
        byte[] body = message.getBody(byte[].class);
        Resource resource = null;
        if (!operation.equals("deleted")) {
            if (body == null || body.length == 0) {
                throw new DeliveryRejectedException("change event " + type + "/" + id + " without a resource");
            }
            IBaseResource parsed;
            try {
                parsed = FhirR4.context().newJsonParser().parseResource(new String(body, StandardCharsets.UTF_8));
            } catch (RuntimeException e) {
                throw new DeliveryRejectedException("change event " + type + "/" + id + " is not FHIR R4 JSON ("
                        + e.getClass().getSimpleName() + ")");
            }
            if (!(parsed instanceof Resource r) || !type.equals(r.fhirType())) {
                throw new DeliveryRejectedException("change event " + type + "/" + id + " holds another resource type");
            }
            resource = r;
            if (resource.getIdElement().getIdPart() == null) {
                resource.setId(id);
            }
        }
        return new ChangeEvent(type, id, message.getHeader(FhirEventHeaders.VERSION_ID, String.class), operation,
                message.getHeader("ce_id", String.class), message.getHeader("ce_time", String.class), body, resource);
    }

    String key() {
        return resourceType + "/" + id;
    }

    /** {@code Type/id/_history/version}, or {@code Type/id} when the version is not known. */
    String focus() {
        return versionId == null || versionId.isBlank() ? key() : key() + "/_history/" + versionId;
    }
}
