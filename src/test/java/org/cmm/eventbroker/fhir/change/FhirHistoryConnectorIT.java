package org.cmm.eventbroker.fhir.change;

import static org.awaitility.Awaitility.await;
import static org.cmm.eventbroker.testsupport.KafkaTopicReader.header;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import ca.uhn.fhir.rest.client.api.IGenericClient;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.cmm.eventbroker.fhir.FhirR4;
import org.cmm.eventbroker.stack.FhirServer;
import org.cmm.eventbroker.testsupport.FreePorts;
import org.cmm.eventbroker.testsupport.LogCapture;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.hl7.fhir.instance.model.api.IIdType;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Quantity;
import org.hl7.fhir.r4.model.Reference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Flow 1, the history connector: follows a real FHIR server's {@code _history} (the stack's HAPI server, paging by 2
 * entries so the connector must follow next links) and publishes every change exactly once, across a restart.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FhirHistoryConnectorIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String FAMILY = "ZEBEDEE-HISTORY";

    private static FhirServer fhirServer;
    private static IGenericClient fhir;
    private static RuntimeUnderTest env;
    private static LogCapture logs;
    /** ce_id -> topic of every change made on the server so far. */
    private static final Map<String, String> expected = new TreeMap<>();

    @BeforeAll
    static void start() throws Exception {
        logs = LogCapture.attach();
        fhirServer = new FhirServer("127.0.0.1", FreePorts.next()).withPaging(2).start();
        fhir = FhirR4.client(fhirServer.baseUrl(), 5000, 15000);
        env = RuntimeUnderTest.flows("fhir-history-connector").with(Map.of(
                "cmm.fhir.server.base-url", fhirServer.baseUrl(),
                "cmm.fhir.history.enabled", "true",
                "cmm.fhir.history.poll-interval-ms", "300",
                "cmm.fhir.history.initial-delay-ms", "0")).start();
    }

    @AfterAll
    static void stop() throws Exception {
        if (env != null) {
            env.close();
        }
        if (fhirServer != null) {
            fhirServer.close();
        }
        if (logs != null) {
            logs.close();
        }
    }

    private static Patient patient(String given) {
        Patient p = new Patient();
        p.addName().setFamily(FAMILY).addGiven(given);
        return p;
    }

    /** Creates a patient and an observation, updates both, deletes the observation; returns the patient id. */
    private static IIdType changeSomething(String given) {
        IIdType pid = fhir.create().resource(patient(given)).execute().getId().toUnqualifiedVersionless();
        expected.put(pid.getValue() + "/_history/1", "fhir.patient.created");
        Observation o = new Observation();
        o.setStatus(Observation.ObservationStatus.FINAL);
        o.getCode().addCoding().setSystem("http://loinc.org").setCode("8867-4");
        o.setSubject(new Reference(pid));
        o.setValue(new Quantity(70));
        IIdType oid = fhir.create().resource(o).execute().getId().toUnqualifiedVersionless();
        expected.put(oid.getValue() + "/_history/1", "fhir.observation.created");
        Patient p = fhir.read().resource(Patient.class).withId(pid).execute();
        p.getNameFirstRep().addGiven("UPDATED");
        fhir.update().resource(p).execute();
        expected.put(pid.getValue() + "/_history/2", "fhir.patient.updated");
        o.setId(oid);
        o.setValue(new Quantity(71));
        fhir.update().resource(o).execute();
        expected.put(oid.getValue() + "/_history/2", "fhir.observation.updated");
        fhir.delete().resourceById(oid).execute();
        expected.put(oid.getValue() + "/_history/3", "fhir.observation.deleted");
        return pid;
    }

    /** Waits until every expected change is on its topic and the aggregate, then checks each is there exactly once. */
    private static void assertEveryChangeExactlyOnce() {
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
            List<String> ids = env.topics().readAll("fhir.resource.changed").stream()
                    .map(r -> header(r, "ce_id") + " " + header(r, "ce_type")).toList();
            assertTrue(ids.containsAll(expected.entrySet().stream().map(e -> e.getKey() + " " + e.getValue()).toList()),
                    "expected " + expected + " on fhir.resource.changed, found " + ids);
        });
        List<ConsumerRecord<String, byte[]>> changed = env.topics().readAll("fhir.resource.changed");
        List<String> ids = new ArrayList<>(changed.stream().map(r -> header(r, "ce_id")).toList());
        assertEquals(expected.size(), ids.size(), "no change published twice: " + ids);
        for (Map.Entry<String, String> e : expected.entrySet()) {
            List<ConsumerRecord<String, byte[]>> onTopic = env.topics().readAll(e.getValue()).stream()
                    .filter(r -> e.getKey().equals(header(r, "ce_id"))).toList();
            assertEquals(1, onTopic.size(), e.getKey() + " once on " + e.getValue());
        }
    }

    @Test
    @Order(1)
    void createdUpdatedAndDeletedPatientAndObservationAreFollowedToTheirTopics() throws Exception {
        IIdType pid = changeSomething("FIRST");
        assertEveryChangeExactlyOnce();

        ConsumerRecord<String, byte[]> updated = env.topics().readAll("fhir.patient.updated").stream()
                .filter(r -> (pid.getValue() + "/_history/2").equals(header(r, "ce_id"))).findFirst().orElseThrow();
        assertEquals(pid.getValue(), updated.key());
        JsonNode value = JSON.readTree(updated.value());
        assertEquals("Patient", value.path("resourceType").asText());
        assertEquals(pid.getIdPart(), value.path("id").asText());
        assertEquals("2", value.path("meta").path("versionId").asText());
        assertEquals("UPDATED", value.path("name").get(0).path("given").get(1).asText());
        assertEquals(fhirServer.baseUrl(), header(updated, "ce_source"));
        assertEquals("fhir.patient.updated", header(updated, "ce_type"));
        assertEquals(pid.getValue(), header(updated, "ce_subject"));
        assertEquals("application/fhir+json", header(updated, "content-type"));
        assertEquals("Patient", header(updated, "fhir_resource_type"));
        assertEquals(pid.getIdPart(), header(updated, "fhir_resource_id"));
        assertEquals("2", header(updated, "fhir_version_id"));
        assertEquals("updated", header(updated, "fhir_operation"));
        assertNotNull(header(updated, "ce_time"));

        ConsumerRecord<String, byte[]> deleted = env.topics().readAll("fhir.observation.deleted").get(0);
        JsonNode deletedValue = JSON.readTree(deleted.value());
        assertEquals("Observation", deletedValue.path("resourceType").asText());
        assertEquals("3", deletedValue.path("meta").path("versionId").asText());
        assertEquals(3, deletedValue.size(), new String(deleted.value(), StandardCharsets.UTF_8));
        assertEquals("deleted", header(deleted, "fhir_operation"));

        // a version's records on the aggregate topic come in the order of the versions
        List<String> patientVersions = env.topics().readAll("fhir.resource.changed").stream()
                .filter(r -> pid.getValue().equals(r.key())).map(r -> header(r, "fhir_version_id")).toList();
        assertEquals(List.of("1", "2"), patientVersions);
    }

    @Test
    @Order(2)
    void afterARestartChangesMadeWhileDownArePublishedAndNothingTwice() throws Exception {
        env.stopRuntime();
        changeSomething("WHILE-DOWN");
        changeSomething("WHILE-DOWN-2");
        env.startRuntime();
        assertEveryChangeExactlyOnce();
        // and it goes on following
        changeSomething("AFTER-RESTART");
        assertEveryChangeExactlyOnce();
        await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(5)).until(() ->
                env.topics().readAll("fhir.resource.changed").size() == expected.size());
        assertTrue(env.topics().readAll("fhir.history.cursor").size() > 0, "the cursor is kept on Kafka");
    }

    @Test
    @Order(3)
    void aCursorThatLostItsLastPollsAfterACrashRepublishesNothing() throws Exception {
        env.stopRuntime();
        // as if the runtime had died after publishing but before saving its cursor: no cursor at all, the whole
        // history is read again from the start
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, env.bootstrapServers()), new StringSerializer(),
                new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>("fhir.history.cursor", fhirServer.baseUrl(), null)).get(10, TimeUnit.SECONDS);
        }
        changeSomething("AFTER-CRASH");
        env.startRuntime();
        assertEveryChangeExactlyOnce();
        await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(5)).until(() ->
                env.topics().readAll("fhir.resource.changed").size() == expected.size());
    }

    @Test
    @Order(4)
    void noPatientDataInTheLogs() {
        assertEquals(List.of(), logs.linesContaining(List.of(FAMILY, "WHILE-DOWN", "FIRST")));
    }
}
