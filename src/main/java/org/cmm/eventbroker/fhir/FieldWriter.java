package org.cmm.eventbroker.fhir;

import ca.uhn.hl7v2.HL7Exception;
import ca.uhn.hl7v2.model.Segment;
import ca.uhn.hl7v2.util.Terser;
import com.fasterxml.jackson.databind.JsonNode;
import org.cmm.eventbroker.platform.delivery.DeliveryRejectedException;

/**
 * Puts values from a FHIR resource into HAPI segments by field number, as the mapping tables in docs/mappings list
 * them, and leaves a field empty when the resource has no value for it.
 *
 * <p>Values are set raw and HAPI escapes the delimiters when it encodes. When HAPI refuses a value (a number that is
 * not one, a text over the type's length), the record is rejected naming the HL7 field; HAPI's own message is not
 * passed on because it quotes the value.
 */
public final class FieldWriter {

    private final String resourceType;

    public FieldWriter(String resourceType) {
        this.resourceType = resourceType;
    }

    /** Sets component 1 of the first repetition of the field. */
    public void set(Segment segment, int field, String value) throws DeliveryRejectedException {
        set(segment, field, 0, 1, 1, value);
    }

    /** Sets a component (subcomponent 1) of the first repetition of the field. */
    public void set(Segment segment, int field, int component, String value) throws DeliveryRejectedException {
        set(segment, field, 0, component, 1, value);
    }

    /** Sets one subcomponent of one repetition (rep counts from 0, component and subcomponent from 1). */
    public void set(Segment segment, int field, int rep, int component, int subcomponent, String value)
            throws DeliveryRejectedException {
        if (value == null || value.isBlank()) {
            return;
        }
        try {
            Terser.set(segment, field, rep, component, subcomponent, value);
        } catch (HL7Exception | RuntimeException e) {
            throw new DeliveryRejectedException("FHIR " + resourceType + " value for " + segment.getName() + "-" + field
                    + " is not valid in HL7 v2.5.1 (" + e.getClass().getSimpleName() + ")");
        }
    }

    /**
     * Writes a FHIR Coding into a CE/CWE field: code, text (the coding's display,
     * else the CodeableConcept's text), and the v2 name of its system ({@link CodingSystems}).
     */
    public void setCoding(Segment segment, int field, int rep, JsonNode coding, String fallbackText)
            throws DeliveryRejectedException {
        String code = FhirOrderRequest.text(coding, "code");
        String display = FhirOrderRequest.text(coding, "display");
        set(segment, field, rep, 1, 1, code);
        set(segment, field, rep, 2, 1, display != null ? display : fallbackText);
        if (code != null) {
            set(segment, field, rep, 3, 1, CodingSystems.hl7Name(FhirOrderRequest.text(coding, "system")));
        }
    }
}
