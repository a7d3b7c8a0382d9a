package org.cmm.eventbroker.engagement;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.cmm.eventbroker.engagement.push.PushTemplates;
import org.cmm.eventbroker.workflow.NotificationTask;
import org.cmm.eventbroker.workflow.WorkflowTaskFailedException;
import org.cmm.eventbroker.workflow.WorkflowTaskReader;
import org.junit.jupiter.api.Test;

/**
 * Workflow {@code notification} tasks and the push notification service agree: every notification type a task may
 * name (cmm.workflow.tasks.notification-types) has a push template (cmm.engagement.push.template.type) that the
 * push-notification-delivery route hands to the service, so no task's notification is dead-lettered by the push
 * service for want of a template; a task naming another type, or a recipient the push service cannot resolve, fails
 * at the worker with the reason instead.
 */
class WorkflowNotificationTemplatesTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void everyWorkflowNotificationTypeHasAPushTemplateThatTheDeliveryRoutePasses() throws Exception {
        Properties workflow = load("src/main/resources/config/workflow.properties");
        Properties engagement = load("src/main/resources/config/engagement.properties");
        String route = Files.readString(Path.of("routes/engagement/push-notification-delivery.camel.yaml"));
        List<String> types = Arrays.stream(workflow.getProperty("cmm.workflow.tasks.notification-types").split(","))
                .map(String::trim).filter(t -> !t.isEmpty()).toList();
        assertFalse(types.isEmpty());
        PushTemplates templates = new PushTemplates();
        for (String type : types) {
            String template = engagement.getProperty("cmm.engagement.push.template." + type);
            assertNotNull(template, "no push template for the workflow notification type " + type);
            templates.put(type, template);
            assertTrue(templates.message(type, "n-1").isPresent(), type);
            assertTrue(route.contains("\"{{cmm.engagement.push.template." + type + "}}\""),
                    "push-notification-delivery passes the template of " + type);
        }
    }

    @Test
    void aTaskNamingATypeWithoutTemplateOrAnUnresolvableRecipientFailsAtTheWorkerWithTheReason() throws Exception {
        NotificationTask task = new NotificationTask();
        task.setTopicPrefix("notifications.push");
        task.setNotificationTypes("appointment,result,medication,alert,care-team,task");

        Exchange ok = exchange("{\"notificationType\":\"care-team\",\"recipient\":\"staff/ward-3a\"}");
        task.process(ok);
        assertEquals("notifications.push.care-team",
                ok.getProperty(NotificationTask.OUTPUT, JsonNode.class).path("topic").asText());

        WorkflowTaskFailedException noTemplate = assertThrows(WorkflowTaskFailedException.class,
                () -> task.process(exchange("{\"notificationType\":\"fax\",\"recipient\":\"staff/ward-3a\"}")));
        assertTrue(noTemplate.getMessage().contains("no push template"), noTemplate.getMessage());
        WorkflowTaskFailedException recipient = assertThrows(WorkflowTaskFailedException.class,
                () -> task.process(exchange("{\"notificationType\":\"task\",\"recipient\":\"ward-3a\"}")));
        assertTrue(recipient.getMessage().contains("patient/<id> or staff/<id>"), recipient.getMessage());
    }

    private static Exchange exchange(String input) throws Exception {
        Exchange exchange = new DefaultExchange(new DefaultCamelContext());
        exchange.setProperty(WorkflowTaskReader.TASK, JSON.readTree("{\"taskId\":\"t-1\",\"taskType\":\"notification\","
                + "\"input\":" + input + "}"));
        return exchange;
    }

    private static Properties load(String file) throws Exception {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(Path.of(file), StandardCharsets.UTF_8)) {
            p.load(r);
        }
        return p;
    }
}
