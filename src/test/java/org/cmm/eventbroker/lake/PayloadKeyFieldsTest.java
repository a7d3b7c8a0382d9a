package org.cmm.eventbroker.lake;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;

import org.cmm.eventbroker.testsupport.Hl7Samples;
import org.junit.jupiter.api.Test;

/** The key fields the lake keeps as columns, and the reasons a payload is refused (never quoting it). */
class PayloadKeyFieldsTest {

    @Test
    void hl7MessagesGiveTypeTriggerControlIdFacilityTimeAndTheFirstPatientIdentifier() throws Exception {
        PayloadKeyFields f = PayloadKeyFields.of(Hl7Samples.load("adt-a01.hl7", "CTL1").getBytes(StandardCharsets.ISO_8859_1));
        assertEquals(new PayloadKeyFields("hl7v2", "ADT", "A01", "CTL1", "GENHOSP", "20240315083000-0500", "MRN100001",
                null, null), f);
    }

    @Test
    void fhirResourcesGiveTypeIdAndThePatientTheyReferTo() throws Exception {
        PayloadKeyFields f = PayloadKeyFields.of(
                "{\"resourceType\":\"Observation\",\"id\":\"o1\",\"subject\":{\"reference\":\"Patient/p9\"}}"
                        .getBytes(StandardCharsets.UTF_8));
        assertEquals("Observation", f.resourceType());
        assertEquals("o1", f.resourceId());
        assertEquals("p9", f.patientId());
        assertEquals("json", f.payloadFormat());
    }

    @Test
    void unreadablePayloadsAreRefusedWithAReasonThatDoesNotQuoteThem() {
        assertEquals("empty payload", reason(new byte[0]));
        assertEquals("neither an HL7 v2 message (no MSH segment first) nor a JSON object",
                reason("SECRET-NAME".getBytes(StandardCharsets.UTF_8)));
        assertEquals("not valid JSON (line 1, column 13)", reason("{\"name\": SECR".getBytes(StandardCharsets.UTF_8)).replaceAll("column \\d+", "column 13"));
        assertEquals("HL7 v2 MSH segment has 3 fields, fewer than 12", reason("MSH|^~\\&|X".getBytes(StandardCharsets.UTF_8)));
    }

    private static String reason(byte[] payload) {
        return assertThrows(UnparseablePayloadException.class, () -> PayloadKeyFields.of(payload)).getMessage();
    }
}
