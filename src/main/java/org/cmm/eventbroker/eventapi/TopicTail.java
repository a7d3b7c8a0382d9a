package org.cmm.eventbroker.eventapi;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Predicate;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The shared tail reader of one topic ({@link StreamFanOut}): one assign-only consumer over all the topic's partitions,
 * polled on its own thread (never an event loop), handing each record to every attached stream's bounded buffer. It
 * never waits for a slow client: a stream whose buffer is full while its connection is full too is detached on the
 * spot, with the exact position it needs next, and goes on with its own consumer ({@link StreamSession}). A stream
 * whose buffer is full while its connection still takes records is only waiting for its drain on the stream scheduler
 * (a burst): the tail gives that drain up to {@link #ROOM_WAIT_MS} before letting the stream go, so a burst larger
 * than the buffers does not send every client to a consumer of its own.
 *
 * <p><b>Exactly once across the handover.</b> The tail's {@code positions} (per partition, the offset of the next
 * record it hands out) change only under its lock, record by record, and every record it polls is at or after them. A stream
 * joins ({@link #tryAttach}) under the same lock, only when its own position is at or past the tail's in every
 * partition: every record before the tail's position it already has, every record from there on the tail will hand
 * it. Where the stream is ahead in a partition (its own consumer read past the tail), the tail skips that partition's
 * records below the stream's position for it ({@code from}), so nothing is repeated. A detached stream's position is
 * the tail's position just before the record it could not take (merged with its {@code from}), so nothing is lost.
 */
final class TopicTail {

    private static final Logger LOG = LoggerFactory.getLogger(TopicTail.class);

    /** The longest the tail waits for the drain of a stream whose connection takes records (not for a slow client). */
    static final long ROOM_WAIT_MS = 1000;

    /** A stream fed by this tail. {@code from} and the detach fields are written by the tail under its lock. */
    static final class Attachment {
        private final StreamSession session;
        private final Predicate<ConsumerRecord<String, byte[]>> filter;
        private final Map<Integer, Long> from;
        private volatile Map<Integer, Long> resumeAt;
        private volatile boolean gone;

        private Attachment(StreamSession session, Predicate<ConsumerRecord<String, byte[]>> filter,
                Map<Integer, Long> from) {
            this.session = session;
            this.filter = filter;
            this.from = from;
        }

        /** Where the stream goes on by itself once the tail let it go; null while it is attached. */
        Map<Integer, Long> resumeAt() {
            return resumeAt;
        }
    }

    private final String topic;
    private final org.apache.kafka.clients.consumer.Consumer<String, byte[]> consumer;
    private final List<Integer> partitions;
    private final Map<Integer, Long> positions = new HashMap<>();
    private final List<Attachment> attached = new ArrayList<>();
    private final java.util.concurrent.locks.ReentrantLock lock = new java.util.concurrent.locks.ReentrantLock();
    private final Consumer<TopicTail> onClosed;
    private final AtomicLong detached = new AtomicLong();
    private final AtomicLong handovers = new AtomicLong();
    private volatile boolean closed;
    private volatile long handed;
    private volatile boolean started;
    private Thread thread;
    /** Streams holding this tail (attached or catching up); counted by the fan-out under its own lock. */
    int users;

    TopicTail(String topic, List<Integer> partitions,
            org.apache.kafka.clients.consumer.Consumer<String, byte[]> consumer, Consumer<TopicTail> onClosed) {
        this.topic = topic;
        this.partitions = List.copyOf(partitions);
        this.consumer = consumer;
        this.onClosed = onClosed;
    }

    /**
     * Positions the tail at the end of every partition and starts its thread (once; blocking: reads the end offsets).
     * Streams of the topic that arrive meanwhile wait here, so none starts before the tail knows where it is.
     */
    synchronized void start() {
        if (started) {
            return;
        }
        List<TopicPartition> tps = partitions.stream().map(p -> new TopicPartition(topic, p)).toList();
        consumer.assign(tps);
        Map<TopicPartition, Long> ends = consumer.endOffsets(tps, Duration.ofSeconds(10));
        for (TopicPartition tp : tps) {
            long end = ends.getOrDefault(tp, 0L);
            consumer.seek(tp, end);
            positions.put(tp.partition(), end);
        }
        started = true;
        thread = new Thread(this::run, "cmm-eventapi-tail");
        thread.setDaemon(true);
        thread.start();
    }

    String topic() {
        return topic;
    }

    List<Integer> partitions() {
        return partitions;
    }

    boolean closed() {
        return closed;
    }

    /** How many streams this tail let go because their buffer was full. */
    long detachedStreams() {
        return detached.get();
    }

    /** How many streams joined after catching up with their own consumer. */
    long handovers() {
        return handovers.get();
    }

    /** Records the tail has read so far (no lock: tests and metrics). */
    long handed() {
        return handed;
    }

    int attachedStreams() {
        lock.lock();
        try {
            return (int) attached.stream().filter(a -> !a.gone).count();
        } finally {
            lock.unlock();
        }
    }

    /** The tail's position now (tests). */
    Map<Integer, Long> positions() {
        lock.lock();
        try {
            return Map.copyOf(positions);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Attaches a stream at {@code at} (the offset of the next record it needs, per partition), or at the tail's own
     * position when {@code at} is null (a stream "from now on"). Null when it cannot join yet: the tail is closed, the
     * partitions differ, or the stream is behind the tail in a partition (it catches up with its own consumer first).
     * With {@code wait} false it does not wait while the tail is handing out records (the stream scheduler's threads
     * must never queue behind the tail: it may be giving a drain on them time to make room); it tries again later.
     */
    Attachment tryAttach(StreamSession session, Map<Integer, Long> at,
            Predicate<ConsumerRecord<String, byte[]>> filter, boolean wait) {
        if (wait) {
            lock.lock();
        } else if (!lock.tryLock()) {
            return null;
        }
        try {
            Attachment a = attach(session, at, filter);
            if (a != null && !wait) {
                handovers.incrementAndGet();
            }
            return a;
        } finally {
            lock.unlock();
        }
    }

    private Attachment attach(StreamSession session, Map<Integer, Long> at,
            Predicate<ConsumerRecord<String, byte[]>> filter) {
        if (closed || !started) {
            return null;
        }
        Map<Integer, Long> from = new HashMap<>();
        if (at != null) {
            if (!at.keySet().equals(positions.keySet())) {
                return null;
            }
            for (Map.Entry<Integer, Long> e : at.entrySet()) {
                long tail = positions.get(e.getKey());
                if (e.getValue() < tail) {
                    return null;
                }
                if (e.getValue() > tail) {
                    from.put(e.getKey(), e.getValue());
                }
            }
        }
        Attachment a = new Attachment(session, filter, from);
        attached.add(a);
        return a;
    }

    /** Detaches a stream that ended (its client left): the tail drops it at its next record, never waiting for it. */
    void detach(Attachment a) {
        a.gone = true;
    }

    /** Stops the thread; the consumer is closed by it. */
    void close() {
        closed = true;
        consumer.wakeup();
    }

    private void run() {
        try {
            while (!closed) {
                ConsumerRecords<String, byte[]> records = consumer.poll(Duration.ofMillis(500));
                if (records.isEmpty()) {
                    continue;
                }
                Set<StreamSession> woken = new LinkedHashSet<>();
                lock.lock();
                try {
                    for (ConsumerRecord<String, byte[]> r : records) {
                        hand(r, woken);
                    }
                } finally {
                    lock.unlock();
                }
                woken.forEach(StreamSession::wake);
            }
        } catch (WakeupException e) {
            // closing
        } catch (RuntimeException e) {
            LOG.warn("The shared reader of {} stopped ({}): its streams go on with their own consumers", topic,
                    e.getClass().getSimpleName());
        } finally {
            List<Attachment> left;
            lock.lock();
            try {
                closed = true;
                left = new ArrayList<>(attached);
                attached.clear();
                for (Attachment a : left) {
                    a.resumeAt = merged(a);
                }
            } finally {
                lock.unlock();
            }
            left.forEach(a -> a.session.wake());
            try {
                consumer.close(Duration.ZERO);
            } catch (RuntimeException e) {
                LOG.debug("closing the shared reader of {}: {}", topic, e.toString());
            }
            onClosed.accept(this);
        }
    }

    /** One record to every attached stream that has not got it and wants it (under the lock, in the poll's order). */
    private void hand(ConsumerRecord<String, byte[]> r, Set<StreamSession> woken) {
        int p = r.partition();
        positions.put(p, r.offset() + 1);
        handed++;
        StreamSession.Entry shared = null;
        for (Iterator<Attachment> it = attached.iterator(); it.hasNext();) {
            Attachment a = it.next();
            if (a.gone) {
                it.remove();
                continue;
            }
            Long from = a.from.get(p);
            if (from != null) {
                if (r.offset() < from) {
                    continue; // the stream read it itself before it joined
                }
                a.from.remove(p);
            }
            boolean wanted;
            try {
                wanted = a.filter.test(r);
            } catch (RuntimeException e) {
                // let go: its own consumer meets the same record and ends the stream with the error
                LOG.debug("stream filter of {} failed: {}", topic, e.toString());
                letGo(a, it, r);
                woken.add(a.session);
                continue;
            }
            if (!wanted) {
                continue;
            }
            StreamSession.Entry entry;
            if (a.from.isEmpty()) {
                if (shared == null) {
                    shared = new StreamSession.Entry(new Position(topic, positions).encode(), r);
                }
                entry = shared;
            } else {
                entry = new StreamSession.Entry(new Position(topic, merged(a)).encode(), r);
            }
            if (!a.session.offer(entry) && !(roomMade(a.session) && a.session.offer(entry))) {
                letGo(a, it, r);
            }
            woken.add(a.session);
        }
    }

    /**
     * A full buffer of a stream whose connection still takes records means its drain has not run yet (a burst, a busy
     * scheduler), not that the client is slow: the tail wakes it and gives it up to {@link #ROOM_WAIT_MS} to make room.
     * A stream whose connection is full (a slow client), that has stopped or not started gets no wait at all.
     */
    private boolean roomMade(StreamSession session) {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(ROOM_WAIT_MS);
        session.wake();
        while (session.takesMore()) {
            if (session.hasRoom()) {
                return true;
            }
            if (System.nanoTime() - deadline > 0 || closed) {
                return false;
            }
            java.util.concurrent.locks.LockSupport.parkNanos(200_000);
        }
        return false;
    }

    /** Detaches a stream that cannot take {@code r}: it goes on by itself from {@code r}. */
    private void letGo(Attachment a, Iterator<Attachment> it, ConsumerRecord<String, byte[]> r) {
        Map<Integer, Long> resume = merged(a);
        resume.put(r.partition(), r.offset());
        a.resumeAt = resume;
        it.remove();
        detached.incrementAndGet();
    }

    /** The stream's position: the tail's, or its own where it is ahead. */
    private Map<Integer, Long> merged(Attachment a) {
        Map<Integer, Long> m = new HashMap<>(positions);
        a.from.forEach((q, o) -> m.merge(q, o, Math::max));
        return m;
    }
}
