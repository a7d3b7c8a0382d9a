package org.cmm.eventbroker.eventapi;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

/**
 * What the cluster holds, as the event API shows it: the cluster id, the topics (internal ones and those starting
 * with {@code _} hidden) and their partitions, read with one Admin client. Descriptions of existing topics are kept
 * for {@code cacheMs}, so a produce does not pay a metadata round trip each time; a topic that does not exist is
 * asked again every time (it may have just been created).
 */
final class TopicCatalog {

    /** One partition: its id, leader and replicas (broker ids). */
    record PartitionInfo(int id, int leader, List<Integer> replicas, List<Integer> isr) {
    }

    private record Cached(TopicDescription description, long at) {
    }

    private final Admin admin;
    private final long cacheMs;
    private final long timeoutMs;
    private final Map<String, Cached> descriptions = new ConcurrentHashMap<>();
    private volatile String clusterId;

    TopicCatalog(Admin admin, long cacheMs, long timeoutMs) {
        this.admin = admin;
        this.cacheMs = cacheMs;
        this.timeoutMs = timeoutMs;
    }

    /** The Kafka cluster id (blocking; call from a worker). */
    String clusterId() {
        String id = clusterId;
        if (id == null) {
            id = get(admin.describeCluster().clusterId());
            clusterId = id;
        }
        return id;
    }

    /** Visible topic names, sorted (blocking). */
    Set<String> topics() {
        Set<String> names = new TreeSet<>(get(admin.listTopics(new ListTopicsOptions().listInternal(false)).names()));
        names.removeIf(n -> n.startsWith("_") || n.startsWith("__"));
        return names;
    }

    /** The topic's description, or empty when it does not exist (blocking). */
    Optional<TopicDescription> describe(String topic) {
        if (topic == null || topic.isEmpty() || topic.length() > 249 || !topic.matches("[a-zA-Z0-9._-]+")) {
            return Optional.empty();
        }
        Cached cached = descriptions.get(topic);
        long now = System.currentTimeMillis();
        if (cached != null && now - cached.at() < cacheMs) {
            return Optional.of(cached.description());
        }
        try {
            TopicDescription d = admin.describeTopics(List.of(topic)).allTopicNames().get(timeoutMs, TimeUnit.MILLISECONDS)
                    .get(topic);
            descriptions.put(topic, new Cached(d, now));
            return Optional.of(d);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof UnknownTopicOrPartitionException) {
                descriptions.remove(topic);
                return Optional.empty();
            }
            throw new ApiException(503, "Kafka did not answer the topic's description");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ApiException(503, "interrupted");
        } catch (java.util.concurrent.TimeoutException e) {
            throw new ApiException(503, "Kafka did not answer the topic's description in time");
        }
    }

    /** The topic's description, or a 404 in the API's shape. */
    TopicDescription require(String topic) {
        return describe(topic).orElseThrow(() -> ApiException.unknownTopic(topic));
    }

    static List<PartitionInfo> partitions(TopicDescription d) {
        return d.partitions().stream().map(TopicCatalog::partition).toList();
    }

    private static PartitionInfo partition(TopicPartitionInfo p) {
        return new PartitionInfo(p.partition(), p.leader() == null ? -1 : p.leader().id(),
                p.replicas().stream().map(n -> n.id()).toList(), p.isr().stream().map(n -> n.id()).toList());
    }

    private <T> T get(org.apache.kafka.common.KafkaFuture<T> future) {
        try {
            return future.get(timeoutMs, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ApiException(503, "interrupted");
        } catch (Exception e) {
            throw new ApiException(503, "Kafka did not answer in time");
        }
    }
}
