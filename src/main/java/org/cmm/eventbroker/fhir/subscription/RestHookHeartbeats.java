package org.cmm.eventbroker.fhir.subscription;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.component.kafka.KafkaConstants;
import org.apache.camel.support.service.ServiceSupport;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.cmm.eventbroker.fhir.FhirEventHeaders;
import org.cmm.eventbroker.fhir.FhirR4;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.hl7.fhir.r4.model.Subscription;

/**
 * Decides when an active rest-hook Subscription with a {@code backport-heartbeat-period} is due a heartbeat: when
 * nothing was queued for it on {@code fhir.subscription.rest-hook} for a whole period. It follows that topic itself
 * (no consumer group, from its end at start), so it sees what the matcher and the other instances queued, and runs
 * in a process of its own on Camel K as well as next to the delivery.
 *
 * <p>Known limits, kept on purpose for simplicity: at start every subscription counts as just served (the first
 * heartbeat comes one period later); while an endpoint is down one heartbeat per period queues up behind the waiting
 * notifications (delivered when it is back); several instances whose checks run at the same moment may each queue
 * one (enable the heartbeat route on one instance to avoid that: cmm.fhir.subscription.heartbeat.enabled).
 * Used by the timer route only (one thread). Logs nothing about notifications' content.
 */
public class RestHookHeartbeats extends ServiceSupport {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String CHANNEL = "rest-hook";

    private final Map<String, Long> lastQueued = new ConcurrentHashMap<>();
    private final Clock clock;
    private long startedAt;
    private String registryBean = "subscriptionRegistry";
    /** The rest-hook notification topic, set by the route from cmm.fhir.subscription.topic-prefix; required. */
    private String topic;
    private KafkaConsumer<String, byte[]> follower;
    private final Set<TopicPartition> assigned = new HashSet<>();
    private boolean registered;

    public RestHookHeartbeats() {
        this(Clock.systemUTC());
    }

    RestHookHeartbeats(Clock clock) {
        this.clock = clock;
        this.startedAt = clock.millis();
    }

    /** Name of the {@link SubscriptionRegistry} bean (looked up at the first check, so bean files load in any order). */
    public void setRegistryBean(String registryBean) {
        this.registryBean = registryBean;
    }

    public void setTopic(String topic) {
        this.topic = topic;
    }

    /** The heartbeat notifications due now (one per subscription at most), as records for fhir.subscription.rest-hook. */
    public List<SubscriptionNotification> due(Exchange exchange) throws Exception {
        if (!registered) {
            // stopped (its follower closed) with the CamelContext
            exchange.getContext().addService(this, true, true);
            registered = true;
        }
        SubscriptionRegistry registry = exchange.getContext().getRegistry()
                .lookupByNameAndType(registryBean, SubscriptionRegistry.class);
        if (registry == null) {
            throw new IllegalStateException("restHookHeartbeats needs the bean " + registryBean);
        }
        follow(exchange.getContext());
        long now = clock.millis();
        List<SubscriptionNotification> due = new ArrayList<>();
        for (Subscription s : registry.active()) {
            if (s.getChannel().getType() != Subscription.SubscriptionChannelType.RESTHOOK) {
                continue;
            }
            Long period = BackportSubscription.heartbeatPeriodSeconds(s);
            if (period == null) {
                continue;
            }
            String id = SubscriptionRegistry.keyOf(s);
            if (now - lastQueued.getOrDefault(id, startedAt) < period * 1000) {
                continue;
            }
            JsonNode subscription = JSON.readTree(FhirR4.context().newJsonParser().encodeResourceToString(s));
            due.add(new SubscriptionNotification(SubscriptionNotification.HEARTBEAT, id, subscription, null, null, null,
                    null, null));
        }
        return due;
    }

    /** Makes the body (a heartbeat from {@link #due}) the record as docs/fhir/events-and-subscriptions.md describes. */
    public void toRecord(Exchange exchange) {
        SubscriptionNotification n = exchange.getMessage().getBody(SubscriptionNotification.class);
        Message m = exchange.getMessage();
        m.setHeader(KafkaConstants.KEY, n.subscriptionId());
        m.setHeader(FhirEventHeaders.SUBSCRIPTION_ID, n.subscriptionId());
        m.setHeader(FhirEventHeaders.NOTIFICATION_TYPE, n.type());
        m.setHeader(FhirEventHeaders.CHANNEL_TYPE, CHANNEL);
        m.setHeader("ce_id", UUID.randomUUID().toString());
        m.setBody(n.toJson());
    }

    /** The heartbeat record of the exchange was acknowledged by Kafka (counted before the follower sees it). */
    public void queued(Exchange exchange) {
        String id = exchange.getMessage().getHeader(FhirEventHeaders.SUBSCRIPTION_ID, String.class);
        lastQueued.merge(id, clock.millis(), Math::max);
    }

    /** Reads what was queued on the topic since the last check; partitions are (re)assigned as the topic grows. */
    private void follow(CamelContext context) {
        boolean first = follower == null;
        if (first) {
            org.apache.camel.util.ObjectHelper.notNull(topic, "topic (the rest-hook notification topic)");
            follower = KafkaClients.of(context).consumer("rest-hook-heartbeats", null,
                    Map.of(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false"));
            startedAt = clock.millis();
        }
        List<PartitionInfo> infos = follower.listTopics(Duration.ofSeconds(5)).get(topic);
        if (infos != null && infos.size() != assigned.size()) {
            Set<TopicPartition> added = new HashSet<>();
            for (PartitionInfo info : infos) {
                TopicPartition tp = new TopicPartition(topic, info.partition());
                if (assigned.add(tp)) {
                    added.add(tp);
                }
            }
            follower.assign(assigned);
            if (first) {
                // what was queued before this start is not looked at: every subscription counts as just served
                follower.seekToEnd(added);
            } else {
                follower.seekToBeginning(added);
            }
        }
        if (assigned.isEmpty()) {
            return;
        }
        ConsumerRecords<String, byte[]> records;
        do {
            records = follower.poll(Duration.ofMillis(50));
            for (ConsumerRecord<String, byte[]> r : records) {
                if (r.key() != null && isRestHook(r)) {
                    lastQueued.merge(r.key(), r.timestamp(), Math::max);
                }
            }
        } while (!records.isEmpty());
    }

    private static boolean isRestHook(ConsumerRecord<String, byte[]> r) {
        Header channel = r.headers().lastHeader(FhirEventHeaders.CHANNEL_TYPE);
        return channel == null || CHANNEL.equals(new String(channel.value(), StandardCharsets.UTF_8));
    }

    @Override
    protected void doStop() {
        if (follower != null) {
            follower.close(Duration.ofSeconds(5));
            follower = null;
            assigned.clear();
        }
    }
}
