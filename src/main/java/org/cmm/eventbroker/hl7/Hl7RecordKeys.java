package org.cmm.eventbroker.hl7;

import java.util.regex.Pattern;

import org.apache.camel.CamelContext;
import org.apache.camel.CamelContextAware;
import org.apache.camel.Exchange;
import org.apache.camel.support.DefaultExchange;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.cmm.eventbroker.platform.kafka.RecordKeys;

/**
 * The HL7 inbound flow's de-duplication key, found again in a record on {@code <prefix>.<type>.<event>}: the record
 * holds the bytes received, so the same inspector gives the same key it gave when the message arrived. Lets the
 * resend memory rebuild, at start, the keys of messages published just before a crash (exactly once across crashes).
 */
public class Hl7RecordKeys implements RecordKeys, CamelContextAware {

    private CamelContext camelContext;
    private Hl7MessageInspector inspector;
    private Pattern topics;

    @Override
    public void setCamelContext(CamelContext camelContext) {
        this.camelContext = camelContext;
    }

    @Override
    public CamelContext getCamelContext() {
        return camelContext;
    }

    /** The inspector of the flow (same charset and settings, hence the same keys). */
    public void setInspector(Hl7MessageInspector inspector) {
        this.inspector = inspector;
    }

    /** The flow's topic prefix: data topics are {@code <prefix>.<type>.<event>} (not the dead-letter topic). */
    public void setTopicPrefix(String topicPrefix) {
        this.topics = Pattern.compile(Pattern.quote(topicPrefix + ".") + "[A-Za-z0-9]+\\.[A-Za-z0-9]+");
    }

    @Override
    public boolean covers(String topic) {
        return topics != null && topics.matcher(topic).matches();
    }

    @Override
    public String keyOf(ConsumerRecord<String, byte[]> record) {
        if (record.value() == null || inspector == null) {
            return null;
        }
        Exchange exchange = new DefaultExchange(camelContext);
        exchange.getMessage().setBody(record.value());
        try {
            inspector.process(exchange);
        } catch (Hl7RejectedException | RuntimeException notAMessageOfThisFlow) {
            return null;
        }
        return exchange.getMessage().getHeader(Hl7Headers.DEDUPLICATION_KEY, String.class);
    }
}
