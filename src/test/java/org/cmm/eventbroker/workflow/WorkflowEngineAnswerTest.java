package org.cmm.eventbroker.workflow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;

import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.cmm.eventbroker.platform.delivery.DeliveryFailedException;
import org.cmm.eventbroker.platform.delivery.DeliveryRejectedException;
import org.junit.jupiter.api.Test;

class WorkflowEngineAnswerTest {

    private static Exchange answered(int status, String action, String body) {
        Exchange exchange = new DefaultExchange(new DefaultCamelContext());
        exchange.getMessage().setBody("{\"triggerId\":\"t\"}".getBytes(StandardCharsets.UTF_8));
        exchange.getMessage().setHeader("kafka.KEY", "P1");
        OriginalRecord.keep(exchange);
        exchange.setProperty(WorkflowEngineRequest.ACTION, action);
        exchange.getMessage().getHeaders().clear();
        exchange.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, status);
        exchange.getMessage().setBody(body == null ? null : body.getBytes(StandardCharsets.UTF_8));
        return exchange;
    }

    @Test
    void successAndNothingToResumeOrCancelAreDone() throws Exception {
        new WorkflowEngineAnswer().process(answered(201, "start", null));
        new WorkflowEngineAnswer().process(answered(200, "cancel", null));
        new WorkflowEngineAnswer().process(answered(404, "resume", null));
    }

    @Test
    void unavailableAnswersAreRetried() {
        for (int status : new int[] {500, 502, 503, 504, 408, 429}) {
            assertThrows(DeliveryFailedException.class, () -> new WorkflowEngineAnswer().process(answered(status, "start", "")));
        }
    }

    @Test
    void otherClientErrorsAreDeadLetteredWithTheEnginesReasonAndTheRecordRestored() {
        Exchange exchange = answered(400, "start", "{\"message\":\"unknown process definition\"}");
        DeliveryRejectedException e = assertThrows(DeliveryRejectedException.class,
                () -> new WorkflowEngineAnswer().process(exchange));
        assertEquals("workflow engine answered 400: unknown process definition", e.getMessage());
        assertEquals("P1", exchange.getMessage().getHeader("kafka.KEY"));
        assertEquals("{\"triggerId\":\"t\"}", exchange.getMessage().getBody(String.class));
        assertThrows(DeliveryRejectedException.class, () -> new WorkflowEngineAnswer().process(answered(404, "start", "")));
    }

    @Test
    void theReasonIsShortenedAndOnOneLine() {
        assertEquals("plain text", WorkflowEngineAnswer.reason("plain\ntext".getBytes(StandardCharsets.UTF_8)).replace("  ", " "));
        assertEquals(303, WorkflowEngineAnswer.reason("x".repeat(1000).getBytes(StandardCharsets.UTF_8)).length());
        assertNull(WorkflowEngineAnswer.reason(new byte[0]));
    }
}
