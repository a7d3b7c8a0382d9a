package org.cmm.eventbroker.mqtt;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;
import org.apache.camel.support.DefaultConsumer;
import org.eclipse.paho.mqttv5.client.IMqttToken;
import org.eclipse.paho.mqttv5.client.MqttCallback;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.MqttDisconnectResponse;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.MqttSubscription;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs every message of the subscription through the route and acknowledges it (PUBACK) only when the exchange
 * completed without an exception. An exchange that failed is left unacknowledged and the session is reconnected
 * after a back-off, which is what makes the MQTT broker send it again (MQTT 5 resends unacknowledged messages only
 * when a session is resumed).
 *
 * <p>Order of start matters: callback and manual acknowledgement are in place before {@code connect}, because the
 * MQTT broker starts sending what it queued for a resumed session as soon as it has sent CONNACK; and the first
 * connect waits until the initial start-up of routes is over, so the routes this one sends to are running. A broker
 * that cannot be reached is retried with back-off (the route itself is started, its connection state in the log). Logs name the client, topics and message
 * ids, never a payload.
 */
public class MqttListenerConsumer extends DefaultConsumer implements MqttCallback {

    private static final Logger LOG = LoggerFactory.getLogger(MqttListenerConsumer.class);

    private final MqttListenerEndpoint endpoint;
    private final AtomicBoolean reconnectPending = new AtomicBoolean();
    private final AtomicLong inflight = new AtomicLong();
    private final Object inflightDone = new Object();
    private volatile MqttClient client;
    private volatile boolean running;
    private volatile long nextDelayMs;
    private ScheduledExecutorService scheduler;

    public MqttListenerConsumer(MqttListenerEndpoint endpoint, Processor processor) {
        super(endpoint, processor);
        this.endpoint = endpoint;
    }

    /** Whether the client is connected now (for tests and health). */
    public boolean isConnected() {
        MqttClient c = client;
        return c != null && c.isConnected();
    }

    @Override
    protected void doStart() throws Exception {
        super.doStart();
        nextDelayMs = endpoint.getReconnectDelayMs();
        scheduler = getEndpoint().getCamelContext().getExecutorServiceManager()
                .newSingleThreadScheduledExecutor(this, "mqtt-listener-" + endpoint.getClientId());
        // Inbound QoS 1 needs no client-side store: what we have not acknowledged, the MQTT broker keeps.
        // Inbound QoS 1 needs no client-side store: what we have not acknowledged, the MQTT broker keeps.
        client = new MqttClient(endpoint.getBrokerUrl(), endpoint.getClientId(), new MemoryPersistence());
        client.setManualAcks(true);
        client.setCallback(this);
        running = true;
        // A resumed session delivers at once, so the routes this one sends to (the Kamelet's own route) must be
        // running by then: otherwise the first message waits in the Kamelet producer while this route's start waits
        // for its SUBACK, behind that message. So the first connect waits until the initial route start-up is over.
        scheduler.execute(this::connectWhenRoutesStarted);
    }

    private void connectWhenRoutesStarted() {
        CamelContext context = getEndpoint().getCamelContext();
        if (!running) {
            return;
        }
        if (!context.isStarted() || context.getRouteController().isStartingRoutes()) {
            scheduler.schedule(this::connectWhenRoutesStarted, 50, TimeUnit.MILLISECONDS);
            return;
        }
        connectOrRetry();
    }

    private void connectOrRetry() {
        if (!running) {
            return;
        }
        try {
            connectAndSubscribe();
        } catch (MqttException e) {
            scheduleReconnect("connect to " + endpoint.getBrokerUrl() + " failed (" + e.getMessage() + ")");
        }
    }

    private void connectAndSubscribe() throws MqttException {
        MqttConnectionOptions options = new MqttConnectionOptions();
        options.setCleanStart(endpoint.isCleanStart());
        options.setSessionExpiryInterval(endpoint.getSessionExpiryInterval());
        options.setReceiveMaximum(endpoint.getReceiveMaximum());
        options.setKeepAliveInterval(endpoint.getKeepAliveInterval());
        options.setConnectionTimeout(endpoint.getConnectionTimeout());
        options.setAutomaticReconnect(false); // ours, below, with back-off and after failed exchanges too
        if (endpoint.getUserName() != null && !endpoint.getUserName().isBlank()) {
            options.setUserName(endpoint.getUserName());
        }
        if (endpoint.getPassword() != null && !endpoint.getPassword().isEmpty()) {
            options.setPassword(endpoint.getPassword().getBytes(StandardCharsets.UTF_8));
        }
        IMqttToken connected = client.connectWithResult(options);
        MqttSubscription subscription = new MqttSubscription(endpoint.getTopicFilter(), endpoint.getQos());
        // 1 = retained messages only for a new subscription, not again on every resumed session
        subscription.setRetainHandling(1);
        IMqttToken subscribed = client.subscribe(new MqttSubscription[] {subscription});
        int[] codes = subscribed.getReasonCodes();
        if (codes != null && codes.length > 0 && codes[0] >= 0x80) {
            throw new MqttException(codes[0]);
        }
        if (codes != null && codes.length > 0 && codes[0] < endpoint.getQos()) {
            LOG.warn("mqtt-listener {}: the MQTT broker granted QoS {} on {}, asked for {}", endpoint.getClientId(),
                    codes[0], endpoint.getTopicFilter(), endpoint.getQos());
        }
        LOG.info("mqtt-listener {} subscribed to {} on {} (session {})", endpoint.getClientId(),
                endpoint.getTopicFilter(), endpoint.getBrokerUrl(), connected.getSessionPresent() ? "resumed" : "new");
    }

