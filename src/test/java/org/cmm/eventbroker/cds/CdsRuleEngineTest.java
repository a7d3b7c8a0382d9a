package org.cmm.eventbroker.cds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;

/** Each rule kind of the shipped rules file, firing and not firing, on events read the way the route reads them. */
class CdsRuleEngineTest {

    private static final long DAY = 86_400_000L;
    private final CdsRuleEngine engine = new CdsRuleEngine(CdsRulesFile.load("routes/cds/cds-rules.yaml"));
    private final ClinicalEventReader reader = new ClinicalEventReader(new ClinicalEventReader.TopicPrefixes("hl7", "lab.results", "pharmacy.orders", "pharmacy.dispensing"), Set.of("D", "W", "X"));
    private long offset;

    private ClinicalEvent event(String topic, String patient, String er7, long time) throws Exception {
        return reader.read(topic, 0, offset++, time, patient, er7.getBytes(StandardCharsets.ISO_8859_1), null);
    }

    static String oru(String patient, String code, String flag) {
        return "MSH|^~\\&|LAB|H|CMM|CMM|20240315101500||ORU^R01|C" + code + "|P|2.5.1\r"
                + "PID|1||" + patient + "^^^H^MR||DOE^JANE\r"
                + "OBR|1|O1|F1|" + code + "^Test^LN\r"
                + "OBX|1|NM|" + code + "^Test^LN||7.1|mmol/L|3.5-5.1|" + flag + "|||F\r";
    }

    static String rde(String patient, String control, String orderId, String code, String text) {
        return "MSH|^~\\&|EHR|H|PHARMACY|P|20240315101500||RDE^O11^RDE_O11|" + orderId + control + "|P|2.5.1\r"
                + "PID|1||" + patient + "^^^H^MR||DOE^JANE\r"
                + "ORC|" + control + "|" + orderId + "\r"
                + "RXE|^BID^^20240315|" + code + "^" + text + "^RXNORM|5||mg\r";
    }

    static String rds(String patient, String orderId, String code, String text, int amount) {
        return "MSH|^~\\&|PHARMSYS|H|CMM|CMM|20240316090000||RDS^O13^RDS_O13|D" + orderId + "|P|2.5.1\r"
                + "PID|1||" + patient + "^^^H^MR||DOE^JANE\r"
                + "ORC|RE|" + orderId + "\r"
                + "RXE|^BID^HL7|" + code + "^" + text + "^RXNORM|10||mg\r"
                + "RXD|1|" + code + "^" + text + "^RXNORM|20240316085500|" + amount + "|TAB\r";
    }

    @Test
    void aCriticalResultFiresAnAbnormalResultCriticalAlertNamingCodesNotValues() throws Exception {
        ClinicalEvent e = event("lab.results.critical", "P1", oru("P1", "2823-3", "H~HH"), 1000);
        List<CdsAlert> alerts = engine.evaluate(e, null).alerts();
        assertEquals(1, alerts.size());
        CdsAlert a = alerts.get(0);
        assertEquals("abnormal-result.critical", a.kind());
        assertEquals("critical-lab-result", a.ruleId());
        assertEquals(List.of("2823-3"), a.codes());
        assertTrue(a.summary().contains("HH") && !a.summary().contains("7.1") && !a.summary().contains("DOE"), a.summary());
    }

    @Test
    void theInputsAreReadByTheConfiguredTopicPrefixesNotByBuiltInNames() throws Exception {
        ClinicalEventReader siteA = new ClinicalEventReader(new ClinicalEventReader.TopicPrefixes("site-a.hl7",
                "site-a.lab.results", "site-a.pharmacy.orders", "site-a.pharmacy.dispensing"), Set.of());
        ClinicalEvent e = siteA.read("site-a.lab.results.critical", 0, 1, 1000, "P1",
                oru("P1", "2823-3", "HH").getBytes(StandardCharsets.ISO_8859_1), null);
        assertEquals(ClinicalEvent.Kind.LAB_RESULT, e.kind());
        assertEquals(1, engine.evaluate(e, null).alerts().size());
        ClinicalEvent dispensed = siteA.read("site-a.pharmacy.dispensing.return", 0, 2, 2000, "P1",
                rds("P1", "O1", "11289", "Warfarin", 5).getBytes(StandardCharsets.ISO_8859_1), null);
        assertEquals(ClinicalEvent.Kind.DISPENSE, dispensed.kind());
        assertFalse(dispensed.medication().active(), "a return ends the medication");
        // the built-in names mean nothing to a site that renamed its topics
        org.junit.jupiter.api.Assertions.assertThrows(org.cmm.eventbroker.platform.delivery.DeliveryRejectedException.class,
                () -> siteA.read("lab.results.critical", 0, 3, 3000, "P1",
                        oru("P1", "2823-3", "HH").getBytes(StandardCharsets.ISO_8859_1), null));
    }

