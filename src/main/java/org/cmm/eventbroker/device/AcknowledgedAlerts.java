package org.cmm.eventbroker.device;

import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

import org.apache.camel.CamelContext;
import org.apache.camel.CamelContextAware;
import org.apache.camel.support.service.ServiceSupport;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.cmm.eventbroker.platform.kafka.CompactedTopic;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.cmm.eventbroker.platform.kafka.TopicsToEnd;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The alerts someone acknowledged, so the Alert System stops escalating them. The compacted topic
 * {@code device.alerts.acknowledgements} (key = alert id) is the record of truth: it is created compacted when
 * absent, read to its end at start (so acknowledgements survive restarts), and the alert-processing route, which
 * consumes it, adds every new acknowledgement with {@link #record}.
 */
public class AcknowledgedAlerts extends ServiceSupport implements CamelContextAware {

    private static final Logger LOG = LoggerFactory.getLogger(AcknowledgedAlerts.class);

    private CamelContext camelContext;
    private String topic;
    private int maxEntries = 1_000_000;
    private long loadTimeoutMs = 60_000;
    /** Alert ids, oldest first. Guarded by itself. */
    private final LinkedHashSet<String> acknowledged = new LinkedHashSet<>();

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

    /** A bound on memory: beyond this many acknowledged alerts the oldest are forgotten. */
    public void setMaxEntries(int maxEntries) {
        this.maxEntries = maxEntries;
    }

    public void setLoadTimeoutMs(long loadTimeoutMs) {
        this.loadTimeoutMs = loadTimeoutMs;
    }

    @Override
    protected void doStart() throws Exception {
        if (topic == null || topic.isBlank()) {
            throw new IllegalArgumentException("AcknowledgedAlerts needs a topic (cmm.device.alerts.acknowledgement-topic)");
        }
        if (camelContext == null) {
            throw new IllegalStateException("AcknowledgedAlerts needs the CamelContext (a bean of the registry)");
        }
        KafkaClients kafka = KafkaClients.of(camelContext);
        CompactedTopic.ensure(kafka, topic, 0);
        int[] loaded = {0};
        try (KafkaConsumer<String, byte[]> consumer = kafka.consumer("alert-acknowledgements-loader", null,
                Map.of(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false"))) {
            TopicsToEnd.read(consumer, List.of(topic), 0, Duration.ofMillis(loadTimeoutMs), r -> {
                if (r.key() == null) {
                    return;
                }
                if (r.value() == null) {
                    forget(r.key());
                } else {
                    record(r.key());
                    loaded[0]++;
                }
            });
        }
        LOG.info("{} alert acknowledgements loaded from {}", loaded[0], topic);
    }

    @Override
    protected void doStop() {
        // the topic is the memory; nothing to write
    }

    public void record(String alertId) {
        synchronized (acknowledged) {
            acknowledged.add(alertId);
            Iterator<String> oldest = acknowledged.iterator();
            while (acknowledged.size() > maxEntries && oldest.hasNext()) {
                oldest.next();
                oldest.remove();
            }
        }
    }

    public void forget(String alertId) {
        synchronized (acknowledged) {
            acknowledged.remove(alertId);
        }
    }

    public boolean isAcknowledged(String alertId) {
        synchronized (acknowledged) {
            return acknowledged.contains(alertId);
        }
    }
}
