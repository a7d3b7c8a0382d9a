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
 * Executes a {@code notification} task: builds the push notification event for
 * {@code notifications.push.<notificationType>}, keyed by the recipient, and records its id and topic as the task's
 * output (exchange property {@value #OUTPUT}).
 *
 * <p>Why an event and not a call: the push gateway (or whoever sends pushes to devices and pagers) reads the topic at
 * its own pace; the worker depends on nothing but Kafka, and a notification published is a notification owed. The
 * notification id is derived from the task id, so a task executed twice (a crash before the offset commit) yields the
 * same id twice and the gateway can drop the second.
 *
 * <p>Input: {@code input.notificationType} (one of {@link #setNotificationTypes the types the push notification
 * service has a template for}: a type without one would only be dead-lettered there), {@code input.recipient}
 * ({@code patient/<id>} or {@code staff/<id>}, the push service's recipients), {@code input.template}, {@code input.priority} (default {@code normal}) and {@code input.parameters}
 * (an object, passed on as is). Missing or invalid fields fail the task ({@link WorkflowTaskFailedException}).
 */
public class NotificationTask implements Processor {

    /** The task's output object, for its result. */
    public static final String OUTPUT = "CamelCmmWorkflowTaskOutput";

    private static final ObjectMapper JSON = new ObjectMapper();

    private static final java.util.regex.Pattern RECIPIENT =
            java.util.regex.Pattern.compile("(patient|staff)/[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

    /** The notification types the push service sends (cmm.workflow.tasks.notification-types); empty: any. */
    private java.util.Set<String> notificationTypes = java.util.Set.of();

    /** Set by the route from cmm.workflow.tasks.notification-topic-prefix; required. */
    private String topicPrefix;

    /** First part of the notification topics, {@code notifications.push}. */
    public void setTopicPrefix(String topicPrefix) {
        this.topicPrefix = topicPrefix;
    }

    /** The notification types the push service has a template for (comma-separated); empty: any. */
    public void setNotificationTypes(String types) {
        this.notificationTypes = java.util.Arrays.stream(types.split(",")).map(String::trim)
                .filter(t -> !t.isEmpty()).collect(java.util.stream.Collectors.toCollection(java.util.TreeSet::new));
    }

    @Override
    public void process(Exchange exchange) throws WorkflowTaskFailedException {
        JsonNode task = exchange.getProperty(WorkflowTaskReader.TASK, JsonNode.class);
        JsonNode input = task.path("input");
        String type = input.path("notificationType").asText("");
        if (type.length() > 64 || !WorkflowTriggerTable.WORKFLOW_TYPE.matcher(type).matches()) {
            throw new WorkflowTaskFailedException("input.notificationType must be 1 to 64 lower-case letters, digits"
                    + " or hyphens");
        }
        if (!notificationTypes.isEmpty() && !notificationTypes.contains(type)) {
            throw new WorkflowTaskFailedException("input.notificationType has no push template; one of "
                    + notificationTypes);
        }
        String recipient = input.path("recipient").asText("");
        if (!RECIPIENT.matcher(recipient).matches()) {
            throw new WorkflowTaskFailedException("input.recipient must be patient/<id> or staff/<id>");
        }
        JsonNode parameters = input.get("parameters");
        if (parameters != null && !parameters.isObject()) {
            throw new WorkflowTaskFailedException("input.parameters must be an object");
        }
        String taskId = task.get("taskId").asText();
        String notificationId = UUID.nameUUIDFromBytes(("notification|" + taskId).getBytes(StandardCharsets.UTF_8))
                .toString();
        String now = OffsetDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ISO_OFFSET_DATE_TIME);

        ObjectNode event = JSON.createObjectNode();
        event.put("notificationId", notificationId);
        event.put("notificationType", type);
        event.put("recipient", recipient);
        if (input.hasNonNull("template")) {
            event.put("template", input.get("template").asText());
        }
        event.put("priority", input.path("priority").asText("normal"));
        if (parameters != null) {
            event.set("parameters", parameters);
        }
        event.put("taskId", taskId);
        copy(task, event, "workflowType");
        copy(task, event, "instanceId");
        copy(task, event, "businessKey");
        event.put("createdAt", now);

        Message in = exchange.getMessage();
        for (String name : new ArrayList<>(in.getHeaders().keySet())) {
            if (!name.startsWith("Camel")) {
                in.removeHeader(name);
            }
        }
        in.setHeader(WorkflowHeaders.NOTIFICATION_TYPE, type);
        in.setHeader(Hl7Headers.CE_SPECVERSION, "1.0");
        in.setHeader(Hl7Headers.CE_ID, notificationId);
        in.setHeader(Hl7Headers.CE_SOURCE, "/cmm/workflow-tasks/notification");
        in.setHeader(Hl7Headers.CE_SUBJECT, recipient);
        in.setHeader(Hl7Headers.CE_TIME, now);
        in.setHeader(Hl7Headers.CONTENT_TYPE, "application/json");
        in.setBody(event.toString().getBytes(StandardCharsets.UTF_8));

        ObjectNode output = JSON.createObjectNode();
        output.put("notificationId", notificationId);
        output.put("topic", topicPrefix + "." + type);
        exchange.setProperty(OUTPUT, output);
    }

    static void copy(JsonNode from, ObjectNode to, String field) {
        JsonNode value = from.get(field);
        if (value != null && value.isTextual()) {
            to.put(field, value.asText());
        }
    }
}
