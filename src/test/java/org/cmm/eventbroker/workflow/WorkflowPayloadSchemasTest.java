package org.cmm.eventbroker.workflow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.camel.Exchange;
import org.apache.camel.component.kafka.KafkaConstants;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.cmm.eventbroker.platform.delivery.KafkaDeliveryConsumer;
import org.cmm.eventbroker.testsupport.PayloadSchemaCheck;
import org.junit.jupiter.api.Test;

/**
 * The payload schemas registered for the workflow events (schemas/cmm.workflow.*.json, cmm.notification.push.v1)
 * describe what the producing code writes: the trigger of an HL7 event, a task's result (completed and failed) and a
 * notification task's push notification. A field the producer always writes, left out, makes the payload invalid.
 */
class WorkflowPayloadSchemasTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** A task record of workflow.tasks.notification as the worker reads it. */
    private static Exchange task(String task) throws Exception {
        Exchange exchange = new DefaultExchange(new DefaultCamelContext());
        exchange.getMessage().setBody(task.getBytes(StandardCharsets.UTF_8));
        exchange.getMessage().setHeader(KafkaDeliveryConsumer.TOPIC_TYPE, "notification");
        new WorkflowTaskReader().process(exchange);
        return exchange;
    }

    private static final String NOTIFICATION_TASK = """
            {"taskId":"T-1","taskType":"notification","workflowType":"admission","instanceId":"I-9","businessKey":"V200",
             "input":{"notificationType":"care-team","recipient":"staff/nurse-7","template":"admission-started",
                      "parameters":{"ward":"3B"}}}""";

    @Test
    void aTriggerIsValidUnderCmmWorkflowTriggerV1() throws Exception {
        WorkflowTriggerMapper mapper = new WorkflowTriggerMapper();
        mapper.setMapping("adt.a01=admission:start");
        mapper.setEvents("adt.a01");
        mapper.validate();
        Exchange exchange = new DefaultExchange(new DefaultCamelContext());
        exchange.getMessage().setBody(WorkflowMessages.adt("A01", "C1", "P100", "V200").getBytes(StandardCharsets.ISO_8859_1));
        exchange.getMessage().setHeader(KafkaDeliveryConsumer.TOPIC_TYPE, "adt.a01");
        exchange.getMessage().setHeader(KafkaConstants.TOPIC, "hl7.adt.a01");
        exchange.getMessage().setHeader(KafkaConstants.PARTITION, 0);
        exchange.getMessage().setHeader(KafkaConstants.OFFSET, 7L);
        exchange.getMessage().setHeader("ce_time", "2026-11-26T12:00:00Z");
        mapper.process(exchange);
        ObjectNode trigger = PayloadSchemaCheck.parse(exchange.getMessage().getBody(byte[].class));
        PayloadSchemaCheck.of("cmm.workflow.trigger.v1")
                .valid(trigger)
                .invalidAfter(trigger, t -> t.remove("businessKey"), "businessKey is always written")
                .invalidAfter(trigger, t -> ((ObjectNode) t.get("source")).remove("controlId"),
                        "source.controlId is always written")
                .invalidAfter(trigger, t -> t.put("action", "restart"), "action is start, resume or cancel");
    }

    @Test
    void aNotificationTasksPushNotificationAndItsResultAreValidUnderTheirSchemas() throws Exception {
        Exchange exchange = task(NOTIFICATION_TASK);
        NotificationTask notification = new NotificationTask();
        notification.setTopicPrefix("notifications.push");
        notification.process(exchange);
        ObjectNode push = PayloadSchemaCheck.parse(exchange.getMessage().getBody(byte[].class));
        // the schema requires what every writer of notifications.push.<type> writes; a workflow's has more
        for (String field : new String[] {"priority", "taskId", "workflowType", "instanceId", "businessKey", "createdAt"}) {
            assertTrue(push.hasNonNull(field), field + " in " + push);
        }
        PayloadSchemaCheck.of("cmm.notification.push.v1")
                .valid(push)
                .invalidAfter(push, p -> p.remove("recipient"), "recipient is always written")
                .invalidAfter(push, p -> p.put("recipient", "nurse-7"), "recipient is patient/<id> or staff/<id>");

        new WorkflowTaskResult().process(exchange);
        ObjectNode result = PayloadSchemaCheck.parse(exchange.getMessage().getBody(byte[].class));
        assertEquals("completed", result.get("status").asText());
        PayloadSchemaCheck.of("cmm.workflow.task.result.v1")
                .valid(result)
                .invalidAfter(result, r -> r.remove("taskId"), "taskId is always written")
                .invalidAfter(result, r -> r.put("status", "done"), "status is completed or failed");
    }

    @Test
    void aFailedTasksResultIsValidUnderCmmWorkflowTaskResultV1() throws Exception {
        Exchange exchange = task(NOTIFICATION_TASK);
        exchange.setProperty(WorkflowTaskResult.FAILURE, "input.recipient must be patient/<id> or staff/<id>");
        new WorkflowTaskResult().process(exchange);
        JsonNode result = JSON.readTree(exchange.getMessage().getBody(byte[].class));
        assertEquals("failed", result.get("status").asText());
        PayloadSchemaCheck.of("cmm.workflow.task.result.v1")
                .valid(result)
                .invalidAfter(result, r -> r.remove("completedAt"), "completedAt is always written");
    }
}
