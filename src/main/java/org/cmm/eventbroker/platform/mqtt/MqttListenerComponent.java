package org.cmm.eventbroker.platform.mqtt;

import java.util.Map;

import org.apache.camel.Endpoint;
import org.apache.camel.support.DefaultComponent;

/**
 * {@code mqtt-listener:<topic filter>} — an MQTT 5 subscription that loses no QoS 1 message across restarts.
 *
 * <p>It replaces camel-paho-mqtt5's consumer, which in 4.17 connects its client before it sets the callback: on a
 * resumed persistent session the MQTT broker sends the queued messages at once, Paho finds no callback and drops
 * them without acknowledging, and they stay stuck in the session until a later reconnect. This consumer sets the
 * callback first, acknowledges each message only when its exchange completed, and reconnects (with back-off) when an
 * exchange failed, so the MQTT broker sends what was not acknowledged again.
 */
public class MqttListenerComponent extends DefaultComponent {

    @Override
    protected Endpoint createEndpoint(String uri, String remaining, Map<String, Object> parameters) throws Exception {
        if (remaining == null || remaining.isBlank()) {
            throw new IllegalArgumentException("mqtt-listener needs a topic filter, e.g. mqtt-listener:devices/+/+/+");
        }
        MqttListenerEndpoint endpoint = new MqttListenerEndpoint(uri, this, remaining);
        setProperties(endpoint, parameters);
        return endpoint;
    }
}