    @Test
    void anAbnormalOrNormalResultDoesNotFireTheCriticalResultRule() throws Exception {
        assertTrue(engine.evaluate(event("lab.results.abnormal", "P1", oru("P1", "718-7", "H"), 1000), null).alerts().isEmpty());
        assertTrue(engine.evaluate(event("lab.results.normal", "P1", oru("P1", "718-7", "N"), 1000), null).alerts().isEmpty());
    }

    @Test
    void warfarinThenAspirinForOnePatientFiresAHighInteraction() throws Exception {
        CdsRuleEngine.Evaluation first = engine.evaluate(event("pharmacy.orders.inpatient", "P1",
                rde("P1", "NW", "O-1", "855332", "Warfarin sodium 5 MG Oral Tablet"), 1000), null);
        assertTrue(first.alerts().isEmpty());
        CdsRuleEngine.Evaluation second = engine.evaluate(event("pharmacy.orders.inpatient", "P1",
                rde("P1", "NW", "O-2", "99999", "Aspirin 81 mg chewable tablet"), 2000), first.state());
        assertEquals(1, second.alerts().size());
        assertEquals("drug-interaction.high", second.alerts().get(0).kind());
        assertEquals(2, second.state().activeMedications.size());
    }

    @Test
    void theSameDrugsForDifferentPatientsDoNotInteract() throws Exception {
        PatientState p1 = engine.evaluate(event("pharmacy.orders.inpatient", "P1",
                rde("P1", "NW", "O-1", "11289", "warfarin"), 1000), null).state();
        assertTrue(engine.evaluate(event("pharmacy.orders.inpatient", "P2",
                rde("P2", "NW", "O-2", "1191", "aspirin"), 2000), null).alerts().isEmpty());
        assertEquals(1, p1.activeMedications.size());
    }

    @Test
    void aMediumInteractionFiresOnItsOwnTopicAndUnrelatedDrugsDoNot() throws Exception {
        PatientState s = engine.evaluate(event("pharmacy.orders.outpatient", "P1",
                rde("P1", "NW", "O-1", "29046", "lisinopril"), 1000), null).state();
        CdsRuleEngine.Evaluation e = engine.evaluate(event("pharmacy.orders.outpatient", "P1",
                rde("P1", "NW", "O-2", "9997", "spironolactone"), 2000), s);
        assertEquals("drug-interaction.medium", e.alerts().get(0).kind());
        assertTrue(engine.evaluate(event("pharmacy.orders.outpatient", "P1",
                rde("P1", "NW", "O-3", "197361", "Amlodipine 5 MG Oral Tablet"), 3000), e.state()).alerts().isEmpty());
    }

    @Test
    void aDiscontinueOrAReturnEndsTheMedicationSoNoInteractionFollows() throws Exception {
        PatientState s = engine.evaluate(event("pharmacy.orders.inpatient", "P1", rde("P1", "NW", "O-1", "11289", "warfarin"), 1000), null).state();
        s = engine.evaluate(event("pharmacy.orders.inpatient", "P1", rde("P1", "DC", "O-1", "11289", "warfarin"), 2000), s).state();
        assertTrue(s.activeMedications.isEmpty());
        assertTrue(engine.evaluate(event("pharmacy.orders.inpatient", "P1", rde("P1", "NW", "O-2", "1191", "aspirin"), 3000), s).alerts().isEmpty());

        PatientState d = engine.evaluate(event("pharmacy.dispensing.new", "P3", rds("P3", "R-1", "11289", "warfarin", 30), 1000), null).state();
        assertEquals(1, d.activeMedications.size());
        d = engine.evaluate(event("pharmacy.dispensing.return", "P3", rds("P3", "R-1", "11289", "warfarin", -30), 2000), d).state();
        assertTrue(d.activeMedications.isEmpty());
    }

    @Test
    void dischargeEndsInpatientMedicationsButNotOutpatientOnes() throws Exception {
        PatientState s = engine.evaluate(event("pharmacy.orders.inpatient", "P1", rde("P1", "NW", "O-1", "11289", "warfarin"), 1000), null).state();
        s = engine.evaluate(event("pharmacy.orders.outpatient", "P1", rde("P1", "NW", "O-2", "29046", "lisinopril"), 1000), s).state();
        String a03 = "MSH|^~\\&|EHR|H|CMM|CMM|20240315101500||ADT^A03|A1|P|2.5.1\rPID|1||P1^^^H^MR\r";
        s = engine.evaluate(event("hl7.adt.a03", "P1", a03, 2000), s).state();
        assertEquals(Set.of("O-2"), s.activeMedications.keySet());
    }

