package org.cmm.eventbroker.engagement.streams;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.util.Arrays;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;

/**
 * The staff streams as shipped (issue 16, item 4: "staff apps receive the status, progress and alert streams their
 * roles allow"): every workflow type the default trigger mapping starts has a status stream, task progress has one,
 * and the alert streams are there, each for clinical roles; a malformed entry is refused at start with the reason.
 */
class StaffStreamDefaultsTest {

    private static Properties load(String resource) throws Exception {
        Properties p = new Properties();
        try (InputStream in = StaffStreamDefaultsTest.class.getResourceAsStream(resource)) {
            p.load(in);
        }
        return p;
    }

    @Test
    void everyDefaultWorkflowTypeHasAStatusStreamAndTasksAProgressStream() throws Exception {
        Properties engagement = load("/config/engagement.properties");
        Properties workflow = load("/config/workflow.properties");
        Map<String, RealtimeStreams.StaffStream> streams = RealtimeStreams.parseStaffStreams(
                engagement.getProperty("cmm.engagement.streams.staff"));
        Map<String, Set<String>> rolesByTopic = streams.values().stream().collect(Collectors.toMap(
                RealtimeStreams.StaffStream::topic, RealtimeStreams.StaffStream::roles));

        Set<String> workflowTypes = Arrays.stream(workflow.getProperty("cmm.workflow.triggers.mapping").split(","))
                .map(e -> e.substring(e.indexOf('=') + 1, e.indexOf(':'))).collect(Collectors.toSet());
        assertEquals(Set.of("admission", "discharge", "referral"), workflowTypes);
        String statesPrefix = workflow.getProperty("cmm.workflow.states.topic-prefix");
        for (String type : workflowTypes) {
            Set<String> roles = rolesByTopic.get(statesPrefix + "." + type);
            assertTrue(roles != null && roles.contains("clinician"), "no status stream of workflow " + type
                    + " for clinicians: " + rolesByTopic);
        }
        Set<String> progress = rolesByTopic.get(workflow.getProperty("cmm.workflow.tasks.result-topic"));
        assertTrue(progress != null && progress.contains("clinician"), "no task progress stream: " + rolesByTopic);
        assertTrue(rolesByTopic.get("notifications.push.alert").contains("clinician"));
        assertEquals(Set.of("operator"), rolesByTopic.get("notifications.push.status"));
    }

    @Test
    void aMalformedEntryIsRefusedWithTheReason() {
        IllegalArgumentException noArrow = assertThrows(IllegalArgumentException.class,
                () -> RealtimeStreams.parseStaffStreams("admission-status = workflow.states.admission"));
        assertTrue(noArrow.getMessage().contains("is not <name> = <topic> -> <role>"), noArrow.getMessage());
    }
}
