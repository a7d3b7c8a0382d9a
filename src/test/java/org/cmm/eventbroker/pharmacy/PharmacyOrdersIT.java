package org.cmm.eventbroker.pharmacy;

import static org.awaitility.Awaitility.await;
import static org.cmm.eventbroker.testsupport.KafkaTopicReader.header;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;

import ca.uhn.hl7v2.preparser.PreParser;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.cmm.eventbroker.testsupport.FhirSamples;
import org.cmm.eventbroker.testsupport.FreePorts;
import org.cmm.eventbroker.testsupport.OrderMessages;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.cmm.eventbroker.testsupport.ScriptedHl7Peer;
import org.cmm.eventbroker.testsupport.ScriptedHl7Peer.Received;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Medication orders to a real pharmacy system (HAPI MLLP server), and FHIR orders mapped on the way to the LIS and the
 * pharmacy: what arrives is what the mapping documents say; what cannot be mapped is dead-lettered with the reason.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PharmacyOrdersIT {

    private RuntimeUnderTest env;
    private ScriptedHl7Peer pharmacy;
    private ScriptedHl7Peer lis;
    private OrderMessages orders;

    @BeforeAll
    void start() throws Exception {
        int pharmacyPort = FreePorts.next();
        int lisPort = FreePorts.next();
        pharmacy = new ScriptedHl7Peer(pharmacyPort).start();
        lis = new ScriptedHl7Peer(lisPort).start();
        env = RuntimeUnderTest.flows("pharmacy-orders-to-pharmacy", "lab-orders-to-lis").with(Map.of(
                "cmm.pharmacy.system.port", String.valueOf(pharmacyPort),
                "cmm.lab.lis.port", String.valueOf(lisPort),
                "cmm.delivery.initial-backoff-ms", "200")).start();
        orders = new OrderMessages(env.bootstrapServers());
    }

    @AfterAll
    void stop() throws Exception {
        orders.close();
        env.close();
        pharmacy.close();
        lis.close();
    }

    @Test
    void anHl7MedicationOrderReachesThePharmacyByteForByte() throws Exception {
        String rde = OrderMessages.pharmacyOrder("RX-HL7-1", "RX-P1");
        orders.publish("pharmacy.orders.inpatient", "RX-P1", rde);
        await().atMost(Duration.ofSeconds(30)).until(() -> pharmacy.attempts("RX-HL7-1") == 1);
        Received got = received(pharmacy, "RX-HL7-1");
        assertEquals("RDE^O11", got.messageType());
        assertEquals("RX-P1", got.patientId());
    }

    @Test
    void aFhirMedicationRequestArrivesAsRdeO11WithTheDocumentedFields() throws Exception {
        byte[] json = FhirSamples.load("medication-request-rxnorm.json");
        orders.publish("pharmacy.orders.outpatient", "MRN100042", json);
        await().atMost(Duration.ofSeconds(30)).until(() -> pharmacy.received().stream()
                .anyMatch(r -> "MRN100042".equals(r.patientId())));
        Received got = pharmacy.received().stream().filter(r -> "MRN100042".equals(r.patientId())).findFirst().orElseThrow();
        assertEquals("RDE^O11", got.messageType());
        String[] f = PreParser.getFields(got.er7(), "ORC-1", "ORC-2", "RXE-2-3", "MSH-5");
        assertEquals("NW", f[0]);
        assertEquals("RX-2024-0316-17", f[1]);
        assertEquals("RXNORM", f[2]);
        assertEquals("PHARMACY", f[3]);
        assertEquals(20, got.controlId().length(), "control id derived from the record's bytes");
    }

    @Test
    void aFhirServiceRequestArrivesAtTheLisAsOrmO01() throws Exception {
        orders.publish("lab.orders.chemistry", "MRN-SR", FhirSamples.load("service-request-chemistry.json"));
        await().atMost(Duration.ofSeconds(30)).until(() -> lis.received().stream()
                .anyMatch(r -> r.messageType().equals("ORM^O01")));
        Received got = lis.received().stream().filter(r -> r.messageType().equals("ORM^O01")).findFirst().orElseThrow();
        String[] f = PreParser.getFields(got.er7(), "ORC-1", "OBR-4-3", "MSH-5");
        assertEquals("NW", f[0]);
        assertEquals("LN", f[1]);
        assertEquals("LIS", f[2]);
    }

    @Test
    void fhirOrdersMissingTheirPatientAndUnknownOrderTypesAreDeadLetteredNotSent() throws Exception {
        byte[] noSubject = FhirSamples.changed("medication-request-rxnorm.json", r -> {
            r.remove("subject");
            r.put("id", "mr-no-subject");
        });
        orders.publish("pharmacy.orders.inpatient", "NO-SUBJ", noSubject);
        orders.publish("pharmacy.orders.weekend", "RX-P9", OrderMessages.pharmacyOrder("RX-WEEKEND", "RX-P9"));

        ConsumerRecord<String, byte[]> missing = env.topics().awaitRecords("delivery.dlq",
                r -> Arrays.equals(noSubject, r.value()), 1).get(0);
        assertTrue(header(missing, "dlq_reason").contains("subject"), header(missing, "dlq_reason"));
        assertEquals("pharmacy-orders-to-pharmacy", header(missing, "dlq_source"));
        ConsumerRecord<String, byte[]> unknown = env.topics().awaitRecords("delivery.dlq",
                r -> new String(r.value(), StandardCharsets.ISO_8859_1).contains("RX-WEEKEND"), 1).get(0);
        assertTrue(header(unknown, "dlq_reason").contains("unknown pharmacy order type 'weekend'"),
                header(unknown, "dlq_reason"));
        assertEquals(0, pharmacy.attempts("RX-WEEKEND"));
    }

    private static Received received(ScriptedHl7Peer peer, String controlId) {
        return peer.received().stream().filter(r -> r.controlId().equals(controlId)).findFirst().orElseThrow();
    }
}
