package org.cmm.eventbroker.platform.delivery;

import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;
import org.apache.camel.component.kafka.KafkaConstants;
import org.apache.camel.support.DefaultConsumer;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.cmm.eventbroker.platform.metrics.TopicMetrics;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.CommitFailedException;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.RebalanceInProgressException;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers each record through the route and moves on only when the route succeeded.
 *
 * <ul>
 *   <li><b>Commit after delivery.</b> Offsets are committed (synchronously, by the polling thread) only up to the
 *   lowest record not yet delivered; a crash or restart resumes there. At-least-once.</li>
 *   <li><b>Retry.</b> A failed exchange (the route threw: peer down, AE, timeout) is tried again after an exponential
 *   back-off, forever by default. A route that dead-letters a record (AR, bad input) handles the exception: that
 *   counts as done.</li>
 *   <li><b>Order per key.</b> Records of one key (one patient) are delivered one after the other; while one is being
 *   retried the key's later records wait, and other keys keep flowing. Polling goes on during retries, so the
 *   consumer stays in its group however long a peer is down; a partition with too many undelivered records is
 *   paused until they drain.</li>
 *   <li><b>A peer that is down is not hammered.</b> When the first attempts of {@code holdAfterFailures} different
 *   records in a row failed (no success between: the peer refuses connections, times out, answers AE to everything),
 *   the consumer holds the next records' first attempts instead of sending each to a dead peer (a connection attempt,
 *   a WARN and a retry per record, per patient). While it holds, the records already failing keep their back-off, and
 *   one held record is tried every {@code holdProbeMs}; the first success of either kind releases every held record.
 *   One patient's record that keeps failing while others succeed never starts a hold (the successes between reset the
 *   count), so other patients keep flowing. Nothing is committed past a held record. Settings:
 *   {@code cmm.delivery.peer-down.hold-after-failures} (5; 0 turns it off) and {@code cmm.delivery.peer-down.probe-ms}
 *   (1000), or the endpoint's own {@code holdAfterFailures} (0 for a flow whose records go to many peers).</li>
 * </ul>
 */
public class KafkaDeliveryConsumer extends DefaultConsumer {

    /** Attempt number of this delivery, 1 for the first. */
    public static final String ATTEMPT = "CamelCmmDeliveryAttempt";
    /** True on the last attempt allowed by maxAttempts: the route should dead-letter rather than fail. */
    public static final String FINAL_ATTEMPT = "CamelCmmDeliveryFinalAttempt";
    /** The record topic's last part after the endpoint's topicPrefix: the order type, the result class. */
    public static final String TOPIC_TYPE = "CamelCmmTopicType";

    private static final Logger LOG = LoggerFactory.getLogger(KafkaDeliveryConsumer.class);

    private final KafkaDeliveryEndpoint endpoint;
    private final Object lock = new Object();
    private final Map<TopicPartition, PartitionLanes> partitions = new HashMap<>();
    private volatile boolean running;
    private volatile Consumer<String, byte[]> kafka;
    private volatile Thread pollThread;
    private volatile Throwable failure;
    private final java.util.function.Supplier<Consumer<String, byte[]>> kafkaFactory;
    private long lastCommitWarning;
    private long lastCommitAt;
    /** Delivered progress is committed at most this often while polling (and at once on revocation and stop). */
    static final long COMMIT_INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    private ExecutorService workers;
    private ScheduledExecutorService retries;
    private IntakePriority intakePriority;
    private ConsumerPriority consumerPriority;
    /** First attempts failed in a row, no success between (the peer-down hold). */
    private final java.util.concurrent.atomic.AtomicInteger firstAttemptsFailedInARow = new java.util.concurrent.atomic.AtomicInteger();
    /** Records whose first attempt waits for the peer; guarded by lock. */
    private final java.util.ArrayDeque<Held> held = new java.util.ArrayDeque<>();
    private volatile boolean holding;
    private int holdAfterFailures;

    private record Held(TopicPartition tp, PartitionLanes lanes, ConsumerRecord<String, byte[]> record) {
    }

    public KafkaDeliveryConsumer(KafkaDeliveryEndpoint endpoint, Processor processor) {
        super(endpoint, processor);
        this.endpoint = endpoint;
        this.kafkaFactory = this::createKafkaConsumer;
    }

    /** With another Kafka consumer than the runtime's (a test's MockConsumer). */
    KafkaDeliveryConsumer(KafkaDeliveryEndpoint endpoint, Processor processor,
            java.util.function.Supplier<Consumer<String, byte[]>> kafkaFactory) {
        super(endpoint, processor);
        this.endpoint = endpoint;
        this.kafkaFactory = kafkaFactory;
    }

