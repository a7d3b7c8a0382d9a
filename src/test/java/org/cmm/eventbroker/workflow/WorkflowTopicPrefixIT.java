package org.cmm.eventbroker.workflow;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.cmm.eventbroker.testsupport.LogCapture;
import org.cmm.eventbroker.testsupport.MllpTestClient;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.cmm.eventbroker.testsupport.ScriptedWorkflowEngine;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The HL7 topic prefix is one setting: with {@code cmm.hl7.topic-prefix} changed, the HL7 v2 inbound flow writes to
 * {@code <prefix>.<message-type>.<trigger-event>} and the workflow triggers still follow those events (they used to
 * read a hard-coded {@code hl7.*}, so changing the key silently stopped every workflow trigger). Real Kafka broker,
 * the runtime, a real MLLP client and a real HTTP server standing in for the workflow engine.
 */
class WorkflowTopicPrefixIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String PREFIX = "site7-hl7";

    private static ScriptedWorkflowEngine engine;
    private static RuntimeUnderTest env;
    private static LogCapture logs;

    @BeforeAll
    static void start() throws Exception {
        logs = LogCapture.attach();
        engine = new ScriptedWorkflowEngine();
        env = new RuntimeUnderTest(Map.of(
                "cmm.hl7.topic-prefix", PREFIX,
                "cmm.workflow.engine.url", engine.url(),
                "cmm.workflow.engine.initial-backoff-ms", "200",
                "cmm.workflow.engine.max-backoff-ms", "500"));
    }

    @AfterAll
    static void stop() throws Exception {
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

    @Test
    void theStartNamesTheRouteConfigurationOfEachRoute() {
        String trigger = "Route workflow-triggers-from-hl7 (";
        String intakeRoute = "Route ehr-api-events (";
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                .until(() -> !logs.linesContaining(List.of(trigger)).isEmpty()
                        && !logs.linesContaining(List.of(intakeRoute)).isEmpty());
        String line = logs.linesContaining(List.of(trigger)).get(0);
        assertTrue(line.endsWith("uses routeConfiguration workflow-error-handling"), line);
        assertTrue(line.contains("workflow-triggers-from-hl7.camel.yaml"), "names the route's file: " + line);
        List<String> intake = logs.linesContaining(List.of(intakeRoute));
        assertEquals(1, intake.size(), "each route once");
        assertTrue(intake.get(0).endsWith("uses routeConfiguration ehr-api-http-error-handling"), intake.get(0));
    }

    @Test
    void anAdmitReceivedWithAnotherHl7TopicPrefixStillStartsItsAdmissionWorkflow() throws Exception {
        try (MllpTestClient client = new MllpTestClient(env.mllpPort())) {
            String ack = client.sendAndReceive(WorkflowMessages.adt("A01", "WF-PFX-1", "P900", "V900"));
            assertTrue(ack.contains("MSA|AA|WF-PFX-1"), "accepted: " + ack);
        }
        List<ConsumerRecord<String, byte[]>> published = env.topics().awaitRecords(PREFIX + ".adt.a01",
                r -> "P900".equals(r.key()), 1);
        assertEquals(1, published.size(), "the admit is on the prefixed topic");

        ConsumerRecord<String, byte[]> trigger = env.topics().awaitRecords("workflow.triggers.admission",
                r -> "P900".equals(r.key()), 1).get(0);
        assertEquals(PREFIX + ".adt.a01", JSON.readTree(trigger.value()).path("source").path("topic").asText(),
                "the trigger names the topic it came from");
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
                .until(() -> !engine.callsAbout("V900").isEmpty());
        assertEquals("/engine-rest/workflows/admission/instances", engine.callsAbout("V900").get(0).path());
    }
}
