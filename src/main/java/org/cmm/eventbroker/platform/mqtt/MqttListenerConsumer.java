package org.cmm.eventbroker.platform.mqtt;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
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
 * <p>Concurrency without losing order: the Paho callback thread only queues a message; {@code consumerThreads}
 * workers run the route. Messages of one MQTT topic (one device's data type) run one at a time in arrival order, the
 * next only once the previous exchange completed, so with an asynchronous Kafka send many devices are in flight at
 * once while each device's readings reach Kafka in publish order. Acknowledgements go out in arrival order (MQTT
 * 4.6: PUBACK in the order the PUBLISHes were received): a completed message is acknowledged once every message
 * received before it on this connection is. After the first failure on a connection nothing later on it is processed
 * or acknowledged; the reconnect makes the MQTT broker resend all of it, in its original order, so a device's later
 * reading can never overtake the failed one. Memory is bounded: at most {@code receiveMaximum} messages are held
 * (the MQTT broker sends no more unacknowledged ones; should it, the callback thread waits).
 *
 * <p>Order of start matters: callback and manual acknowledgement are in place before {@code connect}, because the
 * MQTT broker starts sending what it queued for a resumed session as soon as it has sent CONNACK; and the first
 * connect waits until the initial start-up of routes is over, so the routes this one sends to are running. A broker
 * that cannot be reached is retried with back-off (the route itself is started, its connection state in the log).
 * Logs name the client, topics and message ids, never a payload.
 */
public class MqttListenerConsumer extends DefaultConsumer implements MqttCallback {

    private static final Logger LOG = LoggerFactory.getLogger(MqttListenerConsumer.class);

    /** A message received on one connection (generation), from arrival to its acknowledgement or abandonment. */
    private static final class Received {
        final String topic;
        final MqttMessage message;
        final long generation;
        /** Guarded by the consumer's lock: 0 pending, 1 completed, -1 failed or abandoned. */
        int outcome;

        Received(String topic, MqttMessage message, long generation) {
            this.topic = topic;
            this.message = message;
            this.generation = generation;
        }
    }

    private final MqttListenerEndpoint endpoint;
    private final AtomicBoolean reconnectPending = new AtomicBoolean();
    private final AtomicLong inflight = new AtomicLong();
    private final Object inflightDone = new Object();
    /** Guards generation, failedGeneration, unacknowledged, waitingByTopic, and acknowledgements sent. */
    private final Object lock = new Object();
    /** One per connection: a message is acknowledged only on the connection that delivered it. */
    private long generation;
    /** The connection on which an exchange failed: nothing more of it is processed or acknowledged. */
    private long failedGeneration = -1;
    /** QoS 1/2 messages of the current connection not yet acknowledged, in arrival order. */
    private final ArrayDeque<Received> unacknowledged = new ArrayDeque<>();
    /** Per topic with a message in the route: the messages that arrived behind it, in order. */
    private final Map<String, ArrayDeque<Received>> waitingByTopic = new HashMap<>();
    /** Messages whose topic has nothing in the route, for the workers. */
    private final BlockingQueue<Received> ready = new LinkedBlockingQueue<>();
    private Semaphore capacity;
    private volatile MqttClient client;
    private volatile boolean running;
    private volatile long nextDelayMs;
    private ScheduledExecutorService scheduler;
    private ExecutorService workers;

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
        capacity = new Semaphore(Math.max(1, endpoint.getReceiveMaximum()));
        scheduler = getEndpoint().getCamelContext().getExecutorServiceManager()
                .newSingleThreadScheduledExecutor(this, "mqtt-listener-" + endpoint.getClientId());
        running = true;
        int threads = endpoint.getConsumerThreads();
        workers = getEndpoint().getCamelContext().getExecutorServiceManager()
                .newFixedThreadPool(this, "mqtt-listener-" + endpoint.getClientId() + "-worker", threads);
        for (int i = 0; i < threads; i++) {
            workers.execute(this::work);
        }
        // Inbound QoS 1 needs no client-side store: what we have not acknowledged, the MQTT broker keeps.
        client = new MqttClient(endpoint.getBrokerUrl(), endpoint.getClientId(), new MemoryPersistence());
        client.setManualAcks(true);
        client.setCallback(this);
        // connect, subscribe and disconnect give up after the connection timeout instead of waiting forever
        client.setTimeToWait(TimeUnit.SECONDS.toMillis(endpoint.getConnectionTimeout()));
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
        newSession();
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

    /** A new connection: what the previous one delivered and we did not acknowledge, the MQTT broker sends again. */
    private void newSession() {
        synchronized (lock) {
            failedGeneration = generation;
            generation++;
            unacknowledged.clear();
        }
    }

    private boolean currentSessionAbandoned() {
        synchronized (lock) {
            return generation == failedGeneration;
        }
    }

    /** Stops processing and acknowledging what the current connection delivered (its session is to be resumed). */
    private void abandonCurrentSession() {
        synchronized (lock) {
            failedGeneration = generation;
        }
    }

