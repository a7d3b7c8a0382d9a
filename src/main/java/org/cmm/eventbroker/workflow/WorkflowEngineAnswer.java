package org.cmm.eventbroker.workflow;

import java.nio.charset.StandardCharsets;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;
import org.cmm.eventbroker.platform.delivery.DeliveryFailedException;
import org.cmm.eventbroker.platform.delivery.DeliveryRejectedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides what the workflow engine's answer means for the trigger record:
 * <ul>
 *   <li>2xx: done (the offset moves on);</li>
 *   <li>404 to a resume or cancel: done, there is no instance of that business key to resume or cancel (an A08 for a
 *   patient without an admission workflow is the common case, and it is not an error to keep);</li>
 *   <li>408, 425, 429 and 5xx: {@link DeliveryFailedException}, retried with back-off, the patient's later triggers
 *   waiting behind it (a refused connection or a timeout fails in the HTTP client the same way);</li>
 *   <li>any other 4xx: {@link DeliveryRejectedException} with the engine's reason: the trigger, restored as
 *   consumed, goes to the dead-letter topic; the engine would refuse it again.</li>
 * </ul>
 * Logs carry the trigger id and the status, never the body.
 */
public class WorkflowEngineAnswer implements Processor {

    private static final Logger LOG = LoggerFactory.getLogger(WorkflowEngineAnswer.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_REASON = 300;

    private final OriginalRecord originalRecord = new OriginalRecord();

    @Override
    public void process(Exchange exchange) throws Exception {
        Message in = exchange.getMessage();
        Integer status = in.getHeader(Exchange.HTTP_RESPONSE_CODE, Integer.class);
        String triggerId = exchange.getProperty(WorkflowEngineRequest.TRIGGER_ID, String.class);
        String action = exchange.getProperty(WorkflowEngineRequest.ACTION, String.class);
        if (status == null) {
            throw new DeliveryFailedException("no HTTP status from the workflow engine");
        }
        if (status >= 200 && status < 300) {
            LOG.info("Workflow engine accepted {} trigger {} ({})", action, triggerId, status);
            return;
        }
        if (status == 404 && !WorkflowAction.START.code().equals(action)) {
            LOG.info("Workflow engine has no instance to {} for trigger {} (404): nothing to do", action, triggerId);
            return;
        }
        if (status == 408 || status == 425 || status == 429 || status >= 500) {
            throw new DeliveryFailedException("workflow engine answered " + status);
        }
        String reason = reason(in.getBody(byte[].class));
        originalRecord.process(exchange);
        LOG.warn("Workflow engine rejected {} trigger {} with {}: dead-lettered", action, triggerId, status);
        throw new DeliveryRejectedException("workflow engine answered " + status + (reason == null ? "" : ": " + reason));
    }

    /** The engine's reason: a JSON "message", "error" or "reason" field, else the body's text, shortened. */
    static String reason(byte[] body) {
        if (body == null || body.length == 0) {
            return null;
        }
        String text = new String(body, StandardCharsets.UTF_8);
        try {
            JsonNode node = JSON.readTree(body);
            if (node != null && node.isObject()) {
                for (String field : new String[] {"message", "error", "reason", "detail"}) {
                    JsonNode value = node.get(field);
                    if (value != null && value.isTextual()) {
                        text = value.asText();
                        break;
                    }
                }
            }
        } catch (Exception e) {
            // not JSON: the text as it is
        }
        text = text.replaceAll("[\\p{Cntrl}]", " ").strip();
        return text.length() > MAX_REASON ? text.substring(0, MAX_REASON) + "..." : text;
    }
}
