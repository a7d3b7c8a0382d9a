package org.cmm.eventbroker.eventapi;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Predicate;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One stream client (SSE or WebSocket) reading one topic from an exact position: its own assign-only consumer (no
 * group, nothing committed), polled on the shared stream scheduler, never on an event loop. Each record sent carries
 * the position just after it, so a client that reconnects with it ({@code Last-Event-ID}) continues exactly there.
 *
 * <p>Slow clients never slow others: a client whose connection cannot take more ({@link Sink#full()}) is simply not
 * polled, so its own consumer waits at its position; at most {@code max.poll.records} records wait in its buffer.
 * A client that has taken nothing for {@code stallTimeoutMs} is disconnected (the policy is disconnect, never drop:
 * it resumes from its last event's id and loses nothing). Every client is independent: its consumer, its buffer,
 * its position.
 */
final class StreamSession {

    private static final Logger LOG = LoggerFactory.getLogger(StreamSession.class);

    /** Where the events go: an SSE response or a WebSocket. */
    interface Sink {
        /** Whether the connection's write queue is full. */
        boolean full();

        /** Sends one record with the position after it. */
        void send(String id, ConsumerRecord<String, byte[]> record);

        /** A keep-alive (SSE comment, WebSocket ping). */
        void heartbeat();

        /** Ends the stream with a reason (the client may reconnect). */
        void close(String reason);
    }

    private final String topic;
    private final Consumer<String, byte[]> consumer;
    private final Map<Integer, Long> positions;
    private final Predicate<ConsumerRecord<String, byte[]>> filter;
    private final Sink sink;
    private final long heartbeatMs;
    private final long stallTimeoutMs;
    private final Runnable onEnd;
    private final ArrayDeque<ConsumerRecord<String, byte[]>> buffer = new ArrayDeque<>();
    private final AtomicBoolean stopped = new AtomicBoolean();
    private final AtomicBoolean ended = new AtomicBoolean();
    private volatile ScheduledFuture<?> task;
    private long lastSent = System.currentTimeMillis();
    private long stalledSince;
    private long sent;

    StreamSession(String topic, Consumer<String, byte[]> consumer, Map<Integer, Long> start, String keyFilter,
            Sink sink, long heartbeatMs, long stallTimeoutMs, Runnable onEnd) {
        this(keyFilter == null ? r -> true : r -> keyFilter.equals(r.key()), topic, consumer, start, sink,
                heartbeatMs, stallTimeoutMs, onEnd);
    }

    /** A session that sends only the records {@code filter} accepts (a {@link StreamScope}'s); positions move past all. */
    static StreamSession filtered(String topic, Consumer<String, byte[]> consumer, Map<Integer, Long> start,
            Predicate<ConsumerRecord<String, byte[]>> filter, Sink sink, long heartbeatMs, long stallTimeoutMs,
            Runnable onEnd) {
        return new StreamSession(filter == null ? r -> true : filter, topic, consumer, start, sink, heartbeatMs,
                stallTimeoutMs, onEnd);
    }

    private StreamSession(Predicate<ConsumerRecord<String, byte[]>> filter, String topic,
            Consumer<String, byte[]> consumer, Map<Integer, Long> start, Sink sink, long heartbeatMs,
            long stallTimeoutMs, Runnable onEnd) {
        this.topic = topic;
        this.consumer = consumer;
        this.positions = new HashMap<>(start);
        this.filter = filter;
        this.sink = sink;
        this.heartbeatMs = heartbeatMs;
        this.stallTimeoutMs = stallTimeoutMs;
        this.onEnd = onEnd;
        List<TopicPartition> partitions = start.keySet().stream().map(p -> new TopicPartition(topic, p)).toList();
        consumer.assign(partitions);
        start.forEach((p, o) -> consumer.seek(new TopicPartition(topic, p), o));
    }

    void schedule(ScheduledExecutorService scheduler, long pollIntervalMs) {
        task = scheduler.scheduleWithFixedDelay(this::tick, 0, pollIntervalMs, TimeUnit.MILLISECONDS);
    }

    /** Stops the session (client gone or runtime stopping); the consumer is closed on the scheduler's next turn. */
    void stop() {
        stopped.set(true);
    }

    long sent() {
        return sent;
    }

    private void tick() {
        try {
            if (stopped.get()) {
                end();
                return;
            }
            long now = System.currentTimeMillis();
            if (buffer.isEmpty()) {
                if (sink.full()) {
                    stalled(now);
                    return;
                }
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ZERO)) {
                    buffer.add(r);
                }
            }
            while (!buffer.isEmpty()) {
                if (sink.full()) {
                    stalled(now);
                    return;
                }
                ConsumerRecord<String, byte[]> r = buffer.poll();
                positions.put(r.partition(), r.offset() + 1);
                if (filter.test(r)) {
                    sink.send(new Position(topic, positions).encode(), r);
                    sent++;
                    lastSent = now;
                }
            }
            stalledSince = 0;
            if (now - lastSent >= heartbeatMs) {
                sink.heartbeat();
                lastSent = now;
            }
        } catch (RuntimeException e) {
            LOG.warn("Stream of {} ended: {}", topic, e.getClass().getSimpleName());
            sink.close("stream error");
            end();
        }
    }

    private void stalled(long now) {
        if (stalledSince == 0) {
            stalledSince = now;
        } else if (now - stalledSince > stallTimeoutMs) {
            LOG.info("Stream client of {} took nothing for {} ms: disconnected (it resumes from its last event id)",
                    topic, stallTimeoutMs);
            sink.close("slow consumer: resume with the last event id");
            end();
        }
    }

    /** Closes the consumer at once (the scheduler has stopped: no tick will run again). */
    void closeNow() {
        end();
    }

    private void end() {
        stopped.set(true);
        if (!ended.compareAndSet(false, true)) {
            return;
        }
        ScheduledFuture<?> t = task;
        if (t != null) {
            t.cancel(false);
        }
        try {
            consumer.close(Duration.ZERO);
        } catch (RuntimeException e) {
            LOG.debug("closing a stream consumer: {}", e.toString());
        }
        buffer.clear();
        onEnd.run();
    }
}
