package org.cmm.eventbroker.platform.delivery;

import java.util.Map;

import org.apache.camel.Endpoint;
import org.apache.camel.spi.annotations.Component;
import org.apache.camel.support.DefaultComponent;

/**
 * Consumes Kafka topics for flows that deliver to a peer (orders to the LIS, results to the EHR): per-key order, a
 * record retried with back-off until its route succeeds, offsets committed only past delivered records. The route
 * does the delivery; this consumer decides what happens after it. See {@link KafkaDeliveryConsumer}.
 */
@Component("kafka-delivery")
public class KafkaDeliveryComponent extends DefaultComponent {

    @Override
    protected Endpoint createEndpoint(String uri, String remaining, Map<String, Object> parameters) throws Exception {
        KafkaDeliveryEndpoint endpoint = new KafkaDeliveryEndpoint(uri, this);
        if (remaining != null && !remaining.isEmpty()) {
            endpoint.setGroupId(remaining);
        }
        setProperties(endpoint, parameters);
        return endpoint;
    }
}
