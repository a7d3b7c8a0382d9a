package org.cmm.eventbroker.cds;

import static org.awaitility.Awaitility.await;
import static org.cmm.eventbroker.testsupport.KafkaTopicReader.header;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.cmm.eventbroker.testsupport.FreePorts;
import org.cmm.eventbroker.testsupport.HapiSender;
import org.cmm.eventbroker.testsupport.Hl7Samples;
import org.cmm.eventbroker.testsupport.OrderMessages;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.cmm.eventbroker.testsupport.ScriptedHl7Peer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Flow 3 end to end on a real Kafka broker: clinical events on their topics (a result from a real LIS over MLLP, orders
 * and dispensing published as the EHR and pharmacy do), the rules of a test copy of cds-rules.yaml (potassium follow-up
 * within 3 s), alerts on cds.<type>.<priority> keyed by patient, delivered to a real EHR (HAPI MLLP server).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClinicalDecisionSupportIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private RuntimeUnderTest env;
    private ScriptedHl7Peer ehr;
    private OrderMessages kafka;

    @BeforeAll
    void start() throws Exception {
        int ehrPort = FreePorts.next();
        ehr = new ScriptedHl7Peer(ehrPort).start();
        env = RuntimeUnderTest.flows("cds-rules-engine", "cds-alerts-to-ehr", "lab-results-mllp-inbound").with(Map.of(
                "cmm.ehr.mllp.port", String.valueOf(ehrPort),
                "cmm.cds.rules-file", "src/test/resources/cds/cds-rules-it.yaml",
                "cmm.cds.care-gap.check-interval-ms", "500",
                "cmm.delivery.initial-backoff-ms", "200",
                "cmm.delivery.max-backoff-ms", "1000")).start();
        kafka = new OrderMessages(env.bootstrapServers());
    }

    @AfterAll
    void stop() throws Exception {
        kafka.close();
        env.close();
        ehr.close();
    }

    private static String rde(String patient, String control, String orderId, String code, String text) {
        return CdsRuleEngineTest.rde(patient, control, orderId, code, text);
    }

    private List<ConsumerRecord<String, byte[]>> alerts(String topic, String patient, int atLeast) {
        return env.topics().awaitRecords(topic, r -> patient.equals(r.key()), atLeast);
    }

    private static JsonNode json(ConsumerRecord<String, byte[]> r) throws Exception {
        return JSON.readTree(r.value());
    }

    private long count(String topic, String patient) {
        return env.topics().readAll(topic).stream().filter(r -> patient.equals(r.key())).count();
    }

    @Test
    void aCriticalResultFromTheLisRaisesACriticalAlertThatTheEhrReceivesAsOru() throws Exception {
        try (HapiSender lis = new HapiSender(env.labResultsPort())) {
            assertEquals("AA", lis.send(lis.parse(Hl7Samples.load("oru-r01-critical-repeated-flags.hl7", "CDS-CRIT-1"))));
        }
        ConsumerRecord<String, byte[]> record = alerts("cds.abnormal-result.critical", "MRN100006", 1).get(0);
        JsonNode alert = json(record);
        assertEquals("cmm.cds.alert.v1", alert.path("schema").asText());
        assertEquals("critical-lab-result", alert.path("ruleId").asText());
        assertEquals("lab.results.critical", alert.path("trigger").path("topic").asText());
        assertEquals("cds.abnormal-result.critical", header(record, "ce_type"));
        assertTrue(header(record, "hl7_control_id") == null, "nothing of the input record travels with the alert");
        String controlId = alert.path("alertId").asText().substring(4, 24);
        await().atMost(Duration.ofSeconds(30)).until(() -> ehr.attempts(controlId) == 1);
        ScriptedHl7Peer.Received got = ehr.received().stream().filter(r -> r.controlId().equals(controlId)).findFirst().orElseThrow();
        assertEquals("MRN100006", got.patientId());
        assertTrue(got.er7().contains("ORU^R01") && got.er7().contains("CDS-abnormal-result"), "ORU with the alert OBX");
    }

    @Test
    void warfarinThenAspirinForOnePatientRaisesAHighInteractionAndForDifferentPatientsNothing() throws Exception {
        kafka.publish("pharmacy.orders.inpatient", "P-DDI-2", rde("P-DDI-2", "NW", "O-21", "11289", "warfarin 5 mg"));
        kafka.publish("pharmacy.orders.inpatient", "P-DDI-3", rde("P-DDI-3", "NW", "O-31", "1191", "aspirin 81 mg"));
        kafka.publish("pharmacy.orders.inpatient", "P-DDI-1", rde("P-DDI-1", "NW", "O-11", "855332", "Warfarin Sodium 5 MG Oral Tablet"));
        kafka.publish("pharmacy.orders.inpatient", "P-DDI-1", rde("P-DDI-1", "NW", "O-12", "1191", "Aspirin 81 MG"));
        JsonNode alert = json(alerts("cds.drug-interaction.high", "P-DDI-1", 1).get(0));
        assertEquals("drug-interaction", alert.path("type").asText());
        assertEquals("high", alert.path("priority").asText());
        assertEquals(0, count("cds.drug-interaction.high", "P-DDI-2") + count("cds.drug-interaction.high", "P-DDI-3"));
    }

    @Test
    void aDiscontinuedOrReturnedMedicationNoLongerInteracts() throws Exception {
        kafka.publish("pharmacy.orders.inpatient", "P-DC", rde("P-DC", "NW", "O-1", "11289", "warfarin"));
        kafka.publish("pharmacy.orders.inpatient", "P-DC", rde("P-DC", "DC", "O-1", "11289", "warfarin"));
        kafka.publish("pharmacy.orders.inpatient", "P-DC", rde("P-DC", "NW", "O-2", "1191", "aspirin"));
        // the same patient's next pair does interact: once its alert is there, the earlier events were processed
        kafka.publish("pharmacy.orders.inpatient", "P-DC", rde("P-DC", "NW", "O-3", "36567", "simvastatin"));
        kafka.publish("pharmacy.orders.inpatient", "P-DC", rde("P-DC", "NW", "O-4", "21212", "clarithromycin"));
        List<ConsumerRecord<String, byte[]>> found = alerts("cds.drug-interaction.high", "P-DC", 1);
        assertEquals(1, found.size());
        assertTrue(json(found.get(0)).path("summary").asText().contains("simvastatin"));

        kafka.publish("pharmacy.dispensing.new", "P-RET", CdsRuleEngineTest.rds("P-RET", "R-1", "29046", "lisinopril", 30));
        // events of different topics are not ordered with each other: the return must come after the dispense
        env.topics().awaitRecords("cds.state", r -> "P-RET".equals(r.key()) && r.value() != null
                && new String(r.value(), StandardCharsets.UTF_8).contains("pharmacy.dispensing.new"), 1);
        kafka.publish("pharmacy.dispensing.return", "P-RET", CdsRuleEngineTest.rds("P-RET", "R-1", "29046", "lisinopril", -30));
        // and wait until the return is in the state
        env.topics().awaitRecords("cds.state", r -> "P-RET".equals(r.key()) && r.value() != null
                && new String(r.value(), StandardCharsets.UTF_8).contains("pharmacy.dispensing.return"), 1);
        kafka.publish("pharmacy.orders.outpatient", "P-RET", rde("P-RET", "NW", "O-5", "9997", "spironolactone"));
        kafka.publish("pharmacy.orders.outpatient", "P-RET", rde("P-RET", "NW", "O-6", "11289", "warfarin"));
        kafka.publish("pharmacy.orders.outpatient", "P-RET", rde("P-RET", "NW", "O-7", "1191", "aspirin"));
        alerts("cds.drug-interaction.high", "P-RET", 1);
        assertEquals(0, count("cds.drug-interaction.medium", "P-RET"), "the returned lisinopril is not active");
    }

    @Test
    void anAbnormalPotassiumWithoutFollowUpBecomesACareGapAndOneWithFollowUpDoesNot() throws Exception {
        kafka.publish("lab.results.abnormal", "P-GAP-OK", CdsRuleEngineTest.oru("P-GAP-OK", "2823-3", "H"));
        kafka.publish("lab.results.normal", "P-GAP-OK", CdsRuleEngineTest.oru("P-GAP-OK", "2823-3", "N"));
        kafka.publish("lab.results.abnormal", "P-GAP", CdsRuleEngineTest.oru("P-GAP", "2823-3", "H"));
        JsonNode gap = json(alerts("cds.care-gap.medium", "P-GAP", 1).get(0));
        assertEquals("potassium-follow-up", gap.path("ruleId").asText());
        assertEquals(0, count("cds.care-gap.medium", "P-GAP-OK"));
        String controlId = gap.path("alertId").asText().substring(4, 24);
        await().atMost(Duration.ofSeconds(30)).until(() -> ehr.attempts(controlId) == 1);
    }

    @Test
    void anActiveMedicationIsRememberedAcrossARestart() throws Exception {
        kafka.publish("pharmacy.orders.inpatient", "P-RST", rde("P-RST", "NW", "O-1", "11289", "warfarin"));
        env.topics().awaitRecords("cds.state", r -> "P-RST".equals(r.key()) && r.value() != null
                && new String(r.value(), StandardCharsets.UTF_8).contains("warfarin"), 1);
        env.stopRuntime();
        env.startRuntime();
        kafka.publish("pharmacy.orders.inpatient", "P-RST", rde("P-RST", "NW", "O-2", "1191", "aspirin"));
        assertEquals(1, alerts("cds.drug-interaction.high", "P-RST", 1).size());
    }

    @Test
    void anEventTheRulesCannotReadIsDeadLetteredWithItsReason() throws Exception {
        kafka.publish("lab.results.critical", "P-BAD", "this is not HL7");
        ConsumerRecord<String, byte[]> dead = env.topics().awaitRecords("cds.dlq", r -> "P-BAD".equals(r.key()), 1).get(0);
        assertEquals("cds-rules-engine", header(dead, "dlq_source"));
        assertTrue(header(dead, "dlq_reason").contains("MSH"), header(dead, "dlq_reason"));
        assertEquals("this is not HL7", new String(dead.value(), StandardCharsets.ISO_8859_1));
    }
}
