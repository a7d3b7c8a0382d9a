package org.cmm.eventbroker.workflow;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.cmm.eventbroker.platform.delivery.DeliveryRejectedException;
import org.cmm.eventbroker.platform.delivery.KafkaDeliveryConsumer;

/**
 * Reads a task record of {@code workflow.tasks.<task-type>} (README, Workflow: task schema) into the exchange
 * property {@value #TASK}, after keeping the record as consumed for a dead letter ({@link OriginalRecord}).
 *
 * <p>A record without a usable {@code taskId} cannot get a result (results are keyed and identified by it), so it is
 * dead-lettered only ({@link DeliveryRejectedException}); one whose {@code taskType} names another type than its
 * topic does is refused the same way, since a result under either type would be wrong.
 */
public class WorkflowTaskReader implements Processor {

    /** The task as read: a JSON object with a valid taskId. */
    public static final String TASK = "CamelCmmWorkflowTask";
    /** The task type, from the topic name. */
    public static final String TASK_TYPE = "CamelCmmWorkflowTaskType";

    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public void process(Exchange exchange) throws DeliveryRejectedException {
        OriginalRecord.keep(exchange);
        byte[] body = exchange.getMessage().getBody(byte[].class);
        JsonNode task;
        try {
            task = JSON.readTree(body == null ? new byte[0] : body);
        } catch (Exception e) {
            throw new DeliveryRejectedException("task is not JSON");
        }
        if (task == null || !task.isObject()) {
            throw new DeliveryRejectedException("task is not a JSON object");
        }
        JsonNode taskId = task.get("taskId");
        if (taskId == null || !taskId.isTextual() || taskId.asText().isBlank() || taskId.asText().length() > 128
                || !taskId.asText().chars().allMatch(c -> c > 0x20 && c < 0x7F)) {
            throw new DeliveryRejectedException("task without a taskId of 1 to 128 printable characters");
        }
        String topicType = exchange.getMessage().getHeader(KafkaDeliveryConsumer.TOPIC_TYPE, String.class);
        JsonNode taskType = task.get("taskType");
        if (taskType != null && !(taskType.isTextual() && taskType.asText().equals(topicType))) {
            throw new DeliveryRejectedException("task taskType differs from its topic workflow.tasks." + topicType);
        }
        exchange.setProperty(TASK, task);
        exchange.setProperty(TASK_TYPE, topicType);
    }
}
