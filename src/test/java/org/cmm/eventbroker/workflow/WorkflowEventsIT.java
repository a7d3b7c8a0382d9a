package org.cmm.eventbroker.workflow;

import static org.awaitility.Awaitility.await;
import static org.cmm.eventbroker.testsupport.KafkaTopicReader.header;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;
import org.cmm.eventbroker.testsupport.LogCapture;
import org.cmm.eventbroker.testsupport.OrderMessages;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.cmm.eventbroker.testsupport.ScriptedWorkflowEngine;
import org.cmm.eventbroker.testsupport.ScriptedWorkflowEngine.Call;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Flow 4, workflows: real Kafka broker, the runtime, and a real HTTP server standing in for the workflow engine
 * ({@link ScriptedWorkflowEngine}: records calls, answers like an engine, scripted 503/400, posts state callbacks).
 * Clinical events are published to hl7.* the way the MLLP inbound flow leaves them (HL7 bytes keyed by patient).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class WorkflowEventsIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration WAIT = Duration.ofSeconds(60);

    private static ScriptedWorkflowEngine engine;
    private static RuntimeUnderTest env;
    private static OrderMessages kafka;
    private static LogCapture logs;
    private static String firstAdmissionTriggerId;

    @BeforeAll
    static void start() throws Exception {
        logs = LogCapture.attach();
        engine = new ScriptedWorkflowEngine();
        env = RuntimeUnderTest.flows("workflow-triggers-from-hl7", "workflow-engine-caller", "workflow-state-callbacks", "workflow-task-worker").with(Map.of(
                "cmm.workflow.engine.url", engine.url(),
                "cmm.workflow.engine.initial-backoff-ms", "200",
                "cmm.workflow.engine.max-backoff-ms", "500",
                "cmm.workflow.engine.response-timeout-ms", "5000")).start();
        kafka = new OrderMessages(env.bootstrapServers());
    }

    @AfterAll
    static void stop() throws Exception {
        if (kafka != null) {
            kafka.close();
        }
        if (env != null) {
            env.close();
        }
        if (engine != null) {
            engine.close();
        }
        if (logs != null) {
            logs.close();
        }
    }

    private static JsonNode json(ConsumerRecord<String, byte[]> record) throws Exception {
        return JSON.readTree(record.value());
    }

    private static List<ConsumerRecord<String, byte[]>> triggersFor(String topic, String controlId, int atLeast) {
        return env.topics().awaitRecords(topic, r -> {
            try {
                return controlId.equals(json(r).path("source").path("controlId").asText());
            } catch (Exception e) {
                return false;
            }
        }, atLeast);
    }

    private static List<Call> awaitCalls(String businessKey, int count) {
        await().atMost(WAIT).pollInterval(Duration.ofMillis(100))
                .until(() -> engine.callsAbout(businessKey).size() >= count);
        return engine.callsAbout(businessKey);
    }

    @Test
    @Order(1)
    void anAdmitStartsOneAdmissionWithTheTriggerIdAsIdempotencyKeyAndARegistrationTriggersNothing() throws Exception {
        kafka.publish("hl7.adt.a04", "P100", WorkflowMessages.adt("A04", "WF-A04-1", "P100", "V099"));
        kafka.publish("hl7.adt.a01", "P100", WorkflowMessages.adt("A01", "WF-A01-1", "P100", "V100"));

        ConsumerRecord<String, byte[]> trigger = triggersFor("workflow.triggers.admission", "WF-A01-1", 1).get(0);
        assertEquals("P100", trigger.key(), "triggers are keyed by patient");
        JsonNode body = json(trigger);
        assertEquals("admission", body.path("workflowType").asText());
        assertEquals("start", body.path("action").asText());
        assertEquals("V100", body.path("businessKey").asText());
        assertEquals("hl7.adt.a01", body.path("source").path("topic").asText());
        assertFalse(new String(trigger.value(), StandardCharsets.UTF_8).contains("TESTPATIENT"), "no names");
        assertEquals("workflow.triggers.admission", header(trigger, "ce_type"));
        assertNull(header(trigger, "hl7_control_id"), "the HL7 record's headers stay behind");
        firstAdmissionTriggerId = body.path("triggerId").asText();
        assertEquals(firstAdmissionTriggerId, header(trigger, "ce_id"));

        Call call = awaitCalls("V100", 1).get(0);
        assertEquals("POST", call.method());
        assertEquals("/engine-rest/workflows/admission/instances", call.path());
        assertEquals(firstAdmissionTriggerId, call.idempotencyKey());
        assertTrue(call.contentType().startsWith("application/json"), call.contentType());
        assertEquals(firstAdmissionTriggerId, JSON.readTree(call.body()).path("triggerId").asText());
        for (Call c : engine.calls()) {
            assertFalse(c.body().contains("WF-A04-1"), "the A04 is not in the table and reached the engine");
        }
        assertTrue(env.topics().readAll("workflow.triggers.admission").stream()
                .noneMatch(r -> new String(r.value(), StandardCharsets.UTF_8).contains("WF-A04-1")));
    }

    @Test
    @Order(2)
    void anEngineAnswering503IsCalledAgainUntilItAcceptsAndThePatientsCancelWaitsBehind() throws Exception {
        engine.script("V200", 503, 503, 201);
        kafka.publish("hl7.adt.a01", "P200", WorkflowMessages.adt("A01", "WF-A01-2", "P200", "V200"));
        // the cancel is published once the start's trigger is on Kafka: both are then on one partition, in this order
        triggersFor("workflow.triggers.admission", "WF-A01-2", 1);
        kafka.publish("hl7.adt.a11", "P200", WorkflowMessages.adt("A11", "WF-A11-2", "P200", "V200"));

        List<Call> calls = awaitCalls("V200", 4);
        assertEquals(List.of(503, 503, 201, 200), calls.stream().map(Call::status).toList());
        assertEquals(1, calls.subList(0, 3).stream().map(Call::idempotencyKey).distinct().count(),
                "every retry carries the same idempotency key");
        assertEquals("/engine-rest/workflows/admission/instances/V200/cancel", calls.get(3).path());
        assertEquals("cancel", JSON.readTree(calls.get(3).body()).path("action").asText());
    }

    @Test
    @Order(3)
    void aTriggerTheEngineRefusesWith400GoesToTheDeadLetterTopicWithTheEnginesReasonAndIsNotRetried() throws Exception {
        engine.script("V300", 400);
        kafka.publish("hl7.adt.a01", "P300", WorkflowMessages.adt("A01", "WF-A01-3", "P300", "V300"));
        ConsumerRecord<String, byte[]> trigger = triggersFor("workflow.triggers.admission", "WF-A01-3", 1).get(0);

        ConsumerRecord<String, byte[]> dead = env.topics().awaitRecords("workflow.dlq",
                r -> "workflow.triggers.admission".equals(header(r, "dlq_original_topic")) && "P300".equals(r.key()), 1)
                .get(0);
        assertTrue(header(dead, "dlq_reason").contains("400") && header(dead, "dlq_reason").contains("unknown ward"),
                header(dead, "dlq_reason"));
        assertEquals("workflow-engine-caller", header(dead, "dlq_source"));
        assertArrayEquals(trigger.value(), dead.value(), "the trigger as consumed");
        assertEquals(1, engine.callsAbout("V300").size());
    }

    @Test
    @Order(4)
    void aReferralStartsAReferralWorkflowAddressedByItsReferralId() throws Exception {
        kafka.publish("hl7.ref.i12", "P400", WorkflowMessages.referral("I12", "WF-I12-1", "P400", "REF-400"));
        Call call = awaitCalls("REF-400", 1).get(0);
        assertEquals("/engine-rest/workflows/referral/instances", call.path());
        assertEquals("P400", triggersFor("workflow.triggers.referral", "WF-I12-1", 1).get(0).key());
    }

    @Test
    @Order(5)
    void aStateCallbackIsAnswered202AfterItIsOnTheStatesTopicKeyedByBusinessKeyWithoutRequestHeaders() throws Exception {
        String callback = "{\"eventId\":\"evt-cb-1\",\"instanceId\":\"inst-1\",\"businessKey\":\"V100\","
                + "\"workflowType\":\"admission\",\"state\":\"waiting-for-bed\"}";
        HttpResponse<String> response = engine.callback(env.httpPort(), "admission", "application/json", callback);
        assertEquals(202, response.statusCode(), response.body());
        assertEquals("workflow.states.admission", JSON.readTree(response.body()).path("topic").asText());

        List<ConsumerRecord<String, byte[]>> states = env.topics().readAll("workflow.states.admission").stream()
                .filter(r -> "evt-cb-1".equals(header(r, "ce_id"))).toList();
        assertEquals(1, states.size(), "on Kafka when 202 was answered");
        ConsumerRecord<String, byte[]> state = states.get(0);
        assertEquals("V100", state.key());
        assertArrayEquals(callback.getBytes(StandardCharsets.UTF_8), state.value());
        assertEquals("waiting-for-bed", header(state, "workflow_state"));
        for (Header h : state.headers()) {
            assertFalse(h.key().equalsIgnoreCase("authorization")
                    || new String(h.value(), StandardCharsets.UTF_8).contains("s3cr3t"), h.key());
        }
    }

    @Test
    @Order(6)
    void aBadStateCallbackIsAnswered400AfterItIsOnTheDeadLetterTopic() throws Exception {
        String bad = "{\"instanceId\":\"inst-bad\",\"state\":\"not a state!\"}";
        HttpResponse<String> response = engine.callback(env.httpPort(), "admission", "application/json", bad);
        assertEquals(400, response.statusCode());
        assertTrue(JSON.readTree(response.body()).path("error").asText().contains("state"), response.body());
        List<ConsumerRecord<String, byte[]>> dead = env.topics().readAll("workflow.dlq").stream()
                .filter(r -> "workflow-state-callbacks".equals(header(r, "dlq_source"))).toList();
        assertEquals(1, dead.size(), "on the dead-letter topic when 400 was answered");
        assertArrayEquals(bad.getBytes(StandardCharsets.UTF_8), dead.get(0).value());
        assertEquals(415, engine.callback(env.httpPort(), "admission", "text/plain", "{}").statusCode());
        assertEquals(400, engine.callback(env.httpPort(), "Not_A_Type", "application/json",
                "{\"instanceId\":\"i\",\"state\":\"s\"}").statusCode());
    }

    @Test
    @Order(7)
    void aNotificationTaskPublishesAPushNotificationAndACompletedResultAndAnUnknownTaskFails() throws Exception {
        kafka.publish("workflow.tasks.notification", "task-1", "{\"taskId\":\"task-1\",\"taskType\":\"notification\","
                + "\"workflowType\":\"admission\",\"instanceId\":\"inst-1\",\"businessKey\":\"V100\",\"input\":"
                + "{\"notificationType\":\"care-team\",\"recipient\":\"staff/ward-3a\",\"template\":\"admission-started\"}}");
        kafka.publish("workflow.tasks.teleport", "task-2", "{\"taskId\":\"task-2\",\"input\":{}}");

        ConsumerRecord<String, byte[]> completed = env.topics().awaitRecords("workflow.task-results",
                r -> "task-1".equals(r.key()), 1).get(0);
        JsonNode result = json(completed);
        assertEquals("completed", result.path("status").asText());
        assertEquals("notification", result.path("taskType").asText());
        assertEquals("notifications.push.care-team", result.path("output").path("topic").asText());
        ConsumerRecord<String, byte[]> push = env.topics().awaitRecords("notifications.push.care-team",
                r -> "staff/ward-3a".equals(r.key()), 1).get(0);
        assertEquals(result.path("output").path("notificationId").asText(), json(push).path("notificationId").asText());
        assertEquals("admission-started", json(push).path("template").asText());

        ConsumerRecord<String, byte[]> failed = env.topics().awaitRecords("workflow.task-results",
                r -> "task-2".equals(r.key()), 1).get(0);
        assertEquals("failed", json(failed).path("status").asText());
        assertTrue(json(failed).path("reason").asText().contains("unsupported task type 'teleport'"));
        ConsumerRecord<String, byte[]> dead = env.topics().awaitRecords("workflow.dlq",
                r -> "workflow.tasks.teleport".equals(header(r, "dlq_original_topic")), 1).get(0);
        assertEquals("task-2", dead.key());
        assertEquals("{\"taskId\":\"task-2\",\"input\":{}}", new String(dead.value(), StandardCharsets.UTF_8));
    }

    @Test
    @Order(8)
    void eventsPublishedWhileTheRuntimeIsDownAreDeliveredAfterTheRestartAndDeliveredOnesAreNotCalledAgain()
            throws Exception {
        env.stopRuntime();
        // the same patient as the first test: were its delivered admission re-sent, it would come before this one
        kafka.publish("hl7.adt.a01", "P100", WorkflowMessages.adt("A01", "WF-A01-9", "P100", "V109"));
        env.startRuntime();

        Call call = awaitCalls("V109", 1).get(0);
        assertEquals("/engine-rest/workflows/admission/instances", call.path());
        assertEquals(1, engine.calls().stream().filter(c -> firstAdmissionTriggerId.equals(c.idempotencyKey())).count(),
                "the admission delivered before the restart is not called again");
        assertEquals(1, triggersFor("workflow.triggers.admission", "WF-A01-1", 1).size(),
                "nor is its trigger published again");
        assertEquals(202, engine.callback(env.httpPort(), "admission", "application/json",
                "{\"instanceId\":\"inst-9\",\"businessKey\":\"V109\",\"state\":\"started\"}").statusCode());
    }

    @Test
    @Order(9)
    void noPatientDataInTheLogs() {
        String all = String.join("\n", logs.lines());
        assertFalse(all.contains("TESTPATIENT") || all.contains("19800101") || all.contains("engine-s3cr3t"),
                "patient data or the engine's token in the logs");
    }
}
