package org.cmm.eventbroker.lab;

import static org.awaitility.Awaitility.await;
import static org.cmm.eventbroker.testsupport.KafkaTopicReader.header;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.cmm.eventbroker.testsupport.FreePorts;
import org.cmm.eventbroker.testsupport.MllpLinkFaults;
import org.cmm.eventbroker.testsupport.MllpLinkFaults.Fault;
import org.cmm.eventbroker.testsupport.OrderMessages;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.cmm.eventbroker.testsupport.ScriptedHl7Peer;
import org.cmm.eventbroker.testsupport.ScriptedHl7Peer.Answer;
import org.cmm.eventbroker.testsupport.ScriptedHl7Peer.Received;
import org.cmm.eventbroker.tools.RepublishDeadLetters;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Lab orders from Kafka to a real LIS (HAPI's MLLP server behind a link that can lose, garble or drop replies):
 * delivered once and in order per patient, AE and broken links retried, AR and bad records dead-lettered with the
 * reason and replayable.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LabOrdersToLisIT {

    private static final String TOPIC = "lab.orders.chemistry";
    private static final String DLQ = "delivery.dlq";

    private RuntimeUnderTest env;
    private ScriptedHl7Peer lis;
    private MllpLinkFaults link;
    private OrderMessages orders;

    @BeforeAll
    void start() throws Exception {
        int linkPort = FreePorts.next();
        lis = new ScriptedHl7Peer(FreePorts.next()).start();
        link = new MllpLinkFaults(linkPort, lis.port());
        env = RuntimeUnderTest.flows("lab-orders-to-lis").with(Map.of(
                "cmm.lab.lis.port", String.valueOf(linkPort),
                "cmm.delivery.initial-backoff-ms", "200",
                "cmm.delivery.max-backoff-ms", "1000",
                "cmm.delivery.ack-timeout-ms", "1500")).start();
        orders = new OrderMessages(env.bootstrapServers());
    }

    @AfterAll
    void stop() throws Exception {
        orders.close();
        env.close();
        link.close();
        lis.close();
    }

    @BeforeEach
    void acceptEverything() {
        lis.script(r -> Answer.AA);
    }

    @Test
    void ordersReachTheLisOnceEachAndInOrderPerPatient() throws Exception {
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            for (String patient : List.of("ORD-P1", "ORD-P2", "ORD-P3")) {
                String id = "ORD-" + patient.substring(4) + "-" + i;
                orders.publish(TOPIC, patient, OrderMessages.labOrder(id, patient));
                expected.add(id);
            }
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> arrivals("ORD-").size() == 30);
        for (String id : expected) {
            assertEquals(1, lis.attempts(id), id + " delivered more than once");
        }
        for (String patient : List.of("P1", "P2", "P3")) {
            List<String> forPatient = arrivals("ORD-" + patient + "-");
            assertEquals(expected.stream().filter(id -> id.startsWith("ORD-" + patient + "-")).toList(), forPatient,
                    "order of patient " + patient);
        }
    }

    @Test
    void aeIsRetriedUntilAcceptedWhileThatPatientsLaterOrdersWaitAndOthersFlow() throws Exception {
        lis.answerText("LIS busy");
        lis.script(r -> r.controlId().equals("AE-A-1") && lis.attempts("AE-A-1") <= 3 ? Answer.AE : Answer.AA);
        orders.publish(TOPIC, "AE-PA", OrderMessages.labOrder("AE-A-1", "AE-PA"));
        orders.publish(TOPIC, "AE-PA", OrderMessages.labOrder("AE-A-2", "AE-PA"));
        for (int i = 1; i <= 3; i++) {
            orders.publish(TOPIC, "AE-PB", OrderMessages.labOrder("AE-B-" + i, "AE-PB"));
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> lis.attempts("AE-A-2") == 1);
        assertEquals(4, lis.attempts("AE-A-1"), "three AE answers, then accepted");
        List<String> all = lis.received().stream().map(Received::controlId).filter(id -> id.startsWith("AE-")).toList();
        int lastTryOfFirst = all.lastIndexOf("AE-A-1");
        assertTrue(all.indexOf("AE-A-2") > lastTryOfFirst, "the patient's second order waited for the first: " + all);
        assertTrue(all.indexOf("AE-B-3") < lastTryOfFirst, "another patient's orders went on meanwhile: " + all);
        assertEquals(List.of(), deadLetters("AE-"), "nothing dead-lettered");
    }

    @Test
    void arIsDeadLetteredWithThePeersReasonNotRetriedAndCanBeRepublished() throws Exception {
        lis.answerText("Unknown test code");
        lis.script(r -> r.controlId().equals("AR-1") && lis.attempts("AR-1") == 1 ? Answer.AR : Answer.AA);
        String rejected = OrderMessages.labOrder("AR-1", "AR-P");
        orders.publish(TOPIC, "AR-P", rejected);
        orders.publish(TOPIC, "AR-P", OrderMessages.labOrder("AR-2", "AR-P"));

        await().atMost(Duration.ofSeconds(30)).until(() -> lis.attempts("AR-2") == 1);
        List<ConsumerRecord<String, byte[]>> dead = env.topics().awaitRecords(DLQ,
                r -> new String(r.value(), StandardCharsets.ISO_8859_1).contains("|AR-1|"), 1);
        ConsumerRecord<String, byte[]> letter = dead.get(0);
        assertEquals(1, lis.attempts("AR-1"), "AR is not retried");
        assertArrayEquals(rejected.getBytes(StandardCharsets.ISO_8859_1), letter.value(), "dead letter is the record, untouched");
        assertEquals("AR-P", letter.key());
        assertTrue(header(letter, "dlq_reason").startsWith("peer answered AR"), header(letter, "dlq_reason"));
        assertTrue(header(letter, "dlq_reason").contains("Unknown test code"), header(letter, "dlq_reason"));
        assertEquals(TOPIC, header(letter, "dlq_original_topic"));
        assertEquals("lab-orders-to-lis", header(letter, "dlq_source"));

        // the LIS was fixed: one command puts the order back on its topic and it is delivered
        List<RepublishDeadLetters.Outcome> outcomes = RepublishDeadLetters.republish(
                KafkaClients.forBootstrap(env.bootstrapServers()), DLQ, 0,
                TOPIC, "Unknown test code");
        assertEquals(1, outcomes.size(), outcomes.toString());
        assertEquals(TOPIC, outcomes.get(0).target());
        await().atMost(Duration.ofSeconds(30)).until(() -> lis.attempts("AR-1") == 2);
    }

    @Test
    void lostRepliesGarbageAckOfAnotherMessageAndDroppedConnectionsAreRetried() throws Exception {
        link.inject(Fault.SWALLOW, Fault.GARBAGE, Fault.DROP);
        lis.script(r -> r.controlId().equals("LINK-1") && lis.attempts("LINK-1") == 4 ? Answer.WRONG_CONTROL_ID : Answer.AA);
        orders.publish(TOPIC, "LINK-P", OrderMessages.labOrder("LINK-1", "LINK-P"));
        orders.publish(TOPIC, "LINK-P", OrderMessages.labOrder("LINK-2", "LINK-P"));

        await().atMost(Duration.ofSeconds(40)).until(() -> lis.attempts("LINK-2") == 1);
        assertTrue(link.allFaultsUsed());
        assertEquals(5, lis.attempts("LINK-1"), "lost, garbage, dropped, wrong MSA-2, then accepted");
        assertEquals(List.of("LINK-1", "LINK-2"), arrivals("LINK-"));
        assertEquals(List.of(), deadLetters("LINK-"));
    }

    @Test
    void unknownOrderTypesAndRecordsThatAreNoOrderAreDeadLetteredWithTheReason() throws Exception {
        orders.publish("lab.orders.astrology", "BAD-P", OrderMessages.labOrder("BAD-1", "BAD-P"));
        orders.publish(TOPIC, "BAD-P", "this is not an order");
        orders.publish(TOPIC, "BAD-P", OrderMessages.labOrder("BAD-2", "BAD-P"));

        ConsumerRecord<String, byte[]> unknownType = env.topics().awaitRecords(DLQ,
                r -> "lab.orders.astrology".equals(header(r, "dlq_original_topic")), 1).get(0);
        assertTrue(header(unknownType, "dlq_reason").contains("unknown lab order type 'astrology'"),
                header(unknownType, "dlq_reason"));
        ConsumerRecord<String, byte[]> notAnOrder = env.topics().awaitRecords(DLQ,
                r -> "this is not an order".equals(new String(r.value(), StandardCharsets.ISO_8859_1)), 1).get(0);
        assertTrue(!header(notAnOrder, "dlq_reason").isBlank());
        await().atMost(Duration.ofSeconds(30)).until(() -> lis.attempts("BAD-2") == 1);
        assertEquals(0, lis.attempts("BAD-1"), "an order of an unknown type is not sent");
    }

    private List<String> arrivals(String prefix) {
        return lis.firstArrivals().stream().filter(id -> id.startsWith(prefix)).toList();
    }

    private List<String> deadLetters(String prefix) {
        return env.topics().readAll(DLQ).stream()
                .filter(r -> new String(r.value(), StandardCharsets.ISO_8859_1).contains("|" + prefix))
                .map(r -> header(r, "dlq_reason")).toList();
    }
}
