package org.cmm.eventbroker.lab;

import static org.awaitility.Awaitility.await;
import static org.cmm.eventbroker.testsupport.KafkaTopicReader.controlId;
import static org.cmm.eventbroker.testsupport.KafkaTopicReader.header;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.cmm.eventbroker.testsupport.FreePorts;
import org.cmm.eventbroker.testsupport.HapiSender;
import org.cmm.eventbroker.testsupport.Hl7Samples;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.cmm.eventbroker.testsupport.ScriptedHl7Peer;
import org.cmm.eventbroker.testsupport.ScriptedHl7Peer.Answer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Results from a real LIS and dispense messages from a real pharmacy system (HAPI MLLP clients) reach their topics by
 * class, acknowledged only once on Kafka, and are delivered on to a real EHR (HAPI MLLP server) unchanged.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ResultsAndDispensingToEhrIT {

    private RuntimeUnderTest env;
    private ScriptedHl7Peer ehr;

    @BeforeAll
    void start() throws Exception {
        int ehrPort = FreePorts.next();
        ehr = new ScriptedHl7Peer(ehrPort).start();
        env = RuntimeUnderTest.flows("lab-results-mllp-inbound", "lab-results-to-ehr", "pharmacy-dispensing-mllp-inbound", "pharmacy-dispensing-to-ehr").with(Map.of(
                "cmm.ehr.mllp.port", String.valueOf(ehrPort),
                "cmm.delivery.initial-backoff-ms", "200",
                "cmm.delivery.max-backoff-ms", "1000")).start();
    }

    @AfterAll
    void stop() throws Exception {
        env.close();
        ehr.close();
    }

    @Test
    void eachResultGoesToTheTopicOfItsMostSevereObservationAndOnToTheEhr() throws Exception {
        Map<String, String> expected = Map.of(
                "oru-r01-normal.hl7", "normal",
                "oru-r01-abnormal.hl7", "abnormal",
                "oru-r01-critical-repeated-flags.hl7", "critical",
                "oru-r01-deleted-critical.hl7", "abnormal",
                "oru-r01.hl7", "critical");
        try (HapiSender lis = new HapiSender(env.labResultsPort())) {
            for (Map.Entry<String, String> e : expected.entrySet()) {
                String id = "RES-" + e.getKey().replace(".hl7", "");
                assertEquals("AA", lis.send(lis.parse(Hl7Samples.load(e.getKey(), id))), e.getKey());
                List<ConsumerRecord<String, byte[]>> onTopic =
                        env.topics().awaitRecords("lab.results." + e.getValue(), controlId(id), 1);
                assertEquals(1, onTopic.size(), e.getKey());
                assertEquals("lab.results." + e.getValue(), header(onTopic.get(0), "ce_type"));
                await().atMost(Duration.ofSeconds(30)).until(() -> ehr.attempts(id) == 1);
                String delivered = ehr.received().stream().filter(r -> r.controlId().equals(id)).findFirst().orElseThrow().er7();
                assertTrue(delivered.contains("ORU^R01"), "the EHR got the result message");
            }
        }
    }

    @Test
    void dispenseMessagesAreFiledAsNewRefillOrReturnAndDeliveredToTheEhr() throws Exception {
        Map<String, String> expected = Map.of(
                "rds-o13-new.hl7", "new",
                "rds-o13-refill.hl7", "refill",
                "rds-o13-return.hl7", "return");
        try (HapiSender pharmacy = new HapiSender(env.dispensingPort())) {
            for (Map.Entry<String, String> e : expected.entrySet()) {
                String id = "DSP-" + e.getValue();
                assertEquals("AA", pharmacy.send(pharmacy.parse(Hl7Samples.load(e.getKey(), id))), e.getKey());
                env.topics().awaitRecords("pharmacy.dispensing." + e.getValue(), controlId(id), 1);
                await().atMost(Duration.ofSeconds(30)).until(() -> ehr.attempts(id) == 1);
            }
        }
    }

    @Test
    void aMessageThatIsNotAResultIsRejectedAndDeadLettered() throws Exception {
        try (HapiSender lis = new HapiSender(env.labResultsPort())) {
            String id = "RES-NOT-ORU";
            assertEquals("AR", lis.send(lis.parse(Hl7Samples.load("adt-a01.hl7", id))));
            ConsumerRecord<String, byte[]> dead = env.topics().awaitRecords("hl7.dlq", controlId(id), 1).get(0);
            assertEquals("lab-results-mllp-inbound", header(dead, "dlq_source"));
            assertTrue(header(dead, "dlq_reason").contains("ORU^R01"), header(dead, "dlq_reason"));
        }
    }

    @Test
    void aResultTheEhrAnswersAeIsRetriedUntilAccepted() throws Exception {
        String id = "RES-RETRY";
        ehr.script(r -> r.controlId().equals(id) && ehr.attempts(id) <= 2 ? Answer.AE : Answer.AA);
        try (HapiSender lis = new HapiSender(env.labResultsPort())) {
            assertEquals("AA", lis.send(lis.parse(Hl7Samples.load("oru-r01-normal.hl7", id))));
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> ehr.attempts(id) == 3);
        ehr.script(r -> Answer.AA);
    }
}
