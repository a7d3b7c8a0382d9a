package org.cmm.eventbroker.workflow;

import java.util.HashMap;
import java.util.Map;

import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;

/**
 * Puts back the consumed Kafka record (body, key, headers) before a workflow flow dead-letters it.
 *
 * <p>The workflow processors replace the body and drop the record's headers (so that HL7 or HTTP request headers never
 * travel on to the engine or to another topic); a dead letter must still be the record as it was, with its key, so
 * it can be republished unchanged. Processors call {@link #keep} first; the error handling runs this processor.
 */
public class OriginalRecord implements Processor {

    static final String BODY = "CamelCmmWorkflowOriginalBody";
    static final String HEADERS = "CamelCmmWorkflowOriginalHeaders";

    /** Remembers the message as consumed (once per exchange: a second call keeps the first state). */
    public static void keep(Exchange exchange) {
        if (exchange.getProperty(BODY) != null) {
            return;
        }
        Message in = exchange.getMessage();
        byte[] body = in.getBody(byte[].class);
        exchange.setProperty(BODY, body == null ? new byte[0] : body);
        exchange.setProperty(HEADERS, new HashMap<>(in.getHeaders()));
    }

    @Override
    @SuppressWarnings("unchecked")
    public void process(Exchange exchange) {
        Object body = exchange.getProperty(BODY);
        if (body == null) {
            return;
        }
        Message in = exchange.getMessage();
        in.setBody(body);
        in.getHeaders().clear();
        in.getHeaders().putAll((Map<String, Object>) exchange.getProperty(HEADERS, Map.class));
    }
}
