package org.cmm.eventbroker.eventapi;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;

/**
 * The stateless read: from a {@link Position} (or the start or end of the topic), up to {@code max} records and the
 * position after them. No consumer group, no session: any instance answers any cursor, so a load balancer needs no
 * stickiness. Assign-only consumers are pooled ({@code poolSize}), each serving one read at a time.
 */
final class CursorReader implements AutoCloseable {

    /** What a read returns. */
    record Page(List<ConsumerRecord<String, byte[]>> records, Position next) {
    }

    private final Supplier<KafkaConsumer<String, byte[]>> factory;
    private final BlockingQueue<KafkaConsumer<String, byte[]>> idle;
    private final AtomicInteger created = new AtomicInteger();
    private final int poolSize;

    CursorReader(Supplier<KafkaConsumer<String, byte[]>> factory, int poolSize) {
        this.factory = factory;
        this.poolSize = poolSize;
        this.idle = new ArrayBlockingQueue<>(poolSize);
    }

    /** Where a reader without a position starts: every partition's first or next offset. */
    static Map<Integer, Long> startOffsets(org.apache.kafka.clients.consumer.Consumer<String, byte[]> consumer,
            String topic, List<Integer> partitions, boolean earliest) {
        List<TopicPartition> tps = partitions.stream().map(p -> new TopicPartition(topic, p)).toList();
        Map<TopicPartition, Long> offsets = earliest ? consumer.beginningOffsets(tps, Duration.ofSeconds(10))
                : consumer.endOffsets(tps, Duration.ofSeconds(10));
        Map<Integer, Long> result = new HashMap<>();
        offsets.forEach((tp, o) -> result.put(tp.partition(), o));
        return result;
    }

    /** Blocking: reads from the position (partitions it does not name start at {@code earliest} or the end). */
    Page read(String topic, List<Integer> partitions, Position from, boolean earliest, int max, long waitMs,
            String keyFilter) {
        KafkaConsumer<String, byte[]> consumer = borrow();
        boolean healthy = false;
        try {
            Map<Integer, Long> positions = new HashMap<>();
            List<Integer> missing = new ArrayList<>();
            for (int p : partitions) {
                Long o = from == null ? null : from.nextOffsets().get(p);
                if (o == null) {
                    missing.add(p);
                } else {
                    positions.put(p, o);
                }
            }
            if (!missing.isEmpty()) {
                positions.putAll(startOffsets(consumer, topic, missing, earliest));
            }
            List<TopicPartition> tps = partitions.stream().map(p -> new TopicPartition(topic, p)).toList();
            consumer.assign(tps);
            positions.forEach((p, o) -> consumer.seek(new TopicPartition(topic, p), o));
            Map<TopicPartition, Long> ends = consumer.endOffsets(tps, Duration.ofSeconds(10));
            List<ConsumerRecord<String, byte[]>> records = new ArrayList<>();
            long deadline = System.currentTimeMillis() + waitMs;
            while (records.size() < max) {
                boolean caughtUp = ends.entrySet().stream()
                        .allMatch(e -> positions.getOrDefault(e.getKey().partition(), 0L) >= e.getValue());
                if (caughtUp && (!records.isEmpty() || System.currentTimeMillis() >= deadline)) {
                    break;
                }
                long left = Math.max(0, deadline - System.currentTimeMillis());
                var batch = consumer.poll(Duration.ofMillis(caughtUp ? Math.min(left, 200) : 200));
                if (batch.isEmpty() && System.currentTimeMillis() >= deadline) {
                    break;
                }
                for (ConsumerRecord<String, byte[]> r : batch) {
                    if (records.size() >= max) {
                        break;
                    }
                    positions.put(r.partition(), r.offset() + 1);
                    if (keyFilter == null || keyFilter.equals(r.key())) {
                        records.add(r);
                    }
                }
                if (caughtUp) {
                    ends = consumer.endOffsets(tps, Duration.ofSeconds(10));
                }
            }
            consumer.assign(List.of());
            healthy = true;
            return new Page(records, new Position(topic, positions));
        } finally {
            if (healthy) {
                idle.offer(consumer);
            } else {
                created.decrementAndGet();
                consumer.close(Duration.ZERO);
            }
        }
    }

    private KafkaConsumer<String, byte[]> borrow() {
        KafkaConsumer<String, byte[]> c = idle.poll();
        if (c != null) {
            return c;
        }
        if (created.incrementAndGet() <= poolSize) {
            try {
                return factory.get();
            } catch (RuntimeException e) {
                created.decrementAndGet();
                throw e;
            }
        }
        created.decrementAndGet();
        try {
            c = idle.poll(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (c == null) {
            throw new ApiException(503, "All readers are busy; try again.");
        }
        return c;
    }

    @Override
    public void close() {
        KafkaConsumer<String, byte[]> c;
        while ((c = idle.poll()) != null) {
            c.close(Duration.ZERO);
        }
    }
}
