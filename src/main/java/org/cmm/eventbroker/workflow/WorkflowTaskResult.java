package org.cmm.eventbroker.workflow;

import java.nio.charset.StandardCharsets;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;
import org.cmm.eventbroker.hl7.Hl7Headers;

/**
 * Builds the result event of a task for the results topic, keyed by the task id: {@code completed} with the
 * executor's output, or {@code failed} with the reason in the exchange property {@value #FAILURE}. The result id is
 * derived from the task id and the status, so a task executed twice yields the same result id.
 */
public class WorkflowTaskResult implements Processor {

    /** Why the task failed; absent when it completed. */
    public static final String FAILURE = "CamelCmmWorkflowTaskFailure";

    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public void process(Exchange exchange) {
        JsonNode task = exchange.getProperty(WorkflowTaskReader.TASK, JsonNode.class);
        String failure = exchange.getProperty(FAILURE, String.class);
        String status = failure == null ? "completed" : "failed";
        Message in = exchange.getMessage();
        String taskType = exchange.getProperty(WorkflowTaskReader.TASK_TYPE, String.class);
        String taskId = task.get("taskId").asText();
        String resultId = UUID.nameUUIDFromBytes(("task-result|" + taskId + "|" + status)
                .getBytes(StandardCharsets.UTF_8)).toString();
        String now = OffsetDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ISO_OFFSET_DATE_TIME);

        ObjectNode result = JSON.createObjectNode();
        result.put("resultId", resultId);
        result.put("taskId", taskId);
        result.put("taskType", taskType);
        NotificationTask.copy(task, result, "workflowType");
        NotificationTask.copy(task, result, "instanceId");
        NotificationTask.copy(task, result, "businessKey");
        result.put("status", status);
        if (failure != null) {
            result.put("reason", failure);
        } else {
            JsonNode output = exchange.getProperty(NotificationTask.OUTPUT, JsonNode.class);
            if (output != null) {
                result.set("output", output);
            }
        }
        result.put("completedAt", now);

        for (String name : new ArrayList<>(in.getHeaders().keySet())) {
            if (!name.startsWith("Camel")) {
                in.removeHeader(name);
            }
        }
        in.setHeader(WorkflowHeaders.TASK_TYPE, taskType);
        in.setHeader(WorkflowHeaders.TASK_STATUS, status);
        in.setHeader(Hl7Headers.CE_SPECVERSION, "1.0");
        in.setHeader(Hl7Headers.CE_ID, resultId);
        in.setHeader(Hl7Headers.CE_SOURCE, "/cmm/workflow-tasks/" + taskType);
        in.setHeader(Hl7Headers.CE_SUBJECT, taskId);
        in.setHeader(Hl7Headers.CE_TIME, now);
        in.setHeader(Hl7Headers.CONTENT_TYPE, "application/json");
        in.setBody(result.toString().getBytes(StandardCharsets.UTF_8));
    }
}
