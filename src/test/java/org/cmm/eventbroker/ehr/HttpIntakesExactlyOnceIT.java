package org.cmm.eventbroker.ehr;

import static org.cmm.eventbroker.testsupport.KafkaTopicReader.header;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.cmm.eventbroker.fhir.change.FhirChange;
import org.cmm.eventbroker.fhir.change.FhirChangeIntake;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Exactly once across crashes for the HTTP intakes that promise it (issue 17 item 1): the EHR webhooks and the FHIR
 * change events. As {@code Hl7ExactlyOnceIT} does for HL7, the state a SIGKILL leaves between Kafka's acknowledgement
 * of a publish and the batch that persists its de-duplication key (the record is on its topic, its key is not on the
 * de-duplication topic) is built directly; the runtime starts; the sender resends, as it does when it got no 2xx.
 * The resend is answered 2xx with the same event id and is not published again. Fails without the key rebuild at
 * start ({@code HeaderRecordKeys}): two copies.
 */
class HttpIntakesExactlyOnceIT {

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private static RuntimeUnderTest env;

    @BeforeAll
    static void start() throws Exception {
        env = RuntimeUnderTest.flows("ehr-api-events", "fhir-change-intake").start();
    }

    @AfterAll
    static void stop() throws Exception {
        if (env != null) {
            env.close();
        }
    }

    private static HttpResponse<String> post(String path, String contentType, String body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + env.httpPort() + path))
                .timeout(Duration.ofSeconds(30)).header("Content-Type", contentType)
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Publishes the record as the crashed runtime did: the value and the ce_id header, nothing on the dedup topic. */
    private static void publishedBeforeTheCrash(String topic, String eventId, byte[] value) throws Exception {
        try (KafkaProducer<String, byte[]> producer = KafkaClients.forBootstrap(env.bootstrapServers())
                .producer("crashed-runtime", Map.of())) {
            ProducerRecord<String, byte[]> record = new ProducerRecord<>(topic, "k", value);
            record.headers().add("ce_id", eventId.getBytes(StandardCharsets.UTF_8));
            producer.send(record).get();
        }
    }

    @Test
    void aResentEhrWebhookAndFhirChangePublishedJustBeforeACrashAreAnswered2xxAndNotPublishedAgain() throws Exception {
        String patient = "EO" + System.nanoTime();
        String ehrBody = "{\"id\":\"" + patient + "\",\"name\":\"x\"}";
        String fhirBody = "{\"resourceType\":\"Patient\",\"id\":\"" + patient + "\",\"meta\":{\"versionId\":\"2\"}}";
        DefaultCamelContext context = new DefaultCamelContext();

        // the ids the intakes give these requests
        Exchange ehr = new DefaultExchange(context);
        ehr.getMessage().setHeader(Exchange.HTTP_PATH, "/ehr/epic/Patient/updated");
        ehr.getMessage().setHeader(Exchange.CONTENT_TYPE, "application/json");
        ehr.getMessage().setBody(ehrBody.getBytes(StandardCharsets.UTF_8));
        new EhrWebhookInspector().process(ehr);
        String ehrEventId = ehr.getMessage().getHeader("ce_id", String.class);
        Exchange fhir = new DefaultExchange(context);
        fhir.getMessage().setBody(fhirBody.getBytes(StandardCharsets.UTF_8));
        FhirChangeIntake intake = new FhirChangeIntake();
        intake.setMaxBodyBytes(1 << 20);
        intake.process(fhir);
        @SuppressWarnings("unchecked")
        FhirChange change = ((List<FhirChange>) fhir.getProperty(FhirChangeIntake.CHANGES, List.class)).get(0);
        String fhirTopic = change.topic("fhir");

        // the runtime published both, then died before their keys' batch was written
        env.stopRuntime();
        publishedBeforeTheCrash("ehr.epic.patient.updated", ehrEventId, ehrBody.getBytes(StandardCharsets.UTF_8));
        publishedBeforeTheCrash(fhirTopic, change.eventId(), fhirBody.getBytes(StandardCharsets.UTF_8));
        env.startRuntime();

        // the senders got no 2xx and resend
        HttpResponse<String> ehrResend = post("/ehr/epic/Patient/updated", "application/json", ehrBody);
        assertEquals(202, ehrResend.statusCode(), ehrResend.body());
        assertTrue(ehrResend.body().contains(ehrEventId), ehrResend.body());
        HttpResponse<String> fhirResend = post("/fhir/changes", "application/fhir+json", fhirBody);
        assertEquals(200, fhirResend.statusCode(), fhirResend.body());

        // markers published after them: once they are there, the resends would be too
        String marker = patient + "-M";
        assertEquals(202, post("/ehr/epic/Patient/updated", "application/json",
                "{\"id\":\"" + marker + "\",\"name\":\"x\"}").statusCode());
        assertEquals(200, post("/fhir/changes", "application/fhir+json",
                "{\"resourceType\":\"Patient\",\"id\":\"" + marker + "\",\"meta\":{\"versionId\":\"2\"}}").statusCode());
        env.topics().awaitRecords("ehr.epic.patient.updated", r -> new String(r.value(), StandardCharsets.UTF_8)
                .contains(marker), 1);
        env.topics().awaitRecords(fhirTopic, r -> new String(r.value(), StandardCharsets.UTF_8).contains(marker), 1);

        assertEquals(1, env.topics().readAll("ehr.epic.patient.updated").stream()
                .filter(r -> ehrEventId.equals(header(r, "ce_id"))).count(), "the EHR event is on Kafka once");
        assertEquals(1, env.topics().readAll(fhirTopic).stream()
                .filter(r -> change.eventId().equals(header(r, "ce_id"))).count(), "the FHIR change is on Kafka once");
    }
}
