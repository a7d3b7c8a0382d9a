package org.cmm.eventbroker.engagement;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import org.apache.camel.CamelContext;
import org.apache.camel.CamelContextAware;
import org.apache.camel.support.service.ServiceSupport;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.WakeupException;
import org.cmm.eventbroker.platform.kafka.CompactedTopic;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.cmm.eventbroker.platform.kafka.TopicsToEnd;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The registered push devices, by id and by recipient. The compacted topic (key = device id, value = the
 * registration's JSON, a tombstone once removed) is the record of truth: created compacted when absent, read to its
 * end at start, then followed, so registrations made on another instance arrive here too. A registration is answered
 * only after Kafka acknowledged its write. Logs carry device ids and platforms, never tokens or recipients.
 */
public class DeviceRegistry extends ServiceSupport implements CamelContextAware {

    private static final Logger LOG = LoggerFactory.getLogger(DeviceRegistry.class);

    private CamelContext camelContext;
    private String topic;
    private long loadTimeoutMs = 60_000;
    private int maxDevicesPerRecipient = 10;
    /** Guarded by itself. */
    private final Map<String, DeviceRegistration> byId = new HashMap<>();
    private KafkaProducer<String, byte[]> producer;
    private KafkaConsumer<String, byte[]> follower;
    private Thread followerThread;
    private volatile boolean running;

    @Override
    public void setCamelContext(CamelContext camelContext) {
        this.camelContext = camelContext;
    }

    @Override
    public CamelContext getCamelContext() {
        return camelContext;
    }

    /** The compacted registrations topic (cmm.engagement.devices.topic). */
    public void setTopic(String topic) {
        this.topic = topic;
    }

    public void setLoadTimeoutMs(long loadTimeoutMs) {
        this.loadTimeoutMs = loadTimeoutMs;
    }

    /** Devices one recipient may have; a registration beyond it is refused (400). */
    public void setMaxDevicesPerRecipient(int maxDevicesPerRecipient) {
        this.maxDevicesPerRecipient = maxDevicesPerRecipient;
    }

    public int getMaxDevicesPerRecipient() {
        return maxDevicesPerRecipient;
    }

    @Override
    protected void doStart() throws Exception {
        if (topic == null || topic.isBlank()) {
            throw new IllegalArgumentException("DeviceRegistry needs a topic (cmm.engagement.devices.topic)");
        }
        KafkaClients kafka = KafkaClients.of(camelContext);
        CompactedTopic.ensure(kafka, topic, 0);
        follower = kafka.consumer("push-device-registry", null, Map.of(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false"));
        TopicsToEnd.read(follower, List.of(topic), 0, Duration.ofMillis(loadTimeoutMs), this::apply);
        producer = kafka.producer("push-device-registry", Map.of());
        int loaded;
        synchronized (byId) {
            loaded = byId.size();
        }
        LOG.info("{} push devices loaded from {}", loaded, topic);
        running = true;
        followerThread = new Thread(this::follow, "push-device-registry-follower");
        followerThread.setDaemon(true);
        followerThread.start();
    }

    @Override
    protected void doStop() throws Exception {
        running = false;
        if (follower != null) {
            follower.wakeup();
        }
        if (followerThread != null) {
            followerThread.join(10_000);
        }
        if (producer != null) {
            producer.close(Duration.ofSeconds(5));
        }
    }

    private void follow() {
        try {
            while (running) {
                follower.poll(Duration.ofMillis(500)).forEach(this::apply);
            }
        } catch (WakeupException e) {
            // stopping
        } catch (RuntimeException e) {
            LOG.warn("Following {} stopped ({}): registrations of other instances arrive only after a restart", topic,
                    e.getClass().getSimpleName());
        } finally {
            follower.close(Duration.ofSeconds(5));
        }
    }

    private void apply(ConsumerRecord<String, byte[]> r) {
        if (r.key() == null) {
            return;
        }
        DeviceRegistration registration = r.value() == null ? null : DeviceRegistration.fromJson(r.value());
        synchronized (byId) {
            if (registration == null) {
                byId.remove(r.key());
            } else {
                byId.put(r.key(), registration);
            }
        }
    }

    /** Stores the registration (replacing the one of the same device); returns once Kafka acknowledged it. */
    public void register(DeviceRegistration registration) throws Exception {
        producer.send(new ProducerRecord<>(topic, registration.id(), registration.toJson())).get(30, TimeUnit.SECONDS);
        synchronized (byId) {
            byId.put(registration.id(), registration);
        }
        LOG.info("Push device {} ({}) registered", registration.id(), registration.platform().wireName());
    }

    /** Removes the device (a tombstone on the topic); false when it was not registered. */
    public boolean remove(String deviceId, String reason) throws Exception {
        boolean known;
        synchronized (byId) {
            known = byId.containsKey(deviceId);
        }
        if (!known) {
            return false;
        }
        producer.send(new ProducerRecord<>(topic, deviceId, null)).get(30, TimeUnit.SECONDS);
        synchronized (byId) {
            byId.remove(deviceId);
        }
        LOG.info("Push device {} removed: {}", deviceId, reason);
        return true;
    }

    public Optional<DeviceRegistration> find(String deviceId) {
        synchronized (byId) {
            return Optional.ofNullable(byId.get(deviceId));
        }
    }

    /** The recipient's devices; only those registered for exactly this recipient. */
    public List<DeviceRegistration> devicesOf(Recipient recipient) {
        List<DeviceRegistration> devices = new ArrayList<>();
        synchronized (byId) {
            for (DeviceRegistration d : byId.values()) {
                if (d.recipient().equals(recipient)) {
                    devices.add(d);
                }
            }
        }
        return devices;
    }
}