    @Override
    public void messageArrived(String topic, MqttMessage message) {
        if (!running) {
            return; // not acknowledged: the MQTT broker sends it again to the next session
        }
        // Waits only when more than receiveMaximum messages are held (a resumed session's resends while the previous
        // connection's messages still finish). Never waits for a connection being abandoned: Paho's disconnect waits
        // for this thread, and what it delivers now would be dropped anyway.
        try {
            while (!capacity.tryAcquire(100, TimeUnit.MILLISECONDS)) {
                if (!running || currentSessionAbandoned()) {
                    return; // not acknowledged: the MQTT broker sends it again to the next session
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return; // stopping; not acknowledged
        }
        synchronized (lock) {
            if (!running) {
                capacity.release();
                return;
            }
            inflight.incrementAndGet();
            Received received = new Received(topic, message, generation);
            if (message.getQos() > 0) {
                unacknowledged.add(received);
            }
            ArrayDeque<Received> behind = waitingByTopic.get(topic);
            if (behind != null) {
                behind.add(received); // runs when the one before it on this topic completed
            } else {
                waitingByTopic.put(topic, new ArrayDeque<>());
                ready.add(received);
            }
        }
    }

    private void work() {
        while (running) {
            Received received;
            try {
                received = ready.poll(100, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                return;
            }
            if (received != null) {
                run(received);
            }
        }
    }

    private void run(Received received) {
        boolean stale;
        synchronized (lock) {
            stale = received.generation != generation || generation == failedGeneration;
        }
        if (!running || stale) {
            finish(received, false); // the MQTT broker sends it again on the next session, in order
            return;
        }
        MqttMessage message = received.message;
        Exchange exchange = createExchange(true);
        Message in = exchange.getIn();
        in.setBody(message.getPayload());
        in.setHeader(MqttListenerHeaders.TOPIC, received.topic);
        in.setHeader(MqttListenerHeaders.QOS, message.getQos());
        in.setHeader(MqttListenerHeaders.DUPLICATE, message.isDuplicate());
        try {
            getAsyncProcessor().process(exchange, doneSync -> completed(received, exchange));
        } catch (RuntimeException e) {
            exchange.setException(e);
            completed(received, exchange);
        }
    }

    private void completed(Received received, Exchange exchange) {
        try {
            Exception failure = exchange.getException();
            if (failure != null) {
                boolean current;
                synchronized (lock) {
                    current = received.generation == generation;
                    if (current) {
                        failedGeneration = generation;
                    }
                }
                if (current) {
                    scheduleReconnect("message " + received.message.getId() + " on " + received.topic + " failed ("
                            + failure.getClass().getSimpleName() + "), not acknowledged");
                } else {
                    LOG.debug("mqtt-listener {}: message {} of an earlier session failed; already sent again",
                            endpoint.getClientId(), received.message.getId());
                }
            }
            finish(received, failure == null);
        } finally {
            releaseExchange(exchange, false);
        }
    }

    /**
     * Records the outcome, sends the acknowledgements that are now due in arrival order, and hands the topic's next
     * message to the workers (or, when stopping, leaves it and those behind it unacknowledged).
     */
    private void finish(Received received, boolean succeeded) {
        int released = 1;
        synchronized (lock) {
            received.outcome = succeeded ? 1 : -1;
            if (received.generation == generation) {
                acknowledgeDue();
            }
            ArrayDeque<Received> behind = waitingByTopic.get(received.topic);
            Received next = behind == null ? null : behind.poll();
            if (!running) {
                while (next != null) { // nobody will run them: the MQTT broker sends them again
                    next.outcome = -1;
                    released++;
                    next = behind.poll();
                }
            }
            if (next != null) {
                ready.add(next);
            } else {
                waitingByTopic.remove(received.topic);
            }
        }
        capacity.release(released);
        if (inflight.addAndGet(-released) == 0) {
            synchronized (inflightDone) {
                inflightDone.notifyAll();
            }
        }
    }

    /** Caller holds the lock. Acknowledges completed messages from the oldest on; stops at one not completed. */
    private void acknowledgeDue() {
        Received head;
        while ((head = unacknowledged.peek()) != null && head.outcome == 1) {
            unacknowledged.poll();
            try {
                client.messageArrivedComplete(head.message.getId(), head.message.getQos());
                nextDelayMs = endpoint.getReconnectDelayMs();
            } catch (MqttException e) {
                LOG.debug("mqtt-listener {}: acknowledgement of message {} not sent ({}); the MQTT broker sends it "
                        + "again", endpoint.getClientId(), head.message.getId(), e.getMessage());
            }
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
        abandonCurrentSession();
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
        abandonCurrentSession(); // its acknowledgements cannot be sent any more
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
        synchronized (lock) {
            running = false; // under the lock: messageArrived queues nothing after the drain below
        }
        if (scheduler != null) {
            getEndpoint().getCamelContext().getExecutorServiceManager().shutdownNow(scheduler);
        }
        if (workers != null) {
            getEndpoint().getCamelContext().getExecutorServiceManager().shutdownGraceful(workers, 1000);
        }
        // what no worker took stays unacknowledged (the MQTT broker sends it again)
        for (Received left; (left = ready.poll()) != null; ) {
            finish(left, false);
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
