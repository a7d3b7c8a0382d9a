package org.cmm.eventbroker.platform.kafka;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.apache.camel.CamelContext;
import org.apache.camel.CamelContextAware;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates a topic whose records must never expire — a dead-letter topic — when it does not exist yet.
 *
 * <p>A topic that Kafka creates on first write gets the broker's default retention (7 days): dead letters nobody
 * looked at within a week would be deleted, which is a loss. An existing topic is left as its owners configured it.
 * Used as a step before the first write (it checks once per run), so a Kafka that is down at start-up does not stop
 * the runtime from starting: the write fails then anyway, and the sender is answered AE.
 */
public class KeptForeverTopic implements Processor, CamelContextAware {

    private static final Logger LOG = LoggerFactory.getLogger(KeptForeverTopic.class);

    private CamelContext camelContext;
    private String topic;
    private volatile boolean ensured;

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

    @Override
    public void process(Exchange exchange) throws Exception {
        if (!ensured) {
            if (camelContext == null) {
                camelContext = exchange.getContext();
            }
            ensure();
        }
    }

    /** Creates the topic (retention unlimited, broker's partitions and replication) unless it exists. */
    public synchronized void ensure() throws Exception {
        if (ensured) {
            return;
        }
        if (topic == null || topic.isBlank()) {
            throw new IllegalArgumentException("KeptForeverTopic needs a topic");
        }
        if (camelContext == null) {
            throw new IllegalStateException("KeptForeverTopic " + topic + " needs the CamelContext (a bean of the registry)");
        }
        try (Admin admin = KafkaClients.of(camelContext).admin("kept-forever-topic", Map.of())) {
            if (admin.listTopics().names().get(10, TimeUnit.SECONDS).contains(topic)) {
                ensured = true;
                return;
            }
            NewTopic newTopic = new NewTopic(topic, Optional.empty(), Optional.empty())
                    .configs(Map.of("retention.ms", "-1", "retention.bytes", "-1"));
            try {
                admin.createTopics(List.of(newTopic)).all().get(10, TimeUnit.SECONDS);
                LOG.info("Created topic {} with unlimited retention", topic);
                ensured = true;
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof TopicExistsException)) {
                    throw e;
                }
                ensured = true;
            }
        }
    }
}