    /** True while the poll thread runs; false before the start, after the stop, or when it ended on a fatal error. */
    public boolean isPolling() {
        Thread t = pollThread;
        return running && t != null && t.isAlive() && failure == null;
    }

    private String property(String key, String fallback) {
        return getEndpoint().getCamelContext().getPropertiesComponent().resolveProperty(key).orElse(fallback).trim();
    }

    /** Records whose first attempt is held because the peer looks down (0 when it answers). */
    public int heldRecords() {
        synchronized (lock) {
            return held.size();
        }
    }

    /** The fatal error that ended the poll thread, or null. */
    public Throwable failure() {
        return failure;
    }

    @Override
    protected void doStart() throws Exception {
        super.doStart();
        intakePriority = IntakePriority.of(getEndpoint().getCamelContext());
        consumerPriority = ConsumerPriority.of(getEndpoint().getCamelContext());
        holdAfterFailures = endpoint.getHoldAfterFailures() != null ? endpoint.getHoldAfterFailures()
                : Integer.parseInt(property("cmm.delivery.peer-down.hold-after-failures", "5"));
        long probeMs = endpoint.getHoldProbeMs() != null ? endpoint.getHoldProbeMs()
                : Long.parseLong(property("cmm.delivery.peer-down.probe-ms", "1000"));
        firstAttemptsFailedInARow.set(0);
        synchronized (lock) {
            held.clear();
            holding = false;
        }
        workers = getEndpoint().getCamelContext().getExecutorServiceManager()
                .newFixedThreadPool(this, "kafka-delivery-" + endpoint.getGroupId(), endpoint.getConcurrency());
        retries = getEndpoint().getCamelContext().getExecutorServiceManager()
                .newSingleThreadScheduledExecutor(this, "kafka-delivery-retry-" + endpoint.getGroupId());
        if (holdAfterFailures > 0) {
            long every = Math.max(10, probeMs);
            retries.scheduleWithFixedDelay(this::probe, every, every, TimeUnit.MILLISECONDS);
        }
        kafka = kafkaFactory.get();
        failure = null;
        lastCommitAt = System.nanoTime() - COMMIT_INTERVAL_NANOS; // the first loop with progress commits
        running = true;
        pollThread = new Thread(this::pollLoop, "kafka-delivery-poll-" + endpoint.getGroupId());
        pollThread.start();
    }

    @Override
    protected void doStop() throws Exception {
        running = false;
        Consumer<String, byte[]> k = kafka;
        if (k != null) {
            k.wakeup();
        }
        if (pollThread != null) {
            pollThread.join(endpoint.getShutdownTimeoutMs() + 10_000);
            pollThread = null;
        }
        super.doStop();
    }

