package org.cmm.eventbroker.fhir.subscription;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import ca.uhn.fhir.parser.IParser;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.camel.CamelContext;
import org.apache.camel.CamelContextAware;
import org.apache.camel.support.service.ServiceSupport;
import org.cmm.eventbroker.fhir.FhirEventHeaders;
import org.cmm.eventbroker.fhir.FhirR4;
import org.cmm.eventbroker.platform.kafka.CompactedTopic;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.cmm.eventbroker.platform.kafka.TopicsToEnd;
import org.hl7.fhir.r4.model.Subscription;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The registered FHIR Subscriptions, as the compacted topic {@code fhir.subscriptions} holds them: read from its
 * beginning at start (so an instance knows the whole set before it matches its first change) and followed while the
 * runtime runs, so a subscription registered through another instance is known here within a poll. Writes go to the
 * topic and wait for Kafka's acknowledgement; the writer sees its own write at once.
 *
 * <p>Shared by the registration, matching, delivery and heartbeat routes as the bean {@code subscriptionRegistry}
 * (routes/fhir/fhir-beans.camel.yaml); users call {@link #start()} before their first read (a no-op once started).
 * Logs name subscription ids only.
 */
public class SubscriptionRegistry extends ServiceSupport implements CamelContextAware {

    private static final Logger LOG = LoggerFactory.getLogger(SubscriptionRegistry.class);

    private final Map<String, Subscription> subscriptions = new ConcurrentHashMap<>();
    private CamelContext camelContext;
    /** Set by the route from cmm.fhir.subscription.registry-topic; required. */
    private String topic;
    private long loadTimeoutMs = 60_000;
    private long writeTimeoutMs = 5_000;
    private KafkaProducer<String, byte[]> producer;
    private KafkaConsumer<String, byte[]> follower;
    private Thread followerThread;
    private volatile boolean following;

    @Override
    public void setCamelContext(CamelContext camelContext) {
        this.camelContext = camelContext;
    }

    @Override
    public CamelContext getCamelContext() {
        return camelContext;
    }

    public void setTopic(String topic) {
        this.topic = topic;
    }

    public void setLoadTimeoutMs(long loadTimeoutMs) {
        this.loadTimeoutMs = loadTimeoutMs;
    }

    public void setWriteTimeoutMs(long writeTimeoutMs) {
        this.writeTimeoutMs = writeTimeoutMs;
    }

    /** The subscription registered under {@code Subscription/<id>}, whatever its status. */
    public Optional<Subscription> get(String subscriptionId) {
        start();
        return Optional.ofNullable(subscriptions.get(subscriptionId));
    }

    /** The subscriptions whose status is {@code active}. */
    public List<Subscription> active() {
        start();
        List<Subscription> active = new ArrayList<>();
        for (Subscription s : subscriptions.values()) {
            if (s.getStatus() == Subscription.SubscriptionStatus.ACTIVE) {
                active.add(s);
            }
        }
        return active;
    }

    /** Every registered subscription, whatever its status. */
    public Collection<Subscription> all() {
        start();
        return List.copyOf(subscriptions.values());
    }

    /** Registers (or replaces) the subscription under {@code Subscription/<id>}; returns once Kafka acknowledged it. */
    public void put(Subscription subscription) throws Exception {
        start();
        String key = keyOf(subscription);
        String json = FhirR4.context().newJsonParser().encodeResourceToString(subscription);
        write(key, json.getBytes(StandardCharsets.UTF_8));
        subscriptions.put(key, subscription);
    }

    /** Forgets the subscription (a tombstone on the topic); returns once Kafka acknowledged it. */
    public void remove(String subscriptionId) throws Exception {
        start();
        write(subscriptionId, null);
        subscriptions.remove(subscriptionId);
    }

    /** {@code Subscription/<id>} of a subscription, without version or base URL. */
    public static String keyOf(Subscription subscription) {
        return "Subscription/" + subscription.getIdElement().getIdPart();
    }

    private void write(String key, byte[] value) throws Exception {
        try {
            producer.send(new ProducerRecord<>(topic, key, value)).get(writeTimeoutMs + 1000, TimeUnit.MILLISECONDS);
        } catch (ExecutionException | TimeoutException e) {
            Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
            throw new IllegalStateException(key + " not written to " + topic + ": " + cause.getClass().getSimpleName(), cause);
        }
    }

    @Override
    protected void doStart() throws Exception {
        org.apache.camel.util.ObjectHelper.notNull(topic, "topic (cmm.fhir.subscription.registry-topic)");
        if (camelContext == null) {
            throw new IllegalStateException("subscriptionRegistry needs the CamelContext (a bean of the registry)");
        }
        KafkaClients kafka = KafkaClients.of(camelContext);
        CompactedTopic.ensure(kafka, topic, 1);
        follower = kafka.consumer("subscription-registry-follower", null, Map.of(
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false",
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"));
        TopicsToEnd.read(follower, List.of(topic), 0, Duration.ofMillis(loadTimeoutMs), this::apply);
        LOG.info("Subscriptions: {} loaded from {}", subscriptions.size(), topic);
        producer = kafka.producer("subscription-registry", Map.of(
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true",
                ProducerConfig.LINGER_MS_CONFIG, "0",
                ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, String.valueOf(writeTimeoutMs),
                ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, String.valueOf(Math.max(1000, writeTimeoutMs / 2)),
                ProducerConfig.MAX_BLOCK_MS_CONFIG, String.valueOf(Math.max(1000, writeTimeoutMs / 2))));
        following = true;
        followerThread = new Thread(this::follow, "subscription-registry-follower");
        followerThread.setDaemon(true);
        followerThread.start();
    }

    private void follow() {
        try {
            while (following) {
                follower.poll(Duration.ofMillis(500)).forEach(this::apply);
            }
        } catch (WakeupException stopping) {
            // doStop
        } catch (RuntimeException e) {
            LOG.error("Stopped following {} ({}): subscriptions registered elsewhere are not seen until restart", topic,
                    e.getClass().getSimpleName());
        } finally {
            follower.close(Duration.ofSeconds(5));
        }
    }

    private void apply(ConsumerRecord<String, byte[]> r) {
        if (r.key() == null) {
            return;
        }
        if (r.value() == null) {
            subscriptions.remove(r.key());
            return;
        }
        try {
            IParser parser = FhirR4.context().newJsonParser();
            subscriptions.put(r.key(), parser.parseResource(Subscription.class, new String(r.value(), StandardCharsets.UTF_8)));
        } catch (RuntimeException e) {
            LOG.warn("Skipping an unreadable subscription record {} at {}-{}@{}", r.key(), topic, r.partition(), r.offset());
        }
    }

    @Override
    protected void doStop() {
        following = false;
        if (follower != null) {
            follower.wakeup();
        }
        if (followerThread != null) {
            try {
                followerThread.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            followerThread = null;
        }
        if (producer != null) {
            producer.close(Duration.ofSeconds(10));
            producer = null;
        }
        subscriptions.clear();
    }
}
