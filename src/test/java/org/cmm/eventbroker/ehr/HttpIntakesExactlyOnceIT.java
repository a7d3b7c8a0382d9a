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
import java.time.Instant;
import java.util.List;
import java.util.Map;

import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.cmm.eventbroker.device.DeviceReadingInspector;
import org.cmm.eventbroker.fhir.change.FhirChange;
import org.cmm.eventbroker.fhir.change.FhirChangeIntake;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.cmm.eventbroker.workflow.WorkflowCallbackInspector;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Exactly once across crashes for the HTTP intakes: the EHR webhooks and the FHIR change events (issue 17 item 1),
 * the device readings over HTTP and the workflow engine's state callbacks. As {@code Hl7ExactlyOnceIT} does for HL7, the state a SIGKILL leaves between Kafka's acknowledgement
 * of a publish and the batch that persists its de-duplication key (the record is on its topic, its key is not on the
 * de-duplication topic) is built directly; the runtime starts; the sender resends, as it does when it got no 2xx.
 * The resend is answered 2xx with the same event id and is not published again. Fails without the key rebuild at
 * start ({@code HeaderRecordKeys}): two copies. The device and workflow intakes are also checked while running (a
 * resend is not published again) and for the opposite mistake (two different readings or callbacks are both
 * published). One runtime for all, restarted once.
 */
class HttpIntakesExactlyOnceIT {

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private static RuntimeUnderTest env;

    @BeforeAll
    static void start() throws Exception {
        env = RuntimeUnderTest.flows("ehr-api-events", "fhir-change-intake", "device-http-ingest",
                "workflow-state-callbacks").start();
    }

    @AfterAll
    static void stop() throws Exception {
        if (env != null) {
            env.close();
        }
    }

