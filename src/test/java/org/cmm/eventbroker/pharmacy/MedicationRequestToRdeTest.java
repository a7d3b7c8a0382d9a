package org.cmm.eventbroker.pharmacy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.stream.Collectors;

import ca.uhn.hl7v2.DefaultHapiContext;
import ca.uhn.hl7v2.HapiContext;
import ca.uhn.hl7v2.model.Message;
import ca.uhn.hl7v2.model.v251.message.RDE_O11;
import ca.uhn.hl7v2.util.Terser;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.cmm.eventbroker.platform.delivery.DeliveryRejectedException;
import org.cmm.eventbroker.fhir.MappedOrder;
import org.cmm.eventbroker.fhir.OrderAddressing;
import org.cmm.eventbroker.testsupport.FhirSamples;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

class MedicationRequestToRdeTest {

    private static final HapiContext HAPI = new DefaultHapiContext();
    private static final Clock NOON = Clock.fixed(Instant.parse("2024-03-20T12:00:00Z"), ZoneOffset.UTC);
    private static final String AMOXICILLIN = "medication-request-rxnorm.json";

    private final MedicationRequestToRde mapper = new MedicationRequestToRde(OrderAddressing.to("PHARMACY"), NOON);

    @AfterAll
    static void closeHapi() throws Exception {
        HAPI.close();
    }

    @Test
    void rxNormPrescriptionWithDosageAndDispenseRequestBecomesAnRdeO11ThatHapiParses() throws Exception {
        MappedOrder order = mapper.map(FhirSamples.load(AMOXICILLIN));
        Message parsed = HAPI.getPipeParser().parse(order.er7());
        assertInstanceOf(RDE_O11.class, parsed);
        assertEquals("MSH PID PV1 ORC RXE NTE TQ1 RXR", segmentNames(order.er7()));
        Terser t = new Terser(parsed);

        assertEquals("PHARMACY", t.get("/MSH-5"));
        assertEquals("20240316080500+0000", t.get("/MSH-7"), "MSH-7 from meta.lastUpdated");
        assertEquals("RDE", t.get("/MSH-9-1"));
        assertEquals("O11", t.get("/MSH-9-2"));
        assertEquals("RDE_O11", t.get("/MSH-9-3"));
        assertEquals(order.controlId(), t.get("/MSH-10"));
        assertEquals("2.5.1", t.get("/MSH-12"));
        assertEquals("UNICODE UTF-8", t.get("/MSH-18"));

        assertEquals("MRN100042", t.get("/PATIENT/PID-3-1"));
        assertEquals("http://hospital.example.org/mrn", t.get("/PATIENT/PID-3-4"));
        assertEquals("Vanterpool", t.get("/PATIENT/PID-5-1"));
        assertEquals("Cordelia", t.get("/PATIENT/PID-5-2"));
        assertEquals("19880101", t.get("/PATIENT/PID-7"));
        assertEquals("F", t.get("/PATIENT/PID-8"));
        assertEquals("I", t.get("/PATIENT/PATIENT_VISIT/PV1-2"), "category inpatient");
        assertEquals("enc-88123", t.get("/PATIENT/PATIENT_VISIT/PV1-19"));

        assertEquals("NW", t.get("/ORDER/ORC-1"));
        assertEquals("RX-2024-0316-17", t.get("/ORDER/ORC-2"));
        assertEquals("20240316080000+0000", t.get("/ORDER/ORC-9"));
        assertEquals("1234", t.get("/ORDER/ORC-12-1"));
        assertEquals("Welby", t.get("/ORDER/ORC-12-2"));

        assertEquals("308191", t.get("/ORDER/RXE-2-1"));
        assertEquals("amoxicillin 500 MG Oral Capsule", t.get("/ORDER/RXE-2-2"));
        assertEquals("RXNORM", t.get("/ORDER/RXE-2-3"));
        assertEquals("500", t.get("/ORDER/RXE-3"));
        assertEquals("mg", t.get("/ORDER/RXE-5-1"));
        assertEquals("UCUM", t.get("/ORDER/RXE-5-3"));
        assertEquals("1 capsule three times daily for 10 days", t.get("/ORDER/RXE-7-2"));
        assertEquals("G", t.get("/ORDER/RXE-9"));
        assertEquals("30", t.get("/ORDER/RXE-10"));
        assertEquals("CAP", t.get("/ORDER/RXE-11-1"));
        assertEquals("capsule", t.get("/ORDER/RXE-11-2"));
        assertEquals("1", t.get("/ORDER/RXE-12"));
        assertEquals("Penicillin allergy ruled out.", t.get("/ORDER/NTE-3"));

        assertEquals("TID", t.get("/ORDER/TIMING_ENCODED/TQ1-3-1-1"));
        assertEquals("HL70335", t.get("/ORDER/TIMING_ENCODED/TQ1-3-1-3"));
        assertEquals("20240316090000+0000", t.get("/ORDER/TIMING_ENCODED/TQ1-7"));
        assertEquals("20240326090000+0000", t.get("/ORDER/TIMING_ENCODED/TQ1-8"));
        assertEquals("R", t.get("/ORDER/TIMING_ENCODED/TQ1-9-1"));
        assertEquals("HL70485", t.get("/ORDER/TIMING_ENCODED/TQ1-9-3"));

        assertEquals("26643006", t.get("/ORDER/RXR-1-1"));
        assertEquals("Oral route", t.get("/ORDER/RXR-1-2"));
        assertEquals("SCT", t.get("/ORDER/RXR-1-3"));
    }