    @Override
    public void messageArrived(String topic, MqttMessage message) {
        if (!running) {
            return; // not acknowledged: the MQTT broker sends it again to the next session
        }
        inflight.incrementAndGet();
        MqttClient receivedBy = client;
        int id = message.getId();
        int qos = message.getQos();
        Exchange exchange = createExchange(true);
        Message in = exchange.getIn();
        in.setBody(message.getPayload());
        in.setHeader(MqttListenerHeaders.TOPIC, topic);
        in.setHeader(MqttListenerHeaders.QOS, qos);
        in.setHeader(MqttListenerHeaders.DUPLICATE, message.isDuplicate());
        getAsyncProcessor().process(exchange, doneSync -> {
            try {
                if (exchange.getException() == null) {
                    acknowledge(receivedBy, id, qos);
                } else {
                    scheduleReconnect("message " + id + " on " + topic + " failed ("
                            + exchange.getException().getClass().getSimpleName() + "), not acknowledged");
                }
            } finally {
                releaseExchange(exchange, false);
                if (inflight.decrementAndGet() == 0) {
                    synchronized (inflightDone) {
                        inflightDone.notifyAll();
                    }
                }
            }
        });
    }

    private void acknowledge(MqttClient receivedBy, int id, int qos) {
        if (qos == 0) {
            return;
        }
        try {
            // packet ids belong to the session, so an ack after a reconnect still settles the right message
            receivedBy.messageArrivedComplete(id, qos);
            nextDelayMs = endpoint.getReconnectDelayMs();
        } catch (MqttException e) {
            LOG.debug("mqtt-listener {}: acknowledgement of message {} not sent ({}); the MQTT broker sends it again",
                    endpoint.getClientId(), id, e.getMessage());
        }
    }

    /** Reconnects once after the current back-off, however many exchanges fail meanwhile. */
    private void scheduleReconnect(String why) {
        if (!running || !reconnectPending.compareAndSet(false, true)) {
            return;
        }
        long delay = nextDelayMs;
        nextDelayMs = Math.min(delay * 2, endpoint.getMaxReconnectDelayMs());
        LOG.warn("mqtt-listener {}: {}; reconnecting in {} ms so the MQTT broker sends what is unacknowledged again",
                endpoint.getClientId(), why, delay);
        try {
            scheduler.schedule(this::reconnect, delay, TimeUnit.MILLISECONDS);
        } catch (RuntimeException e) {
            reconnectPending.set(false); // stopping
        }
    }

    private void reconnect() {
        reconnectPending.set(false);
        if (!running) {
            return;
        }
        try {
            if (client.isConnected()) {
                client.disconnect(100);
            }
        } catch (MqttException e) {
            LOG.debug("mqtt-listener {}: disconnect before reconnect: {}", endpoint.getClientId(), e.getMessage());
        }
        connectOrRetry();
    }

    @Override
    public void disconnected(MqttDisconnectResponse response) {
        scheduleReconnect("disconnected (" + (response.getException() != null ? response.getException().getMessage()
                : response.getReasonString()) + ")");
    }

    @Override
    public void mqttErrorOccurred(MqttException exception) {
        LOG.warn("mqtt-listener {}: MQTT error {}", endpoint.getClientId(), exception.getMessage());
    }

    @Override
    public void deliveryComplete(IMqttToken token) {
        // we publish nothing
    }

    @Override
    public void connectComplete(boolean reconnect, String serverUri) {
        // subscription done in connectAndSubscribe
    }

    @Override
    public void authPacketArrived(int reasonCode, MqttProperties properties) {
        // no enhanced authentication
    }

    @Override
    protected void doStop() throws Exception {
        running = false;
        if (scheduler != null) {
            getEndpoint().getCamelContext().getExecutorServiceManager().shutdownNow(scheduler);
        }
        // let exchanges in flight finish, so their acknowledgements go out before we disconnect
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(endpoint.getShutdownTimeoutMs());
        synchronized (inflightDone) {
            while (inflight.get() > 0 && System.nanoTime() < deadline) {
                inflightDone.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
            }
        }
        if (inflight.get() > 0) {
            LOG.warn("mqtt-listener {}: stopping with {} messages unacknowledged; the MQTT broker sends them again",
                    endpoint.getClientId(), inflight.get());
        }
        closeClient();
        super.doStop();
    }

    private void closeClient() {
        MqttClient c = client;
        if (c == null) {
            return;
        }
        try {
            if (c.isConnected()) {
                c.disconnect(1000); // no unsubscribe: the session, and what arrives meanwhile, is kept
            }
        } catch (MqttException e) {
            LOG.debug("mqtt-listener {}: disconnect: {}", endpoint.getClientId(), e.getMessage());
        }
        try {
            c.close(true);
        } catch (MqttException e) {
            LOG.debug("mqtt-listener {}: close: {}", endpoint.getClientId(), e.getMessage());
        }
    }
}
