package org.cmm.eventbroker.eventapi;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * The streams of one runtime instance share one tail reader per topic ({@link TopicTail}) instead of a consumer each: a
 * stream "from now on", or one whose position is where the tail is, costs no consumer at all; a stream that starts
 * behind (an old {@code Last-Event-ID}, {@code from=earliest}) or that was too slow reads with its own consumer until
 * it has caught up, then joins the tail ({@link StreamSession}). A topic's tail is created when its first stream
 * arrives and closed when its last stream leaves.
 */
final class StreamFanOut {

    private final Supplier<org.apache.kafka.clients.consumer.Consumer<String, byte[]>> tailConsumers;
    private final Map<String, TopicTail> tails = new HashMap<>();
    private final AtomicInteger ownConsumers = new AtomicInteger();
    private boolean closed;

    /** @param tailConsumers makes a tail's consumer (an assign-only reader from {@code KafkaClients}) */
    StreamFanOut(Supplier<org.apache.kafka.clients.consumer.Consumer<String, byte[]>> tailConsumers) {
        this.tailConsumers = tailConsumers;
    }

    /**
     * The topic's tail, positioned and running (blocking the first time: it looks up the end offsets), held for one
     * stream until {@link #release}. A tail whose partitions differ from {@code partitions} (the topic grew) is
     * returned as it is: streams of the new partition count cannot join it and keep their own consumers.
     */
    TopicTail acquire(String topic, List<Integer> partitions) {
        TopicTail tail;
        synchronized (this) {
            if (closed) {
                throw new ApiException(503, "The event API is stopping.");
            }
            tail = tails.get(topic);
            if (tail == null || tail.closed()) {
                tail = new TopicTail(topic, partitions, tailConsumers.get(), this::closed);
                tails.put(topic, tail);
            }
            tail.users++;
        }
        try {
            tail.start();
        } catch (RuntimeException e) {
            synchronized (this) {
                tails.remove(topic, tail);
            }
            tail.close();
            throw e;
        }
        return tail;
    }

    /** One stream of the tail has ended; the last one closes it. */
    void release(TopicTail tail) {
        boolean last;
        synchronized (this) {
            last = --tail.users <= 0 && tails.remove(tail.topic(), tail);
        }
        if (last) {
            tail.close();
        }
    }

    private synchronized void closed(TopicTail tail) {
        tails.remove(tail.topic(), tail);
    }

    /** The counter of streams reading with their own consumer (catching up, or let go for being slow). */
    AtomicInteger ownConsumers() {
        return ownConsumers;
    }

    /** Shared tail readers open now (one per topic with streams). */
    synchronized int sharedConsumers() {
        return (int) tails.values().stream().filter(t -> !t.closed()).count();
    }

    /** The topic's open tail, or null. */
    synchronized TopicTail tail(String topic) {
        TopicTail t = tails.get(topic);
        return t == null || t.closed() ? null : t;
    }

    /** Streams attached to a tail now, over all topics. */
    int attachedStreams() {
        List<TopicTail> open;
        synchronized (this) {
            open = new ArrayList<>(tails.values());
        }
        return open.stream().mapToInt(TopicTail::attachedStreams).sum();
    }

    void close() {
        List<TopicTail> open;
        synchronized (this) {
            closed = true;
            open = new ArrayList<>(tails.values());
            tails.clear();
        }
        open.forEach(TopicTail::close);
    }
}
