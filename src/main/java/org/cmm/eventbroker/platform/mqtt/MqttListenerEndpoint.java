package org.cmm.eventbroker.platform.mqtt;

import org.apache.camel.Category;
import org.apache.camel.Consumer;
import org.apache.camel.Processor;
import org.apache.camel.Producer;
import org.apache.camel.spi.UriEndpoint;
import org.apache.camel.support.DefaultEndpoint;

/**
 * One MQTT 5 subscription on a persistent session: fixed client id, clean start off, QoS 1, manual acknowledgements.
 */
@UriEndpoint(scheme = "mqtt-listener", title = "MQTT Listener", syntax = "mqtt-listener:topicFilter",
             consumerOnly = true, category = {Category.MESSAGING, Category.IOT})
public class MqttListenerEndpoint extends DefaultEndpoint {

    private final String topicFilter;
    private String brokerUrl = "tcp://127.0.0.1:1883";
    private String clientId;
    private String userName;
    private String password;
    private int qos = 1;
    private boolean cleanStart;
    private long sessionExpiryInterval = 86_400;
    private int receiveMaximum = 1000;
    private int keepAliveInterval = 30;
    private int connectionTimeout = 10;
    private long reconnectDelayMs = 1000;
    private long maxReconnectDelayMs = 30_000;
    private long shutdownTimeoutMs = 10_000;
    private int consumerThreads = 1;

    public MqttListenerEndpoint(String uri, MqttListenerComponent component, String topicFilter) {
        super(uri, component);
        this.topicFilter = topicFilter;
    }

    @Override
    public Producer createProducer() {
        throw new UnsupportedOperationException("mqtt-listener only receives");
    }

    @Override
    public Consumer createConsumer(Processor processor) throws Exception {
        if (clientId == null || clientId.isBlank()) {
            throw new IllegalArgumentException("mqtt-listener:" + topicFilter + " needs a clientId: the MQTT broker "
                    + "keeps the session, and the messages queued while we are away, under it");
        }
        if (qos < 0 || qos > 2) {
            throw new IllegalArgumentException("qos must be 0, 1 or 2, not " + qos);
        }
        if (consumerThreads < 1) {
            throw new IllegalArgumentException("consumerThreads must be at least 1, not " + consumerThreads);
        }
        MqttListenerConsumer consumer = new MqttListenerConsumer(this, processor);
        configureConsumer(consumer);
        return consumer;
    }

    public String getTopicFilter() {
        return topicFilter;
    }

    public String getBrokerUrl() {
        return brokerUrl;
    }

    /** tcp://host:port or ssl://host:port of the MQTT broker. */
    public void setBrokerUrl(String brokerUrl) {
        this.brokerUrl = brokerUrl;
    }

    public String getClientId() {
        return clientId;
    }

    /** Fixed per runtime instance: the session, and what is queued in it, belongs to this id. */
    public void setClientId(String clientId) {
        this.clientId = clientId;
    }

    public String getUserName() {
        return userName;
    }

    public void setUserName(String userName) {
        this.userName = userName;
    }

    public String getPassword() {
        return password;
    }

    public void setPassword(String password) {
        this.password = password;
    }

    public int getQos() {
        return qos;
    }

    public void setQos(int qos) {
        this.qos = qos;
    }

    public boolean isCleanStart() {
        return cleanStart;
    }

    /** False (the default) resumes the session, so messages published while we were away are delivered. */
    public void setCleanStart(boolean cleanStart) {
        this.cleanStart = cleanStart;
    }

    public long getSessionExpiryInterval() {
        return sessionExpiryInterval;
    }

    /** Seconds the MQTT broker keeps the session after we disconnected. */
    public void setSessionExpiryInterval(long sessionExpiryInterval) {
        this.sessionExpiryInterval = sessionExpiryInterval;
    }

    public int getReceiveMaximum() {
        return receiveMaximum;
    }

    /** Unacknowledged QoS 1/2 messages the MQTT broker may have in flight to us; also the most the consumer holds. */
    public void setReceiveMaximum(int receiveMaximum) {
        this.receiveMaximum = receiveMaximum;
    }

    public int getKeepAliveInterval() {
        return keepAliveInterval;
    }

    /** Seconds. */
    public void setKeepAliveInterval(int keepAliveInterval) {
        this.keepAliveInterval = keepAliveInterval;
    }

    public int getConnectionTimeout() {
        return connectionTimeout;
    }

    /** Seconds to wait for CONNACK. */
    public void setConnectionTimeout(int connectionTimeout) {
        this.connectionTimeout = connectionTimeout;
    }

    public long getReconnectDelayMs() {
        return reconnectDelayMs;
    }

    /** First delay before reconnecting after a lost connection or a failed exchange; doubles up to the maximum. */
    public void setReconnectDelayMs(long reconnectDelayMs) {
        this.reconnectDelayMs = reconnectDelayMs;
    }

    public long getMaxReconnectDelayMs() {
        return maxReconnectDelayMs;
    }

    public void setMaxReconnectDelayMs(long maxReconnectDelayMs) {
        this.maxReconnectDelayMs = maxReconnectDelayMs;
    }

    public long getShutdownTimeoutMs() {
        return shutdownTimeoutMs;
    }

    public int getConsumerThreads() {
        return consumerThreads;
    }

    /**
     * Threads that run the route. Messages of one MQTT topic still run one at a time, in order; with an asynchronous
     * last step (a Kafka send with synchronous false) one thread keeps many topics in flight, more threads spread the
     * route's own work (parsing, checks) over the cores.
     */
    public void setConsumerThreads(int consumerThreads) {
        this.consumerThreads = consumerThreads;
    }

    /** On stop, how long to wait for exchanges in flight to complete (and be acknowledged) before disconnecting. */
    public void setShutdownTimeoutMs(long shutdownTimeoutMs) {
        this.shutdownTimeoutMs = shutdownTimeoutMs;
    }
}