    private static HttpResponse<String> post(String path, String contentType, String body, String... headers)
            throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + env.httpPort() + path))
                .timeout(Duration.ofSeconds(30)).header("Content-Type", contentType)
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (headers.length > 0) {
            request.headers(headers);
        }
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    /**
     * Publishes the record as the crashed runtime did: the value, the ce_id header and the others given (name, value),
     * nothing on the dedup topic.
     */
    private static void publishedBeforeTheCrash(String topic, String eventId, byte[] value, String... headers)
            throws Exception {
        try (KafkaProducer<String, byte[]> producer = KafkaClients.forBootstrap(env.bootstrapServers())
                .producer("crashed-runtime", Map.of())) {
            ProducerRecord<String, byte[]> record = new ProducerRecord<>(topic, "k", value);
            record.headers().add("ce_id", eventId.getBytes(StandardCharsets.UTF_8));
            for (int i = 0; i < headers.length; i += 2) {
                record.headers().add(headers[i], headers[i + 1].getBytes(StandardCharsets.UTF_8));
            }
            producer.send(record).get();
        }
    }

    /** The event id an answer names. */
    private static String eventId(HttpResponse<String> answer) {
        return answer.body().replaceAll(".*\"eventId\":\"([^\"]+)\".*", "$1");
    }

    /** How many records of the topic carry this event id (ce_id). */
    private static long onKafka(String topic, String eventId) {
        return env.topics().readAll(topic).stream().filter(r -> eventId.equals(header(r, "ce_id"))).count();
    }

    private static String reading(Instant at, int flow) {
        return "{\"timestamp\":\"" + at + "\",\"readings\":[{\"code\":\"MDC_FLOW_FLUID_PUMP\",\"value\":" + flow
                + ",\"unit\":\"mL/h\"}]}";
    }

    private static String stateCallback(String instanceId, String state) {
        return "{\"instanceId\":\"" + instanceId + "\",\"businessKey\":\"" + instanceId + "-BK\",\"state\":\"" + state
                + "\"}";
    }

    @Test
    void aResendOfAnEventPublishedJustBeforeACrashIsAnswered2xxAndNotPublishedAgainOnEveryHttpIntake() throws Exception {
        String patient = "EO" + System.nanoTime();
        String ehrBody = "{\"id\":\"" + patient + "\",\"name\":\"x\"}";
        String fhirBody = "{\"resourceType\":\"Patient\",\"id\":\"" + patient + "\",\"meta\":{\"versionId\":\"2\"}}";
        String device = "IP-" + patient;
        String readingBody = reading(Instant.now(), 80);
        String callbackBody = stateCallback("inst-" + patient, "waiting-for-bed");
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
        Exchange reading = new DefaultExchange(context);
        reading.getMessage().setHeader(Exchange.HTTP_PATH, "/devices/infusion-pump/" + device + "/status");
        reading.getMessage().setHeader(Exchange.CONTENT_TYPE, "application/json");
        reading.getMessage().setBody(readingBody.getBytes(StandardCharsets.UTF_8));
        DeviceReadingInspector readings = new DeviceReadingInspector();
        readings.setSource("http");
        readings.process(reading);
        String readingEventId = reading.getMessage().getHeader("ce_id", String.class);
        Exchange callback = new DefaultExchange(context);
        callback.getMessage().setHeader(Exchange.HTTP_PATH, "/workflow/callbacks/admission");
        callback.getMessage().setHeader(Exchange.CONTENT_TYPE, "application/json");
        callback.getMessage().setBody(callbackBody.getBytes(StandardCharsets.UTF_8));
        new WorkflowCallbackInspector().process(callback);
        String callbackEventId = callback.getMessage().getHeader("ce_id", String.class);

        // the runtime published all four, then died before their keys' batches were written
        env.stopRuntime();
        publishedBeforeTheCrash("ehr.epic.patient.updated", ehrEventId, ehrBody.getBytes(StandardCharsets.UTF_8));
        publishedBeforeTheCrash(fhirTopic, change.eventId(), fhirBody.getBytes(StandardCharsets.UTF_8));
        publishedBeforeTheCrash("device.infusion-pump.status", readingEventId, reading.getMessage().getBody(byte[].class),
                "device_ingest", "http", "device_id", device);
        publishedBeforeTheCrash("workflow.states.admission", callbackEventId, callbackBody.getBytes(StandardCharsets.UTF_8));
        env.startRuntime();

        // the senders got no 2xx and resend
        HttpResponse<String> ehrResend = post("/ehr/epic/Patient/updated", "application/json", ehrBody);
        assertEquals(202, ehrResend.statusCode(), ehrResend.body());
        assertTrue(ehrResend.body().contains(ehrEventId), ehrResend.body());
        HttpResponse<String> fhirResend = post("/fhir/changes", "application/fhir+json", fhirBody);
        assertEquals(200, fhirResend.statusCode(), fhirResend.body());
        HttpResponse<String> readingResend = post("/devices/infusion-pump/" + device + "/status", "application/json",
                readingBody);
        assertEquals(202, readingResend.statusCode(), readingResend.body());
        assertEquals(readingEventId, eventId(readingResend));
        HttpResponse<String> callbackResend = post("/workflow/callbacks/admission", "application/json", callbackBody);
        assertEquals(202, callbackResend.statusCode(), callbackResend.body());
        assertEquals(callbackEventId, eventId(callbackResend));
        assertTrue(callbackResend.body().contains("\"topic\":\"workflow.states.admission\""), callbackResend.body());

        // markers published after them: once they are there, the resends would be too
        String marker = patient + "-M";
        assertEquals(202, post("/ehr/epic/Patient/updated", "application/json",
                "{\"id\":\"" + marker + "\",\"name\":\"x\"}").statusCode());
        assertEquals(200, post("/fhir/changes", "application/fhir+json",
                "{\"resourceType\":\"Patient\",\"id\":\"" + marker + "\",\"meta\":{\"versionId\":\"2\"}}").statusCode());
        env.topics().awaitRecords("ehr.epic.patient.updated", r -> new String(r.value(), StandardCharsets.UTF_8)
                .contains(marker), 1);
        env.topics().awaitRecords(fhirTopic, r -> new String(r.value(), StandardCharsets.UTF_8).contains(marker), 1);

        assertEquals(1, onKafka("ehr.epic.patient.updated", ehrEventId), "the EHR event is on Kafka once");
        assertEquals(1, onKafka(fhirTopic, change.eventId()), "the FHIR change is on Kafka once");
        // 202 is answered only once Kafka acknowledged the write: a second copy would be there already
        assertEquals(1, onKafka("device.infusion-pump.status", readingEventId), "the reading is on Kafka once");
        assertEquals(1, onKafka("workflow.states.admission", callbackEventId), "the state callback is on Kafka once");
    }

    @Test
    void aReadingOrStateCallbackPostedTwiceWhileRunningIsAnswered202WithTheSameEventIdAndPublishedOnce() throws Exception {
        String run = "RUN" + System.nanoTime();
        String readingPath = "/devices/infusion-pump/IP-" + run + "/status";
        String readingBody = reading(Instant.now(), 90);
        HttpResponse<String> first = post(readingPath, "application/json", readingBody);
        HttpResponse<String> resent = post(readingPath, "application/json", readingBody);
        assertEquals(202, first.statusCode(), first.body());
        assertEquals(202, resent.statusCode(), resent.body());
        assertEquals(eventId(first), eventId(resent));
        assertTrue(resent.body().contains("\"topic\":\"device.infusion-pump.status\""), resent.body());
        assertEquals(1, onKafka("device.infusion-pump.status", eventId(first)), "the reading is on Kafka once");

        // without an eventId in the callback: same workflow type and body
        String callbackBody = stateCallback("inst-" + run, "started");
        HttpResponse<String> callback = post("/workflow/callbacks/admission", "application/json", callbackBody);
        HttpResponse<String> callbackResent = post("/workflow/callbacks/admission", "application/json", callbackBody);
        assertEquals(202, callback.statusCode(), callback.body());
        assertEquals(202, callbackResent.statusCode(), callbackResent.body());
        assertEquals(eventId(callback), eventId(callbackResent));
        assertTrue(callbackResent.body().contains("\"topic\":\"workflow.states.admission\""), callbackResent.body());
        assertEquals(1, onKafka("workflow.states.admission", eventId(callback)), "the callback is on Kafka once");

        // the engine's own event id: a resend is recognised by it
        String withEventId = "{\"eventId\":\"evt-" + run + "\",\"instanceId\":\"inst-" + run + "\",\"state\":\"ready\"}";
        assertEquals(202, post("/workflow/callbacks/admission", "application/json", withEventId).statusCode());
        assertEquals(202, post("/workflow/callbacks/admission", "application/json", withEventId).statusCode());
        assertEquals(1, onKafka("workflow.states.admission", "evt-" + run), "the engine's event is on Kafka once");

        // an Idempotency-Key names the callback: its resend is recognised even when the engine wrote the body again
        HttpResponse<String> keyed = post("/workflow/callbacks/admission", "application/json",
                stateCallback("inst-" + run, "bed-assigned"), "Idempotency-Key", "key-" + run);
        HttpResponse<String> keyedResent = post("/workflow/callbacks/admission", "application/json",
                " " + stateCallback("inst-" + run, "bed-assigned"), "Idempotency-Key", "key-" + run);
        assertEquals(202, keyed.statusCode(), keyed.body());
        assertEquals(eventId(keyed), eventId(keyedResent));
        assertEquals(1, onKafka("workflow.states.admission", eventId(keyed)), "the keyed callback is on Kafka once");
    }

    @Test
    void twoDifferentReadingsOfOneDeviceAndTwoDifferentCallbacksOfOneInstanceAreAllPublished() throws Exception {
        String run = "DIFF" + System.nanoTime();
        String readingPath = "/devices/infusion-pump/IP-" + run + "/status";
        Instant at = Instant.now();
        // the same flow a second later, and another flow at the same time
        List<HttpResponse<String>> readings = List.of(
                post(readingPath, "application/json", reading(at, 80)),
                post(readingPath, "application/json", reading(at.plusSeconds(1), 80)),
                post(readingPath, "application/json", reading(at, 81)));
        List<HttpResponse<String>> callbacks = List.of(
                post("/workflow/callbacks/admission", "application/json", stateCallback("inst-" + run, "started")),
                post("/workflow/callbacks/admission", "application/json", stateCallback("inst-" + run, "completed")),
                // the same state entered twice, told apart by the engine's Idempotency-Key
                post("/workflow/callbacks/admission", "application/json", stateCallback("inst-" + run, "waiting"),
                        "Idempotency-Key", "a-" + run),
                post("/workflow/callbacks/admission", "application/json", stateCallback("inst-" + run, "waiting"),
                        "Idempotency-Key", "b-" + run));
        for (HttpResponse<String> answer : readings) {
            assertEquals(202, answer.statusCode(), answer.body());
            assertEquals(1, onKafka("device.infusion-pump.status", eventId(answer)), answer.body());
        }
        for (HttpResponse<String> answer : callbacks) {
            assertEquals(202, answer.statusCode(), answer.body());
            assertEquals(1, onKafka("workflow.states.admission", eventId(answer)), answer.body());
        }
        assertEquals(3, readings.stream().map(HttpIntakesExactlyOnceIT::eventId).distinct().count(), "three readings, three ids");
        assertEquals(4, callbacks.stream().map(HttpIntakesExactlyOnceIT::eventId).distinct().count(), "four callbacks, four ids");
    }
}
