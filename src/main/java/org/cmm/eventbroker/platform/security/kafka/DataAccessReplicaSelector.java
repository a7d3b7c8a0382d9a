package org.cmm.eventbroker.platform.security.kafka;

import java.net.InetAddress;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.replica.ClientMetadata;
import org.apache.kafka.common.replica.PartitionView;
import org.apache.kafka.common.replica.ReplicaSelector;
import org.apache.kafka.common.replica.ReplicaView;
import org.apache.kafka.common.security.auth.KafkaPrincipal;
import org.cmm.eventbroker.platform.security.audit.AuditEvent;
import org.cmm.eventbroker.platform.security.audit.KafkaAuditWriter;

/**
 * Records which consumer reads which partition of a patient topic, and from when, on
 * {@code security.audit.data-access}: the broker's {@code replica.selector.class}. Kafka (3.9) asks the replica
 * selector about every partition of every consumer fetch (Fetch v11+), with the fetching principal, client id and
 * address, before it reads the log; the authorizer is only told the topic. This selector never chooses a follower
 * (reads stay on the leader, as without a selector) and records the first fetch per principal, client, address and
 * partition (again after an hour of reading): topic, partition, time and the partition's log end offset at that
 * moment; the reader's position was at or before it (Kafka hands the fetch offset to no plug-in). Never a record's
 * contents.
 *
 * <p>Settings (broker configuration): {@value RbacAuthorizer#PATIENT_TOPICS} (the authorizer's patient topic prefixes).
 * With this selector configured the authorizer leaves data-access records to it.
 */
public class DataAccessReplicaSelector implements ReplicaSelector {

    static final long REPEAT_AFTER_MS = 3_600_000;
    private static final int LIMIT = 100_000;

    private record Reader(KafkaPrincipal principal, String clientId, InetAddress address, TopicPartition partition) {
    }

    private final Map<Reader, Long> firstRead = new ConcurrentHashMap<>();
    private List<String> patientTopicPrefixes = List.of();

    @Override
    public void configure(Map<String, ?> configs) {
        Object prefixes = configs.get(RbacAuthorizer.PATIENT_TOPICS);
        patientTopicPrefixes = Arrays.stream((prefixes == null ? RbacAuthorizer.DEFAULT_PATIENT_TOPICS
                : prefixes.toString()).split(",")).map(String::trim).filter(p -> !p.isEmpty()).toList();
    }

    @Override
    public Optional<ReplicaView> select(TopicPartition partition, ClientMetadata client, PartitionView view) {
        try {
            if (isPatientTopic(partition.topic()) && client.principal() != null
                    && (client.clientId() == null || !client.clientId().startsWith(KafkaAuditWriter.CLIENT_ID))) {
                long now = System.currentTimeMillis();
                Reader reader = new Reader(client.principal(), client.clientId(), client.clientAddress(), partition);
                Long seen = firstRead.get(reader);
                if (seen == null || now - seen >= REPEAT_AFTER_MS) {
                    if (firstRead.size() >= LIMIT) {
                        firstRead.clear();
                    }
                    if (seen == null ? firstRead.putIfAbsent(reader, now) == null : firstRead.replace(reader, seen, now)) {
                        record(partition, client, view, now);
                    }
                }
            }
        } catch (RuntimeException e) {
            // auditing must never fail a fetch
        }
        return Optional.empty();
    }

    private static void record(TopicPartition partition, ClientMetadata client, PartitionView view, long now) {
        ReplicaView leader = view == null ? null : view.leader();
        KafkaAudit.sink().record(new AuditEvent(AuditEvent.Kind.DATA_ACCESS, client.principal().toString(),
                KafkaAudit.SOURCE, true, "Read", "Topic", partition.topic(), "LITERAL",
                client.clientAddress() == null ? null : client.clientAddress().getHostAddress(), client.clientId(),
                null, null, Instant.ofEpochMilli(now), partition.partition(),
                leader == null ? null : leader.logEndOffset()));
    }

    private boolean isPatientTopic(String topic) {
        for (String prefix : patientTopicPrefixes) {
            if (topic.startsWith(prefix)) {
                return true;
            }
        }
        return false;
    }
}
