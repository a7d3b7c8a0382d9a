package org.cmm.eventbroker.fhir.change;

import static org.awaitility.Awaitility.await;
import static org.cmm.eventbroker.testsupport.KafkaTopicReader.header;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import ca.uhn.fhir.rest.client.api.IGenericClient;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.cmm.eventbroker.fhir.FhirR4;
import org.cmm.eventbroker.stack.FhirServer;
import org.cmm.eventbroker.testsupport.FreePorts;
import org.cmm.eventbroker.testsupport.LogCapture;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.instance.model.api.IIdType;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.IdType;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Reference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Flow 1, FHIR changes over HTTP ({@code POST /fhir/changes}): resources and Bundles as a real FHIR server (the stack's
 * HAPI server) returns them, sent by a plain java.net.http client as the server's rest-hook, against a real Kafka.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FhirChangeIntakeIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String FAMILY = "ZEBEDEE-INTAKE";

    private static FhirServer fhirServer;
    private static IGenericClient fhir;
    private static RuntimeUnderTest env;
    private static LogCapture logs;
    private static HttpClient http;

    @BeforeAll
    static void start() throws Exception {
        logs = LogCapture.attach();
        fhirServer = new FhirServer("127.0.0.1", FreePorts.next()).start();
        fhir = FhirR4.client(fhirServer.baseUrl(), 5000, 15000);
        env = RuntimeUnderTest.flows("fhir-change-intake").with(Map.of("cmm.fhir.server.base-url", fhirServer.baseUrl())).start();
        http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
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

    private static HttpResponse<String> post(String query, byte[] body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + env.httpPort() + "/fhir/changes" + query))
                .timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/fhir+json")
                .header("Authorization", "Bearer server-token")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static byte[] json(IBaseResource resource) {
        return FhirR4.context().newJsonParser().encodeResourceToString(resource).getBytes(StandardCharsets.UTF_8);
    }

    private static Patient patient(String given) {
        Patient p = new Patient();
        p.addName().setFamily(FAMILY).addGiven(given);
        p.setBirthDateElement(new org.hl7.fhir.r4.model.DateType("1961-02-03"));
        return p;
    }

    private static Observation observation(IIdType patient, String value) {
        Observation o = new Observation();
        o.setStatus(Observation.ObservationStatus.FINAL);
        o.getCode().addCoding().setSystem("http://loinc.org").setCode("8867-4");
        o.setSubject(new Reference(patient.toUnqualifiedVersionless()));
        o.setValue(new org.hl7.fhir.r4.model.Quantity(Double.parseDouble(value)));
        return o;
    }

    /** The record with ce_id {@code eventId} on {@code topic}, exactly one. */
    private static ConsumerRecord<String, byte[]> onlyRecord(String topic, String eventId) {
        List<ConsumerRecord<String, byte[]>> found = env.topics().awaitRecords(topic,
                r -> eventId.equals(header(r, "ce_id")), 1);
        assertEquals(1, found.size(), eventId + " once on " + topic);
        return found.get(0);
    }

    /** Both records of a change: per type and aggregate, the same key, value and headers. */
    private static ConsumerRecord<String, byte[]> assertPublished(String topic, String type, String id, String version,
            String operation, byte[] value) {
        String eventId = type + "/" + id + "/_history/" + version;
        ConsumerRecord<String, byte[]> perType = onlyRecord(topic, eventId);
        ConsumerRecord<String, byte[]> changed = onlyRecord("fhir.resource.changed", eventId);
        for (ConsumerRecord<String, byte[]> r : List.of(perType, changed)) {
            assertEquals(type + "/" + id, r.key());
            assertArrayEquals(value, r.value(), new String(r.value(), StandardCharsets.UTF_8));
            assertEquals("1.0", header(r, "ce_specversion"));
            assertEquals("cmm-event-broker/fhir-changes", header(r, "ce_source"));
            assertEquals(topic, header(r, "ce_type"));
            assertEquals(type + "/" + id, header(r, "ce_subject"));
            assertNotNull(header(r, "ce_time"));
            assertEquals("application/fhir+json", header(r, "content-type"));
            assertEquals(type, header(r, "fhir_resource_type"));
            assertEquals(id, header(r, "fhir_resource_id"));
            assertEquals(version, header(r, "fhir_version_id"));
            assertEquals(operation, header(r, "fhir_operation"));
            assertNull(header(r, "Authorization"), "no request header reaches Kafka");
        }
        return perType;
    }

    @Test
    @Order(1)
    void createdUpdatedAndDeletedPatientAndObservationRestHooksGoToTheirTopicsAndTheAggregate() throws Exception {
        IIdType patientId = fhir.create().resource(patient("ALBERTINE")).execute().getId();
        Patient created = fhir.read().resource(Patient.class).withId(patientId.toUnqualifiedVersionless()).execute();
        byte[] createdBody = json(created);
        HttpResponse<String> r = post("", createdBody);
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("fhir.patient.created", JSON.readTree(r.body()).path("events").get(0).path("topic").asText());
        String id = patientId.getIdPart();
        ConsumerRecord<String, byte[]> rec = assertPublished("fhir.patient.created", "Patient", id, "1", "created", createdBody);
        assertNotNull(created.getMeta().getLastUpdated(), "the server sets meta.lastUpdated");
        assertEquals(created.getMeta().getLastUpdatedElement().getValueAsString(), header(rec, "ce_time"));

        created.getNameFirstRep().addGiven("MARIE");
        fhir.update().resource(created).execute();
        Patient updated = fhir.read().resource(Patient.class).withId(patientId.toUnqualifiedVersionless()).execute();
        byte[] updatedBody = json(updated);
        assertEquals(200, post("", updatedBody).statusCode());
        assertPublished("fhir.patient.updated", "Patient", id, "2", "updated", updatedBody);

        IIdType obsId = fhir.create().resource(observation(patientId, "72")).execute().getId();
        Observation obs = fhir.read().resource(Observation.class).withId(obsId.toUnqualifiedVersionless()).execute();
        assertEquals(200, post("", json(obs)).statusCode());
        assertPublished("fhir.observation.created", "Observation", obsId.getIdPart(), "1", "created", json(obs));
        // the operation named explicitly, as a rest-hook sender may
        obs.setValue(new org.hl7.fhir.r4.model.Quantity(75));
        fhir.update().resource(obs).execute();
        Observation obs2 = fhir.read().resource(Observation.class).withId(obsId.toUnqualifiedVersionless()).execute();
        assertEquals(200, post("?operation=update", json(obs2)).statusCode());
        assertPublished("fhir.observation.updated", "Observation", obsId.getIdPart(), "2", "updated", json(obs2));

        // deletes: value is type, id and version only
        String deleteBody = "{\"resourceType\":\"Observation\",\"id\":\"" + obsId.getIdPart() + "\",\"meta\":{\"versionId\":\"3\"}}";
        assertEquals(200, post("?operation=delete", deleteBody.getBytes(StandardCharsets.UTF_8)).statusCode());
        assertPublished("fhir.observation.deleted", "Observation", obsId.getIdPart(), "3", "deleted",
                deleteBody.getBytes(StandardCharsets.UTF_8));
        assertEquals(200, post("?operation=delete", json(updated.setMeta(updated.getMeta().setVersionId("3")))).statusCode());
        assertPublished("fhir.patient.deleted", "Patient", id, "3", "deleted",
                ("{\"resourceType\":\"Patient\",\"id\":\"" + id + "\",\"meta\":{\"versionId\":\"3\"}}").getBytes(StandardCharsets.UTF_8));
    }

    @Test
    @Order(2)
    void aTransactionBundleBecomesOneRecordPerWritingEntry() throws Exception {
        Bundle tx = new Bundle().setType(Bundle.BundleType.TRANSACTION);
        Patient p = patient("TXPATIENT");
        p.setId("tx-patient-1");
        p.getMeta().setVersionId("1");
        tx.addEntry().setFullUrl("Patient/tx-patient-1").setResource(p).getRequest()
                .setMethod(Bundle.HTTPVerb.PUT).setUrl("Patient/tx-patient-1");
        Observation o = observation(new IdType("Patient/tx-patient-1"), "80");
        o.setId("tx-obs-1");
        o.getMeta().setVersionId("4");
        tx.addEntry().setResource(o).getRequest().setMethod(Bundle.HTTPVerb.PUT).setUrl("Observation/tx-obs-1");
        tx.addEntry().getRequest().setMethod(Bundle.HTTPVerb.DELETE).setUrl("MedicationRequest/tx-mr-1");
        tx.addEntry().getRequest().setMethod(Bundle.HTTPVerb.GET).setUrl("Patient/tx-patient-1");

        HttpResponse<String> r = post("", json(tx));
        assertEquals(200, r.statusCode(), r.body());
        assertEquals(3, JSON.readTree(r.body()).path("events").size(), r.body());

        ConsumerRecord<String, byte[]> pr = onlyRecord("fhir.patient.created", "Patient/tx-patient-1/_history/1");
        assertEquals("Patient/tx-patient-1", pr.key());
        JsonNode pv = JSON.readTree(pr.value());
        assertEquals("Patient", pv.path("resourceType").asText());
        assertEquals("tx-patient-1", pv.path("id").asText());
        assertEquals(FAMILY, pv.path("name").get(0).path("family").asText());
        ConsumerRecord<String, byte[]> or = onlyRecord("fhir.observation.updated", "Observation/tx-obs-1/_history/4");
        assertEquals("Observation/tx-obs-1", or.key());
        // a delete without version: a random event id, value type and id only
        ConsumerRecord<String, byte[]> mr = env.topics().awaitRecords("fhir.medicationrequest.deleted",
                rec -> "MedicationRequest/tx-mr-1".equals(rec.key()), 1).get(0);
        assertEquals("{\"resourceType\":\"MedicationRequest\",\"id\":\"tx-mr-1\"}", new String(mr.value(), StandardCharsets.UTF_8));
        assertNull(header(mr, "fhir_version_id"));
        assertEquals("deleted", header(mr, "fhir_operation"));
        env.topics().awaitRecords("fhir.resource.changed", rec -> "MedicationRequest/tx-mr-1".equals(rec.key()), 1);
    }

    @Test
    @Order(3)
    void aHistoryBundleOfTheServerTellsCreateUpdateAndDeleteApart() throws Exception {
        IIdType id = fhir.create().resource(patient("HISTORY")).execute().getId().toUnqualifiedVersionless();
        Patient v1 = fhir.read().resource(Patient.class).withId(id).execute();
        v1.getNameFirstRep().addGiven("SECOND");
        fhir.update().resource(v1).execute();
        fhir.delete().resourceById(id).execute();
        Bundle history = fhir.history().onInstance(id).returnBundle(Bundle.class).execute();

        HttpResponse<String> r = post("", json(history));
        assertEquals(200, r.statusCode(), r.body());
        onlyRecord("fhir.patient.created", id.getValue() + "/_history/1");
        onlyRecord("fhir.patient.updated", id.getValue() + "/_history/2");
        ConsumerRecord<String, byte[]> deleted = onlyRecord("fhir.patient.deleted", id.getValue() + "/_history/3");
        assertEquals("{\"resourceType\":\"Patient\",\"id\":\"" + id.getIdPart() + "\",\"meta\":{\"versionId\":\"3\"}}",
                new String(deleted.value(), StandardCharsets.UTF_8));
    }

    @Test
    @Order(4)
    void aResentVersionIsAnsweredButNotPublishedAgain() throws Exception {
        IIdType id = fhir.create().resource(patient("RESENT")).execute().getId().toUnqualifiedVersionless();
        byte[] body = json(fhir.read().resource(Patient.class).withId(id).execute());
        assertEquals(200, post("", body).statusCode());
        onlyRecord("fhir.patient.created", id.getValue() + "/_history/1");
        assertEquals(200, post("", body).statusCode());
        assertEquals(200, post("", body).statusCode());
        // a later change is published, and by then the resends would be there too
        IIdType other = fhir.create().resource(patient("AFTER-RESENT")).execute().getId().toUnqualifiedVersionless();
        assertEquals(200, post("", json(fhir.read().resource(Patient.class).withId(other).execute())).statusCode());
        onlyRecord("fhir.resource.changed", other.getValue() + "/_history/1");
        onlyRecord("fhir.patient.created", id.getValue() + "/_history/1");
        onlyRecord("fhir.resource.changed", id.getValue() + "/_history/1");
    }

    private static void assertRejected(byte[] body, String reasonPart) throws Exception {
        HttpResponse<String> r = post("", body);
        assertEquals(400, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").contains("fhir+json"), r.headers().toString());
        JsonNode outcome = JSON.readTree(r.body());
        assertEquals("OperationOutcome", outcome.path("resourceType").asText(), r.body());
        assertEquals("error", outcome.path("issue").get(0).path("severity").asText());
        String reason = outcome.path("issue").get(0).path("diagnostics").asText();
        assertTrue(reason.contains(reasonPart), reason);
        List<ConsumerRecord<String, byte[]>> dead = env.topics().awaitRecords("fhir.dlq",
                rec -> java.util.Arrays.equals(body, rec.value()), 1);
        assertEquals(1, dead.size());
        assertEquals(reason, header(dead.get(0), "dlq_reason"));
        assertEquals("fhir-change-intake", header(dead.get(0), "dlq_source"));
        assertNotNull(header(dead.get(0), "dlq_time"));
    }

    @Test
    @Order(5)
    void malformedJsonUnknownResourceTypesAndEntriesWithoutIdAreAnsweredWithAnOperationOutcomeAndDeadLettered()
            throws Exception {
        assertRejected("{\"resourceType\":\"Patient\",\"id\":\"m1\",\"name\":[{\"family\":\"ZEBEDEE-INTAKE\"".getBytes(StandardCharsets.UTF_8),
                "malformed JSON");
        assertRejected("{\"resourceType\":\"Pationt\",\"id\":\"u1\",\"name\":[{\"family\":\"ZEBEDEE-INTAKE\"}]}".getBytes(StandardCharsets.UTF_8),
                "not a FHIR R4 resource type");
        Bundle tx = new Bundle().setType(Bundle.BundleType.TRANSACTION);
        tx.addEntry().setFullUrl("urn:uuid:0b7b3a9e-1111-4c1e-9c3c-1a2b3c4d5e6f").setResource(patient("NOID"))
                .getRequest().setMethod(Bundle.HTTPVerb.POST).setUrl("Patient");
        assertRejected(json(tx), "has no id");
        // nothing of them was published
        assertTrue(env.topics().readAll("fhir.resource.changed").stream()
                .noneMatch(rec -> rec.key().equals("Patient/m1") || rec.key().equals("Pationt/u1")));
    }

    @Test
    @Order(6)
    void whenKafkaIsDownChangesAreAnswered503AndOnceItIsBackTheResendIsPublishedOnce() throws Exception {
        IIdType id = fhir.create().resource(patient("OUTAGE")).execute().getId().toUnqualifiedVersionless();
        byte[] body = json(fhir.read().resource(Patient.class).withId(id).execute());
        env.broker().stop();
        try {
            long t0 = System.nanoTime();
            HttpResponse<String> r = post("", body);
            assertEquals(503, r.statusCode(), r.body());
            assertTrue((System.nanoTime() - t0) / 1_000_000 < 15_000, "503 in bounded time");
            assertTrue(r.headers().firstValue("Retry-After").isPresent());
            assertEquals("OperationOutcome", JSON.readTree(r.body()).path("resourceType").asText());
        } finally {
            env.broker().start();
        }
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500)).until(() -> {
            HttpResponse<String> r = post("", body);
            assertTrue(r.statusCode() == 200 || r.statusCode() == 503, r.statusCode() + " " + r.body());
            return r.statusCode() == 200;
        });
        onlyRecord("fhir.patient.created", id.getValue() + "/_history/1");
        onlyRecord("fhir.resource.changed", id.getValue() + "/_history/1");
    }

    @Test
    @Order(7)
    void noPatientDataInTheLogs() {
        assertEquals(List.of(), logs.linesContaining(List.of(FAMILY, "ALBERTINE", "1961-02-03", "server-token")));
    }
}
