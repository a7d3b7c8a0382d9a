package org.cmm.eventbroker.eventapi;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.function.Supplier;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One stream client (SSE, WebSocket, GraphQL subscription) reading one topic from an exact position. Each record sent
 * carries the position just after it, so a client that reconnects with it ({@code Last-Event-ID}) continues exactly
 * there. Its records come from one of two places, never both at once:
 * <ul>
 * <li><b>attached</b> to its topic's shared tail reader ({@link TopicTail}, {@link StreamFanOut}): the tail puts the
 * records the client wants, with their ids, in its bounded buffer; the client costs no consumer;</li>
 * <li><b>on its own</b>: its own assign-only consumer (no group, nothing committed), polled on the shared stream
 * scheduler, never on an event loop: a client that starts behind the tail (an old {@code Last-Event-ID},
 * {@code from=earliest}) or that the tail let go. Whenever its buffer is empty and its connection can take more, it
 * tries to join the tail; it joins once its position is at or past the tail's in every partition, and its own consumer
 * is closed.</li>
 * </ul>
 *
 * <p>Slow clients never slow others or the broker: a client whose connection cannot take more ({@link Sink#full()}) is
 * sent nothing; the tail never waits for it: once its buffer ({@code cmm.eventapi.stream.buffer-records}) is full, the
 * tail lets it go with the position it needs next, and it goes on by itself with its own consumer, which is polled only
 * while the connection takes records. A client that has taken nothing for {@code stallTimeoutMs} is disconnected (the
 * policy is disconnect, never drop: it resumes from its last event's id and loses nothing).
 *
 * <p>Threads: the tail thread only offers entries to the buffer and wakes the session; everything else (sending, the
 * own consumer, joining, heartbeats, the stall policy) runs in one drain at a time on the stream scheduler.
 */
final class StreamSession {

    private static final Logger LOG = LoggerFactory.getLogger(StreamSession.class);

    /** How many polls of its own consumer a catching-up client makes in one turn while its connection takes them. */
    private static final int POLLS_PER_TURN = 8;

    /** Where the events go: an SSE response, a WebSocket, a GraphQL subscriber. */
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

    /** A record ready to send and the position after it (the same entry may go to many clients of a tail). */
    record Entry(String id, ConsumerRecord<String, byte[]> record) {
    }

    private final String topic;
    private final Predicate<ConsumerRecord<String, byte[]>> filter;
    private final long heartbeatMs;
    private final long stallTimeoutMs;
    private final Runnable onEnd;
    private final TopicTail tail;
    private final Supplier<Consumer<String, byte[]>> consumers;
    private final AtomicInteger ownConsumers;
    private final int capacity;
    private final ConcurrentLinkedQueue<Entry> buffer = new ConcurrentLinkedQueue<>();
    private final AtomicInteger queued = new AtomicInteger();
    private final AtomicInteger work = new AtomicInteger();
    private final AtomicBoolean stopped = new AtomicBoolean();
    private final AtomicBoolean ended = new AtomicBoolean();
    private volatile Sink sink;
    private volatile Executor executor;
    private volatile ScheduledFuture<?> task;
    // the drain's own state (one drain at a time)
    private volatile TopicTail.Attachment attachment;
    private Consumer<String, byte[]> consumer;
    private Map<Integer, Long> positions;
    private long lastSent = System.currentTimeMillis();
    private long stalledSince;
    private volatile long sent;

    /** A session on its own consumer only, never joining a tail (StreamSessionMockConsumerTest; the sink given now). */
    StreamSession(String topic, Consumer<String, byte[]> consumer, Map<Integer, Long> start, String keyFilter,
            Sink sink, long heartbeatMs, long stallTimeoutMs, Runnable onEnd) {
        this(topic, keyFilter == null ? r -> true : r -> keyFilter.equals(r.key()), null, null, null, Integer.MAX_VALUE,
                heartbeatMs, stallTimeoutMs, onEnd);
        this.sink = sink;
        own(consumer, start);
    }

    /**
     * A session of the fan-out: attached to {@code tail} at once when {@code start} is null ("from now on": the tail's
     * position) or at or past the tail's position; else on its own consumer from {@code start} until it catches up.
     * Blocking when a consumer must look up the end offsets. The sink comes with {@link #start}.
     *
     * @param initial a consumer already made (it looked up missing start offsets), used or closed; may be null
     * @param consumers makes the session's own consumer when it needs one
     * @param ownConsumers counts the sessions holding their own consumer
     */
    static StreamSession shared(String topic, TopicTail tail, Map<Integer, Long> start, List<Integer> partitions,
            Consumer<String, byte[]> initial, Supplier<Consumer<String, byte[]>> consumers, AtomicInteger ownConsumers,
            Predicate<ConsumerRecord<String, byte[]>> filter, int bufferRecords, long heartbeatMs, long stallTimeoutMs,
            Runnable onEnd) {
        StreamSession s = new StreamSession(topic, filter == null ? r -> true : filter, tail, consumers, ownConsumers,
                bufferRecords, heartbeatMs, stallTimeoutMs, onEnd);
        s.attachment = tail.tryAttach(s, start, s.filter, true);
        if (s.attachment != null) {
            if (initial != null) {
                initial.close(Duration.ZERO);
            }
            return s;
        }
        Consumer<String, byte[]> c = initial != null ? initial : consumers.get();
        try {
            Map<Integer, Long> from = start != null ? start
                    : CursorReader.startOffsets(c, topic, partitions, false);
            s.own(c, from);
        } catch (RuntimeException e) {
            c.close(Duration.ZERO);
            throw e;
        }
        return s;
    }

    private StreamSession(String topic, Predicate<ConsumerRecord<String, byte[]>> filter, TopicTail tail,
            Supplier<Consumer<String, byte[]>> consumers, AtomicInteger ownConsumers, int capacity, long heartbeatMs,
            long stallTimeoutMs, Runnable onEnd) {
        this.topic = topic;
        this.filter = filter;
        this.tail = tail;
        this.consumers = consumers;
        this.ownConsumers = ownConsumers;
        this.capacity = capacity;
        this.heartbeatMs = heartbeatMs;
        this.stallTimeoutMs = stallTimeoutMs;
        this.onEnd = onEnd;
    }

    private void own(Consumer<String, byte[]> c, Map<Integer, Long> start) {
        consumer = c;
        positions = new HashMap<>(start);
        if (ownConsumers != null) {
            ownConsumers.incrementAndGet();
        }
        List<TopicPartition> partitions = start.keySet().stream().map(p -> new TopicPartition(topic, p)).toList();
        c.assign(partitions);
        start.forEach((p, o) -> c.seek(new TopicPartition(topic, p), o));
    }

    /** Starts sending to {@code sink}, driven by the tail and by {@code scheduler} (a tick each {@code pollIntervalMs}). */
    void start(Sink sink, ScheduledExecutorService scheduler, long pollIntervalMs) {
        this.sink = sink;
        schedule(scheduler, pollIntervalMs);
    }

    void schedule(ScheduledExecutorService scheduler, long pollIntervalMs) {
        synchronized (this) {
            executor = scheduler;
            if (stopped.get()) {
                end();
                return;
            }
            task = scheduler.scheduleWithFixedDelay(this::tick, 0, pollIntervalMs, TimeUnit.MILLISECONDS);
        }
    }

    /** Stops the session (client gone or runtime stopping); its consumer is closed on the scheduler's next turn. */
    void stop() {
        stopped.set(true);
        synchronized (this) {
            if (executor == null) {
                end(); // never started
                return;
            }
        }
        wake();
    }

    String topic() {
        return topic;
    }

    long sent() {
        return sent;
    }

    /** Whether the session reads with its own consumer now (not attached to the tail). */
    boolean onItsOwn() {
        return attachment == null || attachment.resumeAt() != null;
    }

    /** From the tail's thread: queues an entry, or refuses when the buffer is full (the tail then lets it go). */
    boolean offer(Entry e) {
        if (queued.get() >= capacity) {
            return false;
        }
        queued.incrementAndGet();
        buffer.add(e);
        return true;
    }

    /** Whether the buffer has room for another entry (the tail's thread). */
    boolean hasRoom() {
        return queued.get() < capacity;
    }

    /** Whether the client takes records now: started, not stopped, its connection not full (the tail's thread). */
    boolean takesMore() {
        Sink s = sink;
        return s != null && executor != null && !stopped.get() && !ended.get() && !s.full();
    }

    /** Asks for a drain soon (new entries, let go by the tail, demand, stop); never runs it on the caller's thread. */
    void wake() {
        Executor ex = executor;
        if (ex == null || ended.get()) {
            return;
        }
        if (work.getAndIncrement() == 0) {
            try {
                ex.execute(this::drainLoop);
            } catch (RejectedExecutionException e) {
                work.set(0);
            }
        }
    }

    /** The periodic turn: heartbeats, the stall policy, the own consumer's poll, a connection writable again. */
    private void tick() {
        if (work.getAndIncrement() == 0) {
            drainLoop();
        }
    }

    private void drainLoop() {
        int missed = 1;
        do {
            drain();
            missed = work.addAndGet(-missed);
        } while (missed != 0);
    }

    private void drain() {
        if (ended.get()) {
            return;
        }
        try {
            if (stopped.get()) {
                end();
                return;
            }
            long now = System.currentTimeMillis();
            TopicTail.Attachment a = attachment;
            if (a != null && a.resumeAt() != null) {
                // let go by the tail (full buffer, or the tail stopped): on by itself from where the tail left it
                attachment = null;
                positions = new HashMap<>(a.resumeAt());
            }
            if (!send(now)) {
                return;
            }
            for (int round = 0; attachment == null && round < POLLS_PER_TURN; round++) {
                if (tail != null && join()) {
                    break;
                }
                if (consumer == null) {
                    own(consumers.get(), positions);
                }
                if (!pollOwn()) {
                    break;
                }
                if (!send(now)) {
                    return;
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

    /** Sends what waits while the connection takes it; false when it is full (the stall policy then applies). */
    private boolean send(long now) {
        if (sink.full()) {
            stalled(now);
            return false;
        }
        Entry e;
        while ((e = buffer.peek()) != null) {
            if (sink.full()) {
                stalled(now);
                return false;
            }
            buffer.poll();
            queued.decrementAndGet();
            sink.send(e.id(), e.record());
            sent++;
            lastSent = now;
        }
        return true;
    }

    /** Joins the tail when this position is at or past it in every partition; the own consumer is then closed. */
    private boolean join() {
        TopicTail.Attachment a = tail.tryAttach(this, positions, filter, false);
        if (a == null) {
            return false;
        }
        attachment = a;
        positions = null;
        closeOwn();
        return true;
    }

    /** One poll of the own consumer into the buffer (positions move past every record); false when it gave nothing. */
    private boolean pollOwn() {
        boolean any = false;
        for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ZERO)) {
            any = true;
            positions.put(r.partition(), r.offset() + 1);
            if (filter.test(r)) {
                queued.incrementAndGet();
                buffer.add(new Entry(new Position(topic, positions).encode(), r));
            }
        }
        return any;
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

    private void closeOwn() {
        Consumer<String, byte[]> c = consumer;
        consumer = null;
        if (c == null) {
            return;
        }
        if (ownConsumers != null) {
            ownConsumers.decrementAndGet();
        }
        try {
            c.close(Duration.ZERO);
        } catch (RuntimeException e) {
            LOG.debug("closing a stream consumer: {}", e.toString());
        }
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
        TopicTail.Attachment a = attachment;
        if (a != null && tail != null) {
            tail.detach(a);
        }
        closeOwn();
        buffer.clear();
        queued.set(0);
        onEnd.run();
    }
}
