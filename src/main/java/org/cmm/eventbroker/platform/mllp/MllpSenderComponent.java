package org.cmm.eventbroker.platform.mllp;

import java.util.Map;

import org.apache.camel.Endpoint;
import org.apache.camel.spi.annotations.Component;
import org.apache.camel.support.DefaultComponent;

/**
 * Sends HL7 v2 over MLLP and waits for the peer's ACK, failing unless the ACK accepts exactly the message sent. The
 * outbound flows (orders to the LIS and the pharmacy, results and dispensing to the EHR) commit a Kafka offset only
 * when this producer returned normally.
 */
@Component("mllp-sender")
public class MllpSenderComponent extends DefaultComponent {

    @Override
    protected Endpoint createEndpoint(String uri, String remaining, Map<String, Object> parameters) throws Exception {
        MllpSenderEndpoint endpoint = new MllpSenderEndpoint(uri, this);
        if (remaining != null && !remaining.isEmpty()) {
            int colon = remaining.lastIndexOf(':');
            if (colon > 0) {
                endpoint.setHost(remaining.substring(0, colon));
                endpoint.setPort(Integer.parseInt(remaining.substring(colon + 1)));
            } else {
                endpoint.setHost(remaining);
            }
        }
        setProperties(endpoint, parameters);
        return endpoint;
    }
}
