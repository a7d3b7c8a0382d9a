package org.cmm.eventbroker.fhir.change;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.cmm.eventbroker.fhir.FhirR4;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Patient;
import org.junit.jupiter.api.Test;

class FhirChangeReaderTest {

    private final FhirChangeReader reader = new FhirChangeReader();

    private static byte[] json(org.hl7.fhir.instance.model.api.IBaseResource r) {
        return FhirR4.context().newJsonParser().encodeResourceToString(r).getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void aSingleResourceIsCreatedAtVersionOneUpdatedLaterAndItsBodyIsKeptAsReceived() throws Exception {
        byte[] v1 = utf8("{\"resourceType\":\"Patient\",\"id\":\"p1\",\"meta\":{\"versionId\":\"1\",\"lastUpdated\":\"2026-11-26T10:00:00.000+00:00\"},\"active\":true}");
        FhirChange c = reader.read(v1, null).get(0);
        assertEquals(FhirOperation.CREATED, c.operation());
        assertEquals("Patient/p1", c.key());
        assertEquals("Patient/p1/_history/1", c.eventId());
        assertEquals("fhir.patient.created", c.topic("fhir"));
        assertEquals("2026-11-26T10:00:00.000+00:00", c.lastUpdated());
        assertEquals(new String(v1, StandardCharsets.UTF_8), new String(c.value(), StandardCharsets.UTF_8));

        FhirChange v2 = reader.read(utf8("{\"resourceType\":\"Observation\",\"id\":\"o1\",\"meta\":{\"versionId\":\"2\"},\"status\":\"final\",\"code\":{\"text\":\"x\"}}"), null).get(0);
        assertEquals("fhir.observation.updated", v2.topic("fhir"));
        // without a version: an update with a random event id
        FhirChange noVersion = reader.read(utf8("{\"resourceType\":\"Patient\",\"id\":\"p2\"}"), null).get(0);
        assertEquals(FhirOperation.UPDATED, noVersion.operation());
        assertNull(noVersion.versionId());
        assertFalse(noVersion.eventId().startsWith("Patient/"));
    }

    @Test
    void aNamedDeleteCarriesTypeIdAndVersionOnly() throws Exception {
        FhirChange c = reader.read(utf8("{\"resourceType\":\"MedicationRequest\",\"id\":\"m1\",\"meta\":{\"versionId\":\"4\"},\"status\":\"active\",\"intent\":\"order\"}"),
                FhirOperation.named("delete")).get(0);
        assertEquals("fhir.medicationrequest.deleted", c.topic("fhir"));
        assertEquals("{\"resourceType\":\"MedicationRequest\",\"id\":\"m1\",\"meta\":{\"versionId\":\"4\"}}",
                new String(c.value(), StandardCharsets.UTF_8));
    }

    @Test
    void transactionEntriesTakeTheirOperationFromTheRequestMethodAndTheirIdFromResourceOrUrl() throws Exception {
        Bundle tx = new Bundle().setType(Bundle.BundleType.TRANSACTION);
        Patient created = new Patient();
        created.setId("a");
        tx.addEntry().setResource(created).getRequest().setMethod(Bundle.HTTPVerb.POST).setUrl("Patient");
        Patient putFirst = new Patient();
        putFirst.getMeta().setVersionId("1");
        tx.addEntry().setResource(putFirst).getRequest().setMethod(Bundle.HTTPVerb.PUT).setUrl("Patient/b");
        Patient patched = new Patient();
        patched.setId("c");
        patched.getMeta().setVersionId("5");
        tx.addEntry().setResource(patched).getRequest().setMethod(Bundle.HTTPVerb.PATCH).setUrl("Patient/c");
        tx.addEntry().getRequest().setMethod(Bundle.HTTPVerb.DELETE).setUrl("Observation/d");
        tx.addEntry().getRequest().setMethod(Bundle.HTTPVerb.GET).setUrl("Patient/a");

        List<FhirChange> changes = reader.read(json(tx), null);
        assertEquals(List.of("created Patient/a", "created Patient/b", "updated Patient/c", "deleted Observation/d"),
                changes.stream().map(c -> c.operation().eventName() + " " + c.key()).toList());
        JsonNode b = new ObjectMapper().readTree(changes.get(1).value());
        assertEquals("b", b.path("id").asText());
        assertEquals("Patient/c/_history/5", changes.get(2).eventId());
    }

    @Test
    void transactionResponseEntriesUseStatusAndLocation() throws Exception {
        Bundle response = new Bundle().setType(Bundle.BundleType.TRANSACTIONRESPONSE);
        Patient p = new Patient();
        p.setActive(true);
        response.addEntry().setResource(p).getResponse().setStatus("201 Created").setLocation("Patient/9/_history/1");
        List<FhirChange> changes = reader.read(json(response), null);
        assertEquals(1, changes.size());
        assertEquals("Patient/9/_history/1", changes.get(0).eventId());
        assertEquals(FhirOperation.CREATED, changes.get(0).operation());

        Bundle withoutResource = new Bundle().setType(Bundle.BundleType.TRANSACTIONRESPONSE);
        withoutResource.addEntry().getResponse().setStatus("200 OK").setLocation("Patient/9/_history/2");
        FhirChangeRejectedException e = assertThrows(FhirChangeRejectedException.class,
                () -> reader.read(json(withoutResource), null));
        assertTrue(e.getReason().contains("has no resource"), e.getReason());
    }

    @Test
    void badInputIsRejectedWithAReasonThatQuotesNoContent() {
        FhirChangeRejectedException malformed = assertThrows(FhirChangeRejectedException.class,
                () -> reader.read(utf8("{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"SECRET\""), null));
        assertTrue(malformed.getReason().startsWith("malformed JSON at line 1"), malformed.getReason());
        FhirChangeRejectedException unknown = assertThrows(FhirChangeRejectedException.class,
                () -> reader.read(utf8("{\"resourceType\":\"Pationt\",\"id\":\"1\"}"), null));
        assertEquals("the body: resourceType Pationt is not a FHIR R4 resource type", unknown.getReason());
        assertTrue(unknown.getJson().contains("\"resourceType\":\"OperationOutcome\""), unknown.getJson());
        FhirChangeRejectedException invalid = assertThrows(FhirChangeRejectedException.class,
                () -> reader.read(utf8("{\"resourceType\":\"Patient\",\"id\":\"1\",\"birthDate\":\"SECRET-DATE\"}"), null));
        assertFalse(invalid.getReason().contains("SECRET"), invalid.getReason());
        FhirChangeRejectedException noId = assertThrows(FhirChangeRejectedException.class,
                () -> reader.read(utf8("{\"resourceType\":\"Patient\",\"active\":true}"), null));
        assertTrue(noId.getReason().contains("no id"), noId.getReason());
        Bundle entryOfUnknownType = new Bundle().setType(Bundle.BundleType.BATCH);
        entryOfUnknownType.addEntry().getRequest().setMethod(Bundle.HTTPVerb.DELETE).setUrl("Pationt/1");
        assertThrows(FhirChangeRejectedException.class, () -> reader.read(json(entryOfUnknownType), null));
    }

    /** Found by fuzzing: HAPI's JSON parser threw StringIndexOutOfBoundsException (a 500, no dead letter). */
    @Test
    void anEmptyPropertyNameIsRejectedNotAnException() {
        FhirChangeRejectedException rejected = assertThrows(FhirChangeRejectedException.class,
                () -> reader.read(utf8("{\"resourceType\":\"Patient\",\"id\":\"1\",\"\":1}"), null));
        assertTrue(rejected.getReason().startsWith("not valid FHIR R4 JSON"), rejected.getReason());
    }
}
