package org.cmm.eventbroker.platform.kafka;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;

/**
 * Reads topics from an offset up to their end as it is when the read starts, without a consumer group: how the
 * de-duplication store reloads its keys, how dead letters are replayed, and how tests and the benchmark check
 * what is on a topic.
 */
public final class TopicsToEnd {

    private TopicsToEnd() {
    }

    /**
     * @param consumer   a consumer that is not subscribed (its partitions are assigned here)
     * @param topics     the topics to read, all partitions
     * @param fromOffset the offset to start at in every partition; 0 or less means each partition's beginning
     * @param timeout    how long metadata look-ups and the whole read may take
     * @param each       called for every record, in partition order
     * @throws IllegalStateException when the end is not reached within the timeout
     */
    public static <K, V> void read(Consumer<K, V> consumer, Collection<String> topics, long fromOffset, Duration timeout,
                                   java.util.function.Consumer<ConsumerRecord<K, V>> each) {
        List<TopicPartition> partitions = new ArrayList<>();
        for (String topic : topics) {
            for (PartitionInfo info : consumer.partitionsFor(topic, timeout)) {
                partitions.add(new TopicPartition(topic, info.partition()));
            }
        }
        consumer.assign(partitions);
        if (fromOffset <= 0) {
            consumer.seekToBeginning(partitions);
        } else {
            partitions.forEach(p -> consumer.seek(p, fromOffset));
        }
        Map<TopicPartition, Long> end = consumer.endOffsets(partitions, timeout);
        long deadline = System.nanoTime() + timeout.toNanos();
        while (end.entrySet().stream().anyMatch(e -> consumer.position(e.getKey()) < e.getValue())) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("Timed out reading " + topics + " to its end");
            }
            consumer.poll(Duration.ofMillis(200)).forEach(each);
        }
    }
}