    @Test
    void everyNHoursBecomesAQnHRepeatPatternAndOutpatientCategoryPatientClassO() throws Exception {
        byte[] json = FhirSamples.changed(AMOXICILLIN, r -> {
            ObjectNode repeat = (ObjectNode) r.path("dosageInstruction").path(0).path("timing").path("repeat");
            repeat.put("frequency", 1).put("period", 8).put("periodUnit", "h");
            ((ObjectNode) r.path("category").path(0).path("coding").path(0)).put("code", "outpatient");
        });
        Terser t = new Terser(HAPI.getPipeParser().parse(mapper.map(json).er7()));
        assertEquals("Q8H", t.get("/ORDER/TIMING_ENCODED/TQ1-3-1-1"));
        assertEquals("O", t.get("/PATIENT/PATIENT_VISIT/PV1-2"));
    }

    @Test
    void medicationReferenceToAContainedMedicationIsResolved() throws Exception {
        byte[] json = FhirSamples.changed(AMOXICILLIN, r -> {
            r.remove("medicationCodeableConcept");
            r.putObject("medicationReference").put("reference", "#med");
            ObjectNode medication = r.withArray("contained").addObject();
            medication.put("resourceType", "Medication").put("id", "med");
            medication.putObject("code").putArray("coding").addObject()
                    .put("system", "http://www.nlm.nih.gov/research/umls/rxnorm").put("code", "197361")
                    .put("display", "amlodipine 5 MG Oral Tablet");
        });
        Terser t = new Terser(HAPI.getPipeParser().parse(mapper.map(json).er7()));
        assertEquals("197361", t.get("/ORDER/RXE-2-1"));
        assertEquals("RXNORM", t.get("/ORDER/RXE-2-3"));
    }

    @Test
    void medicationReferenceToAMedicationElsewhereIsRejected() {
        assertRejected("FHIR MedicationRequest has only a medicationReference to a Medication that is not contained"
                        + " (send medicationCodeableConcept, or contain the Medication)",
                FhirSamples.changed(AMOXICILLIN, r -> {
                    r.remove("medicationCodeableConcept");
                    r.putObject("medicationReference").put("reference", "Medication/amox-500");
                }));
    }

    @Test
    void missingMedicationIsRejected() {
        assertRejected("FHIR MedicationRequest lacks medicationCodeableConcept (the drug, needed for RXE-2)",
                FhirSamples.changed(AMOXICILLIN, r -> r.remove("medicationCodeableConcept")));
        assertRejected("FHIR MedicationRequest medicationCodeableConcept has no coding with a code (needed for RXE-2)",
                FhirSamples.changed(AMOXICILLIN, r -> ((ObjectNode) r.path("medicationCodeableConcept")).remove("coding")));
    }

    @Test
    void missingSubjectIsRejected() {
        assertRejected("FHIR MedicationRequest lacks subject (the patient)",
                FhirSamples.changed(AMOXICILLIN, r -> r.remove("subject")));
    }

    @Test
    void draftIsRejectedAsNotAnOrder() {
        assertRejected("FHIR MedicationRequest status 'draft' cannot be sent as an order"
                        + " (accepted: active, on-hold, cancelled, entered-in-error)",
                FhirSamples.changed(AMOXICILLIN, r -> r.put("status", "draft")));
    }

    @Test
    void doseThatIsNotANumberIsRejectedNamingTheElement() {
        assertRejected("FHIR MedicationRequest dosageInstruction[0].doseAndRate[0] dose value is not a number",
                FhirSamples.changed(AMOXICILLIN, r -> ((ObjectNode) r.path("dosageInstruction").path(0)
                        .path("doseAndRate").path(0).path("doseQuantity")).put("value", "five hundred")));
    }

    @Test
    void wrongResourceTypeIsRejected() {
        assertRejected("FHIR resource is a 'ServiceRequest', not a MedicationRequest",
                FhirSamples.load("service-request-minimal.json"));
    }

    @Test
    void theSameBytesGiveTheSameControlIdAndAChangedResourceANewOne() throws Exception {
        byte[] json = FhirSamples.load(AMOXICILLIN);
        assertEquals(mapper.map(json).er7(), mapper.map(json.clone()).er7());
        assertNotEquals(mapper.map(json).controlId(),
                mapper.map(FhirSamples.changed(AMOXICILLIN, r -> r.put("status", "on-hold"))).controlId());
    }

    private void assertRejected(String reason, byte[] json) {
        DeliveryRejectedException e = assertThrows(DeliveryRejectedException.class, () -> mapper.map(json));
        assertEquals(reason, e.getMessage());
        assertTrue(!e.getMessage().contains("MRN100042") && !e.getMessage().contains("Vanterpool"));
    }

    private static String segmentNames(String er7) {
        return Arrays.stream(er7.split("\r")).map(s -> s.substring(0, 3)).collect(Collectors.joining(" "));
    }
}
