package org.cmm.eventbroker.fhir.subscription;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Reference;
import org.junit.jupiter.api.Test;

class SubscriptionCriteriaTest {

    private static Observation heartRate() {
        Observation o = new Observation();
        o.setId("obs-1");
        o.setStatus(Observation.ObservationStatus.FINAL);
        o.setCode(new CodeableConcept().addCoding(new Coding("http://loinc.org", "8867-4", "Heart rate")));
        o.addCategory(new CodeableConcept().addCoding(
                new Coding("http://terminology.hl7.org/CodeSystem/observation-category", "vital-signs", null)));
        o.setSubject(new Reference("Patient/p1"));
        return o;
    }

    private static boolean matches(String criteria, Observation o) {
        SubscriptionCriteria c = SubscriptionCriteria.parse(criteria);
        assertFalse(c.needsServer(), "evaluated locally: " + criteria);
        return c.matchesLocally(o);
    }

    @Test
    void tokenWithSystemMatchesOnlyThatSystemAndCode() {
        assertTrue(matches("Observation?code=http://loinc.org|8867-4", heartRate()));
        assertFalse(matches("Observation?code=http://loinc.org|8310-5", heartRate()));
        assertFalse(matches("Observation?code=http://snomed.info/sct|8867-4", heartRate()));
    }

    @Test
    void tokenWithoutSystemMatchesAnySystemAndBarCodeOnlyNoSystem() {
        assertTrue(matches("Observation?code=8867-4", heartRate()));
        assertFalse(matches("Observation?code=|8867-4", heartRate()), "|code: codings without system only");
        Observation local = heartRate();
        local.setCode(new CodeableConcept().addCoding(new Coding(null, "8867-4", null)));
        assertTrue(matches("Observation?code=|8867-4", local));
        assertTrue(matches("Observation?code=http://loinc.org|", heartRate()), "system|: any code");
    }

    @Test
    void percentEncodedCriteriaAreDecoded() {
        assertTrue(matches("Observation?code=http%3A%2F%2Floinc.org%7C8867-4", heartRate()));
    }

    @Test
    void statusCategoryAndSubjectTokensAndReferences() {
        assertTrue(matches("Observation?status=final", heartRate()));
        assertFalse(matches("Observation?status=preliminary", heartRate()));
        assertTrue(matches("Observation?category=vital-signs", heartRate()));
        assertTrue(matches("Observation?subject=Patient/p1", heartRate()));
        assertTrue(matches("Observation?patient=Patient/p1", heartRate()));
        assertTrue(matches("Observation?patient=p1", heartRate()));
        assertFalse(matches("Observation?patient=Patient/p2", heartRate()));
        Observation groupSubject = heartRate();
        groupSubject.setSubject(new Reference("Group/p1"));
        assertFalse(matches("Observation?patient=p1", groupSubject), "patient= only references to a Patient");
    }

    @Test
    void elementsNotComparedHereAreLeftToTheServer() {
        org.hl7.fhir.r4.model.Patient p = new org.hl7.fhir.r4.model.Patient();
        p.setId("p1");
        p.addTelecom().setValue("555-0100");
        SubscriptionCriteria telecom = SubscriptionCriteria.parse("Patient?telecom=555-0100");
        assertFalse(telecom.needsServer(), "a token parameter");
        assertNull(telecom.decideLocally(p), "a ContactPoint is not compared here");
        assertEquals(Boolean.TRUE, SubscriptionCriteria.parse("Patient?_id=p1").decideLocally(p));
    }

    @Test
    void parametersAreAndedAndCommaValuesOred() {
        assertTrue(matches("Observation?code=http://loinc.org|8867-4&patient=Patient/p1", heartRate()));
        assertFalse(matches("Observation?code=http://loinc.org|8867-4&patient=Patient/p2", heartRate()));
        assertTrue(matches("Observation?code=http://loinc.org|8310-5,http://loinc.org|8867-4", heartRate()));
        assertFalse(matches("Observation?code=http://loinc.org|8310-5,http://loinc.org|9279-1", heartRate()));
        assertFalse(matches("Observation?status=final&status=amended", heartRate()), "a repeated parameter is AND");
    }

    @Test
    void idAndResourceTypeAreChecked() {
        assertTrue(matches("Observation?_id=obs-1", heartRate()));
        assertFalse(matches("Observation?_id=obs-2", heartRate()));
        assertTrue(matches("Observation", heartRate()));
        assertFalse(SubscriptionCriteria.parse("Patient?_id=obs-1").matchesLocally(heartRate()));
    }

    @Test
    void parametersNotEvaluatedHereGoToTheServerWithTheId() {
        for (String criteria : new String[] {"Observation?value-quantity=gt100", "Observation?date=ge2026-01-01",
                "Observation?code:text=heart", "Observation?subject.name=smith", "Observation?code=a\\,b",
                "Observation?_lastUpdated=gt2026-01-01", "Observation?unknown-param=x"}) {
            assertTrue(SubscriptionCriteria.parse(criteria).needsServer(), criteria);
        }
        SubscriptionCriteria c = SubscriptionCriteria.parse("Observation?code=http://loinc.org|8867-4&value-quantity=gt100");
        assertEquals("Observation?code=http%3A%2F%2Floinc.org%7C8867-4&value-quantity=gt100&_id=obs-1", c.serverQuery("obs-1"));
        assertThrows(IllegalStateException.class, () -> c.matchesLocally(heartRate()));
    }

    @Test
    void unsupportedCriteriaAreRejectedWithAReason() {
        assertMessage("not an R4 resource type", () -> SubscriptionCriteria.parse("Foo?code=x"));
        assertMessage("not a resource-type search", () -> SubscriptionCriteria.parse("Observation/123"));
        assertMessage("unsupported criteria", () -> SubscriptionCriteria.parse("http://example.org/topic"));
        assertMessage("criteria missing", () -> SubscriptionCriteria.parse(""));
        assertMessage("without name or value", () -> SubscriptionCriteria.parse("Observation?code"));
    }

    private static void assertMessage(String expected, org.junit.jupiter.api.function.Executable call) {
        Throwable t = assertThrows(Throwable.class, call);
        assertTrue(t.getMessage() != null && t.getMessage().contains(expected), "message '" + t.getMessage() + "' lacks '" + expected + "'");
    }
}
