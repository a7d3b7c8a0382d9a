package org.cmm.eventbroker.platform.security.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.replica.ClientMetadata;
import org.apache.kafka.common.replica.PartitionView;
import org.apache.kafka.common.replica.ReplicaView;
import org.apache.kafka.common.security.auth.KafkaPrincipal;
import org.cmm.eventbroker.platform.security.audit.AuditCloudEvents;
import org.cmm.eventbroker.platform.security.audit.AuditEvent;
import org.cmm.eventbroker.platform.security.audit.AuditSink;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The data-access record of a consumer's fetch, as Kafka asks the replica selector: the first fetch per principal,
 * client, address and partition of a patient topic, with the partition and its log end offset at that time; never a
 * follower chosen; other topics and the audit writer's own reads not recorded.
 */
class DataAccessReplicaSelectorTest {

    private final List<AuditEvent> audited = new CopyOnWriteArrayList<>();
    private final AuditSink sink = audited::add;
    private final DataAccessReplicaSelector selector = new DataAccessReplicaSelector();

    @BeforeEach
    void install() {
        KafkaAudit.install(sink);
        selector.configure(Map.of(RbacAuthorizer.PATIENT_TOPICS, "lab.,hl7."));
    }

    @AfterEach
    void uninstall() {
        KafkaAudit.uninstall(sink);
    }

    private static ClientMetadata client(String user, String clientId) throws Exception {
        return new ClientMetadata.DefaultClientMetadata("", clientId, InetAddress.getByName("127.0.0.1"),
                new KafkaPrincipal(KafkaPrincipal.USER_TYPE, user), "SASL_SSL");
    }

    private static PartitionView leaderAt(long logEndOffset) {
        ReplicaView leader = new ReplicaView.DefaultReplicaView(new Node(1, "127.0.0.1", 9092), logEndOffset, 0);
        return new PartitionView.DefaultPartitionView(Set.of(leader), leader);
    }

    @Test
    void theFirstFetchOfEachPartitionIsRecordedWithItsPartitionAndLogEndOffset() throws Exception {
        TopicPartition p0 = new TopicPartition("lab.results.oru", 0);
        TopicPartition p1 = new TopicPartition("lab.results.oru", 1);
        assertTrue(selector.select(p0, client("reader", "viewer-1"), leaderAt(42)).isEmpty(), "reads stay on the leader");
        selector.select(p0, client("reader", "viewer-1"), leaderAt(43));
        selector.select(p1, client("reader", "viewer-1"), leaderAt(7));
        selector.select(p0, client("other", "viewer-2"), leaderAt(44));
        selector.select(new TopicPartition("security.audit.authentication", 0), client("auditor", "a"), leaderAt(1));
        selector.select(p0, client("broker", "cmm-audit-writer"), leaderAt(45));

        assertEquals(3, audited.size(), audited.toString());
        AuditEvent first = audited.get(0);
        assertEquals(AuditEvent.Kind.DATA_ACCESS, first.kind());
        assertEquals("User:reader", first.principal());
        assertEquals("lab.results.oru", first.resourceName());
        assertEquals(0, first.partition());
        assertEquals(42L, first.logEndOffset());
        assertEquals("viewer-1", first.clientId());
        assertEquals("127.0.0.1", first.clientAddress());
        assertEquals(1, audited.get(1).partition());
        assertEquals("User:other", audited.get(2).principal());

        JsonNode json = new ObjectMapper().readTree(AuditCloudEvents.toJson(first));
        assertEquals(0, json.at("/data/dataAccess/partition").asInt());
        assertEquals(42, json.at("/data/dataAccess/logEndOffsetAtFirstRead").asLong());
        assertEquals("Read", json.at("/data/authorizationInfo/operation").asText());
    }
}
