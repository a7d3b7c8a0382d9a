package org.cmm.eventbroker.testsupport;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntFunction;

import org.awaitility.Awaitility;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.MqttClientException;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttException;

/**
 * A device gateway for the tests: a real Paho MQTT 5 client publishing QoS 1, one message at a time.
 *
 * <p>Paho 1.2.5 completes a QoS 1 publish token on PUBACK before it lowers its in-flight count
 * (eclipse-paho/paho.mqtt.java#993), so a synchronous publisher can be refused with 32202 "Too many publishes in
 * progress" although it never has more than one message outstanding. A real gateway retries then; so does this one,
 * for at most ten seconds. Any other failure is thrown.
 */
public final class MqttGateway implements AutoCloseable {

    private final MqttClient client;

    public MqttGateway(String brokerUrl, String clientId) throws MqttException {
        client = new MqttClient(brokerUrl, clientId, new MemoryPersistence());
        MqttConnectionOptions options = new MqttConnectionOptions();
        options.setCleanStart(true);
        client.connect(options);
    }

    public void publish(String topic, String payload) throws MqttException {
        byte[] bytes = payload.getBytes(StandardCharsets.UTF_8);
        AtomicReference<MqttException> other = new AtomicReference<>();
        Awaitility.await().atMost(Duration.ofSeconds(10)).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(5))
                .until(() -> {
                    try {
                        client.publish(topic, bytes, 1, false);
                        return true;
                    } catch (MqttException e) {
                        if (e.getReasonCode() == MqttClientException.REASON_CODE_MAX_INFLIGHT) {
                            return false;
                        }
                        other.set(e);
                        return true;
                    }
                });
        if (other.get() != null) {
            throw other.get();
        }
    }

    /**
     * Publishes a probe every two seconds (for at most a minute) until {@code arrived} holds: an MQTT broker queues
     * nothing for a subscription that does not exist yet, and the runtime subscribes a moment after it started.
     *
     * @param probe the payload of the n-th probe (1, 2, ...)
     */
    public void probeUntil(String topic, IntFunction<String> probe, Callable<Boolean> arrived) {
        AtomicInteger attempt = new AtomicInteger();
        Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(2)).until(() -> {
            publish(topic, probe.apply(attempt.incrementAndGet()));
            return arrived.call();
        });
    }

    @Override
    public void close() throws MqttException {
        if (client.isConnected()) {
            client.disconnect();
        }
        client.close();
    }
}
