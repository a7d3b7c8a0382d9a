package org.cmm.eventbroker.workflow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

class WorkflowCallbackInspectorTest {

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void aCallbackIsKeyedByBusinessKeyElseInstanceIdAndGetsAStableEventId() throws Exception {
        var withKey = WorkflowCallbackInspector.read("admission",
                utf8("{\"instanceId\":\"i-1\",\"businessKey\":\"V200\",\"state\":\"started\"}"));
        assertEquals("V200", withKey.key());
        assertEquals("started", withKey.state());
        var withoutKey = WorkflowCallbackInspector.read("admission", utf8("{\"instanceId\":\"i-1\",\"state\":\"completed\"}"));
        assertEquals("i-1", withoutKey.key());
        assertEquals(withoutKey.eventId(), WorkflowCallbackInspector.read("admission",
                utf8("{\"instanceId\":\"i-1\",\"state\":\"completed\"}")).eventId(), "a resend has the same id");
        assertEquals("e-7", WorkflowCallbackInspector.read("admission",
                utf8("{\"eventId\":\"e-7\",\"instanceId\":\"i-1\",\"state\":\"completed\"}")).eventId());
    }

    @Test
    void anIdempotencyKeyNamesACallbackWithoutEventIdAndTheEnginesEventIdWinsOverIt() throws Exception {
        byte[] waiting = utf8("{\"instanceId\":\"i-1\",\"state\":\"waiting\"}");
        String byBody = WorkflowCallbackInspector.read("admission", waiting).eventId();
        String byKey = WorkflowCallbackInspector.read("admission", waiting, "k-1").eventId();
        assertFalse(byBody.equals(byKey));
        assertEquals(byKey, WorkflowCallbackInspector.read("admission",
                utf8(" {\"instanceId\":\"i-1\",\"state\":\"waiting\"}"), "k-1").eventId(),
                "a resend whose body was written again");
        assertFalse(byKey.equals(WorkflowCallbackInspector.read("admission", waiting, "k-2").eventId()),
                "the same state entered again, under another key");
        assertFalse(byKey.equals(WorkflowCallbackInspector.read("discharge", waiting, "k-1").eventId()),
                "a key is the engine's within one workflow type");
        assertEquals(byBody, WorkflowCallbackInspector.read("admission", waiting, " ").eventId(), "a blank key is none");
        assertEquals("e-7", WorkflowCallbackInspector.read("admission",
                utf8("{\"eventId\":\"e-7\",\"instanceId\":\"i-1\",\"state\":\"waiting\"}"), "k-1").eventId());
    }

    @Test
    void invalidCallbacksAreRejected400WithAReasonThatDoesNotQuoteThem() {
        String[] bad = {"", "not json", "[1,2]", "{\"state\":\"started\"}", "{\"instanceId\":\"i-1\"}",
                "{\"instanceId\":\"i-1\",\"state\":\"has spaces SECRET\"}", "{\"instanceId\":{},\"state\":\"x\"}",
                "{\"instanceId\":\"i-1\",\"state\":\"x\",\"workflowType\":\"discharge\"}",
                "{\"instanceId\":\"i-1\",\"state\":\"x\"} trailing"};
        for (String body : bad) {
            WorkflowCallbackRejectedException e = assertThrows(WorkflowCallbackRejectedException.class,
                    () -> WorkflowCallbackInspector.read("admission", utf8(body)), body);
            assertEquals(400, e.getStatus());
            assertFalse(e.getMessage().contains("SECRET"));
            assertTrue(e.getJson().startsWith("{\"status\":400"), e.getJson());
        }
    }
}
