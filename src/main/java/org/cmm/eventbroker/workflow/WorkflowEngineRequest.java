package org.cmm.eventbroker.workflow;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;
import org.cmm.eventbroker.platform.delivery.DeliveryRejectedException;
import org.cmm.eventbroker.platform.delivery.KafkaDeliveryConsumer;

/**
 * Turns a trigger record of {@code workflow.triggers.<workflow-type>} into the call of the workflow engine's REST API
 * (README, Workflow engine contract):
 * <ul>
 *   <li>start: {@code POST /workflows/{workflowType}/instances}</li>
 *   <li>resume: {@code POST /workflows/{workflowType}/instances/{businessKey}/resume}</li>
 *   <li>cancel: {@code POST /workflows/{workflowType}/instances/{businessKey}/cancel}</li>
 * </ul>
 * each with the trigger as JSON body and the trigger id as {@code Idempotency-Key}, so that a call retried after a
 * timeout (the engine may have acted on the first) cannot start a second instance.
 *
 * <p>Every header of the record but Camel's own is dropped first (Kafka and CloudEvents headers must not become HTTP headers); the
 * record is kept for the dead letter ({@link OriginalRecord}). A trigger that is not the documented JSON, or whose
 * workflow type differs from its topic's, is rejected (dead letter) without a call.
 */
public class WorkflowEngineRequest implements Processor {

    /** Exchange properties for the answer's handling and the logs (ids only). */
    public static final String TRIGGER_ID = "CamelCmmWorkflowTriggerId";
    public static final String ACTION = "CamelCmmWorkflowAction";

    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public void process(Exchange exchange) throws DeliveryRejectedException {
        OriginalRecord.keep(exchange);
        Message in = exchange.getMessage();
        String topicType = in.getHeader(KafkaDeliveryConsumer.TOPIC_TYPE, String.class);
        byte[] body = in.getBody(byte[].class);
        JsonNode trigger;
        try {
            trigger = JSON.readTree(body == null ? new byte[0] : body);
        } catch (Exception e) {
            throw new DeliveryRejectedException("trigger is not JSON");
        }
        if (trigger == null || !trigger.isObject()) {
            throw new DeliveryRejectedException("trigger is not a JSON object");
        }
        String triggerId = text(trigger, "triggerId");
        String workflowType = text(trigger, "workflowType");
        WorkflowAction action = WorkflowAction.ofCode(text(trigger, "action"));
        String businessKey = text(trigger, "businessKey");
        if (triggerId == null || triggerId.length() > 128) {
            throw new DeliveryRejectedException("trigger without a triggerId (at most 128 characters)");
        }
        if (workflowType == null || !workflowType.equals(topicType)) {
            throw new DeliveryRejectedException("trigger workflowType does not match its topic workflow.triggers."
                    + topicType);
        }
        if (action == null) {
            throw new DeliveryRejectedException("trigger action must be start, resume or cancel");
        }
        if (action != WorkflowAction.START && businessKey == null) {
            throw new DeliveryRejectedException("a " + action.code() + " trigger needs a businessKey");
        }

        String path = "/workflows/" + segment(workflowType) + "/instances"
                + (action == WorkflowAction.START ? "" : "/" + segment(businessKey) + "/" + action.code());
        // Camel's own headers (the delivery attempt) stay; they are never sent as HTTP headers
        for (String name : new java.util.ArrayList<>(in.getHeaders().keySet())) {
            if (!name.startsWith("Camel")) {
                in.removeHeader(name);
            }
        }
        // the enum camel-http reads, not "POST": Camel converts a String to it by scanning every type converter at
        // each call (a hot spot of every flow: issue 17 item 8)
        in.setHeader(Exchange.HTTP_METHOD, org.apache.camel.component.http.HttpMethods.POST);
        in.setHeader(Exchange.HTTP_PATH, path);
        in.setHeader(Exchange.CONTENT_TYPE, "application/json");
        in.setHeader("Accept", "application/json");
        in.setHeader(WorkflowHeaders.IDEMPOTENCY_KEY, triggerId);
        in.setBody(body);
        exchange.setProperty(TRIGGER_ID, triggerId);
        exchange.setProperty(ACTION, action.code());
    }

    private static String text(JsonNode node, String field) {
        JsonNode value = node.get(field);
        return value != null && value.isTextual() && !value.asText().isBlank() ? value.asText() : null;
    }

    private static String segment(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8).replace("+", "%20");
    }
}
