package org.cmm.eventbroker.platform.kafka;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates a compacted topic ({@code cleanup.policy=compact}) unless it exists: the topics that are a state, the last
 * record per key being the truth (CDS state, alert acknowledgements, registered Subscriptions, the FHIR history
 * cursor). A topic Kafka created on first write would be deleted by retention instead. An existing topic is left as
 * its owners configured it.
 */
public final class CompactedTopic {

    private static final Logger LOG = LoggerFactory.getLogger(CompactedTopic.class);

    private CompactedTopic() {
    }

    /**
     * @param partitions the partitions of a new topic; 0 or less takes the broker's default (one partition keeps a
     *                   state read at start in one ordered stream)
     */
    public static void ensure(KafkaClients clients, String topic, int partitions) throws Exception {
        try (Admin admin = clients.admin("compacted-topic-" + topic, Map.of())) {
            if (admin.listTopics().names().get(30, TimeUnit.SECONDS).contains(topic)) {
                return;
            }
            NewTopic newTopic = new NewTopic(topic, partitions > 0 ? Optional.of(partitions) : Optional.empty(),
                    Optional.empty()).configs(Map.of("cleanup.policy", "compact"));
            try {
                admin.createTopics(List.of(newTopic)).all().get(30, TimeUnit.SECONDS);
                LOG.info("Created compacted topic {}", topic);
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof TopicExistsException)) {
                    throw e;
                }
            }
        }
    }
}
