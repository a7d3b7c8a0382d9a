package org.cmm.eventbroker.platform.mqtt;

/** Headers the {@code mqtt-listener} consumer sets (the names camel-paho-mqtt5 uses, so processors need not care). */
public final class MqttListenerHeaders {

    /** The topic the message was published on. */
    public static final String TOPIC = "CamelMqttTopic";
    /** The QoS it was delivered with. */
    public static final String QOS = "CamelMqttQoS";
    /** True when the MQTT broker sends it again (DUP flag): it may already have been processed once. */
    public static final String DUPLICATE = "CamelMqttDuplicate";

    private MqttListenerHeaders() {
    }
}