    @Test
    void aReplayedEventChangesNothingButRaisesTheSameAlertWithTheSameId() throws Exception {
        PatientState s = engine.evaluate(event("pharmacy.orders.inpatient", "P1", rde("P1", "NW", "O-1", "11289", "warfarin"), 1000), null).state();
        ClinicalEvent aspirin = event("pharmacy.orders.inpatient", "P1", rde("P1", "NW", "O-2", "1191", "aspirin"), 2000);
        CdsRuleEngine.Evaluation once = engine.evaluate(aspirin, s);
        CdsRuleEngine.Evaluation again = engine.evaluate(aspirin, once.state());
        assertNull(again.state(), "a replay does not change the state");
        assertEquals(once.alerts(), again.alerts());
        assertEquals(new String(once.alerts().get(0).toJson()), new String(again.alerts().get(0).toJson()));
    }

    @Test
    void anAbnormalPotassiumWithoutFollowUpBecomesACareGapAfterThePeriodAndAFollowUpClosesIt() throws Exception {
        PatientState s = engine.evaluate(event("lab.results.abnormal", "P1", oru("P1", "2823-3", "H"), 0), null).state();
        assertTrue(engine.dueCareGaps("P1", s, 3 * DAY - 1).isEmpty(), "not before the period ended");
        List<CdsRuleEngine.DueCareGap> due = engine.dueCareGaps("P1", s, 3 * DAY);
        assertEquals(1, due.size());
        assertEquals("care-gap.medium", due.get(0).alert().kind());
        assertEquals("potassium-follow-up", due.get(0).alert().ruleId());
        PatientState reported = engine.careGapReported(s, due.get(0).followUpKey());
        assertTrue(engine.dueCareGaps("P1", reported, 10 * DAY).isEmpty(), "reported once");

        PatientState followed = engine.evaluate(event("lab.results.normal", "P1", oru("P1", "2823-3", "N"), DAY), s).state();
        assertTrue(engine.dueCareGaps("P1", followed, 10 * DAY).isEmpty(), "a follow-up result closes the gap");
    }

    @Test
    void aFollowUpProcessedBeforeItsIndexResultStillClosesTheGap() throws Exception {
        PatientState s = engine.evaluate(event("lab.results.normal", "P1", oru("P1", "2823-3", "N"), DAY), null).state();
        s = engine.evaluate(event("lab.results.abnormal", "P1", oru("P1", "2823-3", "H"), 0), s).state();
        assertTrue(engine.dueCareGaps("P1", s, 10 * DAY).isEmpty());
    }

    @Test
    void aNormalResultOpensNoFollowUp() throws Exception {
        PatientState s = engine.evaluate(event("lab.results.normal", "P1", oru("P1", "4548-4", "N"), 0), null).state();
        assertTrue(engine.dueCareGaps("P1", s, 1000 * DAY).isEmpty());
    }

    @Test
    void aFhirMedicationRequestIsReadAsAnOrderAndAStoppedOneEndsIt() throws Exception {
        String active = "{\"resourceType\":\"MedicationRequest\",\"id\":\"mr1\",\"status\":\"active\","
                + "\"medicationCodeableConcept\":{\"coding\":[{\"system\":\"http://www.nlm.nih.gov/research/umls/rxnorm\",\"code\":\"36567\"}]}}";
        ClinicalEvent e = reader.read("pharmacy.orders.outpatient", 0, offset++, 1000, "P9", active.getBytes(StandardCharsets.UTF_8), null);
        PatientState s = engine.evaluate(e, null).state();
        assertEquals(Set.of("mr1"), s.activeMedications.keySet());
        ClinicalEvent clar = reader.read("pharmacy.orders.outpatient", 0, offset++, 2000, "P9",
                rde("P9", "NW", "O-7", "21212", "clarithromycin").getBytes(StandardCharsets.ISO_8859_1), null);
        assertEquals("drug-interaction.high", engine.evaluate(clar, s).alerts().get(0).kind());
        String stopped = active.replace("\"active\"", "\"stopped\"");
        ClinicalEvent stop = reader.read("pharmacy.orders.outpatient", 0, offset++, 3000, "P9", stopped.getBytes(StandardCharsets.UTF_8), null);
        assertTrue(engine.evaluate(stop, s).state().activeMedications.isEmpty());
    }
}