    /** The group's consumer, from the runtime's Kafka settings (KafkaClients) with this endpoint's own choices. */
    private Consumer<String, byte[]> createKafkaConsumer() {
        Map<String, Object> own = new HashMap<>();
        own.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        // a new group starts at the oldest record: an order published before the flow first ran is still delivered
        own.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        own.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, endpoint.getMaxPollRecords());
        own.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        // pattern subscriptions notice new topics (lab.orders.<new-type>) within this time
        own.put(ConsumerConfig.METADATA_MAX_AGE_CONFIG, "5000");
        // in batches: a fetch per record written woke every consuming flow and the broker per record (issue 17)
        own.put(ConsumerConfig.FETCH_MIN_BYTES_CONFIG, property("cmm.delivery.fetch-min-bytes", "32768"));
        own.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, property("cmm.delivery.fetch-max-wait-ms", "200"));
        return KafkaClients.of(getEndpoint().getCamelContext()).consumer(
                endpoint.getGroupId() + "-" + Integer.toHexString(System.identityHashCode(this)), endpoint.getGroupId(), own);
    }

    private void pollLoop() {
        consumerPriority.lowerCurrentThread(); // the intake first; the threads this one makes inherit it
        Consumer<String, byte[]> consumer = kafka;
        try {
            consumer.subscribe(endpoint.topicPattern(), new Rebalance(consumer));
            while (running) {
                ConsumerRecords<String, byte[]> records;
                try {
                    records = consumer.poll(Duration.ofMillis(100));
                } catch (WakeupException e) {
                    break;
                } catch (RetriableException e) {
                    // e.g. a timeout in the rebalance listener's committed(): the next poll tries again
                    warnAboutCommit("poll failed, retrying", e);
                    continue;
                }
                synchronized (lock) {
                    for (ConsumerRecord<String, byte[]> record : records) {
                        TopicPartition tp = new TopicPartition(record.topic(), record.partition());
                        PartitionLanes lanes = partitions.get(tp);
                        if (lanes != null && lanes.add(record)) {
                            submit(tp, lanes, record, 1);
                        }
                    }
                    pauseOrResume(consumer);
                }
                try {
                    // at most every COMMIT_INTERVAL: a commit per loop was a broker round trip per poll of every
                    // consumer (and the progress check built each partition's metadata each time); revocation and
                    // stop commit at once
                    long now = System.nanoTime();
                    if (now - lastCommitAt >= COMMIT_INTERVAL_NANOS) {
                        lastCommitAt = now;
                        commit(consumer, partitionsWithProgress());
                    }
                } catch (RetriableException | CommitFailedException | RebalanceInProgressException e) {
                    // a commit timeout or a rebalance: the progress stays uncommitted and is committed by a later
                    // loop (or on revocation); ending the poll thread here would stop the flow for good
                    warnAboutCommit("commit failed, retrying", e);
                }
            }
        } catch (WakeupException e) {
            // stopping
        } catch (KafkaException | IllegalStateException e) {
            failure = e;
            LOG.error("Delivery consumer {} stopped polling: {}", endpoint.getGroupId(), e.toString());
            getExceptionHandler().handleException("kafka-delivery consumer " + endpoint.getGroupId() + " failed", e);
        } finally {
            shutdown(consumer);
        }
    }

    /** At most one WARN every 30 s: a broker outage would otherwise log one per loop. */
    private void warnAboutCommit(String what, Exception e) {
        long now = System.nanoTime();
        if (lastCommitWarning == 0 || now - lastCommitWarning > TimeUnit.SECONDS.toNanos(30)) {
            lastCommitWarning = now;
            LOG.warn("Delivery consumer {}: {} ({})", endpoint.getGroupId(), what, e.toString());
        }
    }

    private void shutdown(Consumer<String, byte[]> consumer) {
        retries.shutdownNow();
        workers.shutdown();
        try {
            if (!workers.awaitTermination(endpoint.getShutdownTimeoutMs(), TimeUnit.MILLISECONDS)) {
                LOG.warn("Delivery consumer {}: deliveries still running after {} ms are left to the next start",
                        endpoint.getGroupId(), endpoint.getShutdownTimeoutMs());
                workers.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            commit(consumer, partitionsWithProgress());
        } catch (RuntimeException e) {
            LOG.warn("Delivery consumer {}: final commit failed ({}); undelivered records are read again on start",
                    endpoint.getGroupId(), e.toString());
        }
        consumer.close(Duration.ofSeconds(5));
        kafka = null;
    }

    private Map<TopicPartition, OffsetAndMetadata> partitionsWithProgress() {
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        synchronized (lock) {
            partitions.forEach((tp, lanes) -> {
                if (lanes.hasUncommittedProgress()) {
                    offsets.put(tp, new OffsetAndMetadata(lanes.committableOffset(), lanes.commitMetadata()));
                }
            });
        }
        return offsets;
    }

    private void commit(Consumer<String, byte[]> consumer, Map<TopicPartition, OffsetAndMetadata> offsets) {
        if (offsets.isEmpty()) {
            return;
        }
        consumer.commitSync(offsets);
        synchronized (lock) {
            offsets.forEach((tp, offset) -> {
                PartitionLanes lanes = partitions.get(tp);
                if (lanes != null) {
                    lanes.committed(offset.offset(), offset.metadata());
                }
            });
        }
    }

    private void pauseOrResume(Consumer<String, byte[]> consumer) {
        int max = endpoint.getMaxPendingPerPartition();
        partitions.forEach((tp, lanes) -> {
            if (!lanes.isPaused() && lanes.pendingCount() >= max) {
                consumer.pause(java.util.List.of(tp));
                lanes.setPaused(true);
            } else if (lanes.isPaused() && lanes.pendingCount() <= max / 2) {
                consumer.resume(java.util.List.of(tp));
                lanes.setPaused(false);
            }
        });
    }

    private void submit(TopicPartition tp, PartitionLanes lanes, ConsumerRecord<String, byte[]> record, int attempt) {
        try {
            workers.execute(() -> deliver(tp, lanes, record, attempt));
        } catch (RejectedExecutionException e) {
            // stopping: the record stays uncommitted and is delivered after the next start
        }
    }

    private void deliver(TopicPartition tp, PartitionLanes lanes, ConsumerRecord<String, byte[]> record, int attempt) {
        deliver(tp, lanes, record, attempt, false);
    }

    /** @param probe a held record tried while the peer looks down: it is tried, not held again */
    private void deliver(TopicPartition tp, PartitionLanes lanes, ConsumerRecord<String, byte[]> record, int attempt,
            boolean probe) {
        consumerPriority.lowerCurrentThread(); // once per worker thread
        try {
            intakePriority.awaitTurn(); // the intake's ACKs first (bounded wait)
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return; // stopping: the record stays uncommitted
        }
        synchronized (lock) {
            if (!running || lanes.isClosed()) {
                return;
            }
            if (attempt == 1 && holding && !probe) {
                held.add(new Held(tp, lanes, record)); // the peer looks down: tried by a probe or after a success
                return;
            }
            lanes.deliveryStarted();
        }
        try {
            attempt(tp, lanes, record, attempt);
        } finally {
            synchronized (lock) {
                lanes.deliveryEnded();
                lock.notifyAll();
            }
        }
    }

    private void attempt(TopicPartition tp, PartitionLanes lanes, ConsumerRecord<String, byte[]> record, int attempt) {
        // a new exchange per attempt, never returned to a pool: a retry must not see anything of the failed try
        Exchange exchange = getEndpoint().createExchange();
        toExchange(record, exchange.getMessage());
        if (endpoint.getTopicPrefix() != null && !endpoint.getTopicPrefix().isBlank()) {
            exchange.getMessage().setHeader(TOPIC_TYPE, record.topic().substring(endpoint.getTopicPrefix().length() + 1));
        }
        exchange.getMessage().setHeader(ATTEMPT, attempt);
        exchange.getMessage().setHeader(FINAL_ATTEMPT,
                endpoint.getMaxAttempts() > 0 && attempt >= endpoint.getMaxAttempts());
        long started = System.nanoTime();
        try {
            getProcessor().process(exchange);
        } catch (Exception e) {
            exchange.setException(e);
        }
        Exception failure = exchange.getException();
        TopicMetrics metrics = TopicMetrics.of(getEndpoint().getCamelContext());
        if (metrics != null) {
            metrics.delivered(record.topic(), failure == null, System.nanoTime() - started);
        }
        if (failure == null) {
            peerAnswered();
            ConsumerRecord<String, byte[]> next;
            synchronized (lock) {
                if (lanes.isRevoked()) {
                    return;
                }
                next = lanes.delivered(record);
            }
            if (attempt > 1) {
                LOG.info("Delivered {}-{}@{} after {} attempts", record.topic(), record.partition(), record.offset(), attempt);
            }
            if (next != null) {
                submit(tp, lanes, next, 1);
            }
        } else {
            if (attempt == 1) {
                firstAttemptFailed();
            }
            long delay = backoff(attempt);
            LOG.warn("Delivery of {}-{}@{} failed (attempt {}), next try in {} ms: {}", record.topic(),
                    record.partition(), record.offset(), attempt, delay, describe(failure));
            try {
                retries.schedule(() -> submit(tp, lanes, record, attempt + 1), delay, TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException e) {
                // stopping: left uncommitted for the next start
            }
        }
    }

    private void firstAttemptFailed() {
        if (holdAfterFailures > 0 && firstAttemptsFailedInARow.incrementAndGet() >= holdAfterFailures && !holding) {
            synchronized (lock) {
                if (holding || !running) {
                    return;
                }
                holding = true;
            }
            LOG.warn("Delivery consumer {}: the first attempts of {} records in a row failed; the peer looks down, new "
                    + "records wait for it (one tried at a time) until a delivery succeeds", endpoint.getGroupId(),
                    firstAttemptsFailedInARow.get());
        }
    }

    private void peerAnswered() {
        if (firstAttemptsFailedInARow.get() != 0) {
            firstAttemptsFailedInARow.set(0); // read first: a write per delivered record would be shared by every lane
        }
        if (!holding) {
            return;
        }
        java.util.List<Held> release;
        synchronized (lock) {
            if (!holding) {
                return;
            }
            holding = false;
            release = new java.util.ArrayList<>(held);
            held.clear();
        }
        LOG.info("Delivery consumer {}: the peer answers again; {} held records go on", endpoint.getGroupId(),
                release.size());
        release.forEach(h -> submit(h.tp(), h.lanes(), h.record(), 1));
    }

    /** While holding: one held record is tried (a success releases the others). */
    private void probe() {
        if (!holding) {
            return;
        }
        Held next;
        synchronized (lock) {
            next = held.poll();
            while (next != null && next.lanes().isClosed()) {
                next = held.poll();
            }
        }
        if (next != null) {
            Held probe = next;
            try {
                workers.execute(() -> deliver(probe.tp(), probe.lanes(), probe.record(), 1, true));
            } catch (RejectedExecutionException e) {
                // stopping: the record stays uncommitted
            }
        }
    }

    long backoff(int attempt) {
        double delay = endpoint.getInitialBackoffMs() * Math.pow(endpoint.getBackoffMultiplier(), attempt - 1);
        return (long) Math.min(delay, endpoint.getMaxBackoffMs());
    }

    /** The failure's type and message; the project's exceptions never carry message content. */
    private static String describe(Throwable failure) {
        String type = failure.getClass().getSimpleName();
        return failure.getMessage() == null ? type : type + ": " + failure.getMessage();
    }

    private static void toExchange(ConsumerRecord<String, byte[]> record, Message message) {
        // only the project's own event headers: a record's Camel*/kafka.* headers would steer the flow's components
        RecordHeaders.copyAllowed(record.headers(), message);
        message.setHeader(KafkaConstants.TOPIC, record.topic());
        message.setHeader(KafkaConstants.PARTITION, record.partition());
        message.setHeader(KafkaConstants.OFFSET, record.offset());
        message.setHeader(KafkaConstants.TIMESTAMP, record.timestamp());
        if (record.key() != null) {
            message.setHeader(KafkaConstants.KEY, record.key());
        }
        message.setBody(record.value());
    }

    /** What is pending, for operators (JMX, logs). */
    public Map<String, Integer> pendingPerPartition() {
        Map<String, Integer> pending = new HashMap<>();
        synchronized (lock) {
            partitions.forEach((tp, lanes) -> pending.put(tp.toString(), lanes.pendingCount()));
        }
        return pending;
    }

    private final class Rebalance implements ConsumerRebalanceListener {

        private final Consumer<String, byte[]> consumer;

        Rebalance(Consumer<String, byte[]> consumer) {
            this.consumer = consumer;
        }

        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> revoked) {
            awaitDeliveriesInFlight(revoked);
            Map<TopicPartition, OffsetAndMetadata> offsets = partitionsWithProgress();
            offsets.keySet().retainAll(revoked);
            try {
                commit(consumer, offsets);
            } catch (RuntimeException e) {
                LOG.warn("Commit on revocation failed ({}); the new owner re-delivers from the last commit", e.toString());
            }
            drop(revoked);
        }

        /**
         * Lets the deliveries running on partitions that go to another instance finish (bounded by the shutdown
         * timeout), so their outcome is committed and the new owner does not send them again.
         */
        private void awaitDeliveriesInFlight(Collection<TopicPartition> revoked) {
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(endpoint.getShutdownTimeoutMs());
            synchronized (lock) {
                revoked.stream().map(partitions::get).filter(java.util.Objects::nonNull).forEach(PartitionLanes::handOver);
                while (revoked.stream().map(partitions::get).anyMatch(l -> l != null && l.inFlight() > 0)) {
                    long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                    if (left <= 0) {
                        LOG.warn("Deliveries still running on {} at hand-over; the new owner may send them again",
                                revoked);
                        return;
                    }
                    try {
                        lock.wait(left);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                }
            }
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> lost) {
            drop(lost);
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> assigned) {
            Map<TopicPartition, OffsetAndMetadata> committed = assigned.isEmpty() ? Map.of()
                    : consumer.committed(new java.util.HashSet<>(assigned), Duration.ofSeconds(30));
            synchronized (lock) {
                for (TopicPartition tp : assigned) {
                    PartitionLanes lanes = new PartitionLanes();
                    OffsetAndMetadata previous = committed.get(tp);
                    if (previous != null) {
                        lanes.restore(previous.metadata());
                    }
                    partitions.put(tp, lanes);
                }
            }
            if (!assigned.isEmpty()) {
                LOG.info("Delivery consumer {} assigned {}", endpoint.getGroupId(), assigned);
            }
        }

        private void drop(Collection<TopicPartition> gone) {
            synchronized (lock) {
                for (TopicPartition tp : gone) {
                    PartitionLanes lanes = partitions.remove(tp);
                    if (lanes != null) {
                        lanes.revoke();
                    }
                }
            }
        }
    }
}
