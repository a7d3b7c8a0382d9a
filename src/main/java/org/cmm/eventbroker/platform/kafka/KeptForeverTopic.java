package org.cmm.eventbroker.platform.kafka;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
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
public class KeptForeverTopic implements Processor {

    private static final Logger LOG = LoggerFactory.getLogger(KeptForeverTopic.class);

    private String bootstrapServers;
    private String topic;
    private volatile boolean ensured;

    public void setBootstrapServers(String bootstrapServers) {
        this.bootstrapServers = bootstrapServers;
    }

    public void setTopic(String topic) {
        this.topic = topic;
    }

    @Override
    public void process(Exchange exchange) throws Exception {
        if (!ensured) {
            if (bootstrapServers == null || bootstrapServers.isBlank()) {
                // not set on the bean: the Camel Kafka component's brokers (camel.component.kafka.brokers)
                bootstrapServers = KafkaClients.of(exchange.getContext()).bootstrapServers();
            }
            ensure();
        }
    }

    /** Creates the topic (retention unlimited, broker's partitions and replication) unless it exists. */
    public synchronized void ensure() throws Exception {
        if (ensured) {
            return;
        }
        if (bootstrapServers == null || bootstrapServers.isBlank() || topic == null || topic.isBlank()) {
            throw new IllegalArgumentException("KeptForeverTopic needs bootstrapServers and topic");
        }
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        try (Admin admin = Admin.create(p)) {
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
