package org.cmm.eventbroker.fhir.bulk;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.cmm.eventbroker.platform.kafka.CompactedTopic;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.cmm.eventbroker.platform.kafka.TopicsToEnd;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The state of bulk jobs (export or import), one JSON record per job id on a compacted topic: the last record of a
 * job is its truth. Every instance keeps following the topic ({@link JobTopicFollower}), so it knows every job's
 * current state, whichever instance wrote it.
 *
 * <p><b>One runner per job across instances: a lease.</b> Each record names its {@code owner} (the instance id) and
 * {@code leaseUntil}; the runner renews the lease every third of {@code leaseMs}. An instance takes a job (at its
 * start, or when it sees the lease run out, or the job unowned) only through the job's own transactional producer
 * ({@code cmm-<topic>-<job>}): {@code initTransactions} fences every other producer of that job id (the previous
 * runner's, which may be alive behind a partition) and aborts its open transaction; the job's latest state is then
 * read (read_committed) and taken unless it has ended. From then on each progress write of the runner is a
 * transaction of that producer, so the previous runner's next write fails as fenced, and a runner whose write is
 * fenced, or who sees another instance's record of its job on the topic, stops working on the job at once
 * ({@link JobRunner#lost}). A runtime that stops releases its leases (the next one takes them at once); one that dies
 * leaves them to run out. Clocks of the instances must agree to well within the lease.
 *
 * <p>The end of a job, its final state and its completion event, is one transaction of the same producer, so the
 * completion is published once.
 */
final class BulkJobStore implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(BulkJobStore.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The instance running the job (absent: nobody, it may be taken at once). */
    static final String OWNER = "owner";
    /** Until when the owner holds the job (an instant); past it, any instance may take the job. */
    static final String LEASE_UNTIL = "leaseUntil";

    /** What runs the jobs this instance took. */
    interface JobRunner {
        /** Runs the job; this instance holds its lease until this returns. */
        void run(String jobId);

        /** This instance lost the job (another took it, or cancelled it): the runner stops working on it at once. */
        void lost(String jobId);
    }

    /** A job's state and the offset of the record it came from (this instance's writes and the topic's, ordered). */
    private record Known(long offset, ObjectNode state) {
    }

    private final KafkaClients kafka;
    private final String topic;
    private final long writeTimeoutMs;
    private final Duration loadTimeout;
    private final long leaseMs;
    private final String instanceId;
    private final Map<String, Known> jobs = new ConcurrentHashMap<>();
    private final Map<String, JobLease> held = new ConcurrentHashMap<>();
    /** Jobs handed to the workers and not yet returned, so a job is never queued twice here. */
    private final Set<String> queued = ConcurrentHashMap.newKeySet();
    private final KafkaProducer<String, byte[]> producer;
    private final JobTopicFollower follower;
    private ScheduledExecutorService leases;
    private ExecutorService workers;
    private JobRunner runner;
    private volatile boolean closing;

    BulkJobStore(KafkaClients kafka, String topic, long writeTimeoutMs, Duration loadTimeout, long leaseMs)
            throws Exception {
        if (leaseMs < 300) {
            throw new IllegalArgumentException("Bulk jobs: the lease (cmm.bulk.lease-ms) is at least 300 ms");
        }
        this.kafka = kafka;
        this.topic = topic;
        this.writeTimeoutMs = writeTimeoutMs;
        this.loadTimeout = loadTimeout;
        this.leaseMs = leaseMs;
        this.instanceId = System.getenv().getOrDefault("HOSTNAME", "instance") + "-"
                + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
        CompactedTopic.ensure(kafka, topic, 1);
        follower = new JobTopicFollower(kafka, topic, loadTimeout, this::followed);
        producer = kafka.producer("bulk-jobs-" + topic, Map.of(
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true",
                ProducerConfig.LINGER_MS_CONFIG, "0",
                ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, String.valueOf(writeTimeoutMs),
                ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, String.valueOf(Math.max(1000, writeTimeoutMs / 2)),
                ProducerConfig.MAX_BLOCK_MS_CONFIG, String.valueOf(Math.max(1000, writeTimeoutMs / 2))));
    }

    /** This runtime's name in the jobs' {@code owner} field (the host name and a random suffix per start). */
    String instanceId() {
        return instanceId;
    }

    /**
     * Starts taking jobs: now (those running when the runtime stopped, released or unowned) and whenever a lease is
     * seen to run out; renews the leases held, every third of the lease.
     */
    void runJobs(ExecutorService workers, JobRunner runner) {
        this.workers = workers;
        this.runner = runner;
        leases = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "fhir-bulk-lease-" + topic);
            t.setDaemon(true);
            return t;
        });
        leases.scheduleWithFixedDelay(this::tick, 0, Math.max(100, leaseMs / 3), TimeUnit.MILLISECONDS);
    }

    /** Hands the job to the workers, which run it if this instance can take its lease (a job just accepted here). */
    void run(String jobId) {
        if (closing || workers == null || !queued.add(jobId)) {
            return;
        }
        try {
            workers.submit(() -> take(jobId));
        } catch (RejectedExecutionException stopping) {
            queued.remove(jobId);
        }
    }

    Optional<ObjectNode> get(String jobId) {
        Known known = jobs.get(jobId);
        return known == null ? Optional.empty() : Optional.of(known.state().deepCopy());
    }

    List<ObjectNode> all() {
        List<ObjectNode> copies = new ArrayList<>();
        jobs.values().forEach(k -> copies.add(k.state().deepCopy()));
        return copies;
    }

    /** Whether this instance holds the job's lease now (it is running it). */
    boolean runs(String jobId) {
        return held.containsKey(jobId);
    }

    /** Whether this instance was running the job and lost it (it must not write anything of it any more). */
    boolean lost(String jobId) {
        JobLease lease = held.get(jobId);
        return lease != null && lease.lost.get();
    }

    /**
     * Stores the job's new state; returns once Kafka acknowledged it. The runner of the job writes through its lease
     * (a {@link JobLostException} when another instance took the job); a new job is written owned by this instance.
     */
    void put(String jobId, ObjectNode state) throws Exception {
        JobLease lease = held.get(jobId);
        if (lease != null) {
            lease.write(state);
            return;
        }
        ObjectNode stamped = stamp(state.deepCopy(), Instant.now().plusMillis(leaseMs));
        RecordMetadata written = send(new ProducerRecord<>(topic, jobId, JSON.writeValueAsBytes(stamped)));
        known(jobId, written.offset(), stamped);
    }

    /**
     * Cancels the job wherever it runs: through its lease here, or else through its transactional producer, which
     * fences the runner at another instance (its next write fails; it also sees the cancel on the topic and stops).
     *
     * @return the job's cancelled state, with the parts written as the topic last had them; empty when unknown
     */
    Optional<ObjectNode> cancel(String jobId) throws Exception {
        JobLease lease = held.get(jobId);
        ObjectNode running = lease == null || lease.lost.get() ? null : lease.last();
        if (running != null) {
            running.put("status", "cancelled");
            try {
                lease.write(running);
                return Optional.of(running);
            } catch (IllegalStateException e) {
                // taken by another instance meanwhile (or ended here just now): cancelled on the topic below
            }
        }
        for (int attempt = 1; ; attempt++) {
            try (KafkaProducer<String, byte[]> once = transactional(jobId)) {
                once.initTransactions();
                ObjectNode latest = latest(jobId);
                if (latest == null) {
                    return Optional.empty();
                }
                latest.put("status", "cancelled");
                stamp(latest, Instant.now());
                once.beginTransaction();
                Future<RecordMetadata> sent = once.send(new ProducerRecord<>(topic, jobId, JSON.writeValueAsBytes(latest)));
                once.commitTransaction();
                known(jobId, sent.get().offset(), latest);
                return Optional.of(latest);
            } catch (KafkaException e) {
                if (!fenced(e) || attempt == 3) {
                    throw e;
                }
                // another instance took the job between our fence and our write: fence it in turn
            }
        }
    }

    /**
     * Ends a job once: its final state (completed, failed) and its completion event are written in one Kafka transaction
     * of the job's transactional producer, so no restart can leave one without the other. The runner holding the
     * lease ends it through the lease: fenced (another instance took the job), nothing is published and this returns
     * false. Without a lease here (not the normal path), the producer is started for this end: that fences any other
     * producer of the job, and the job topic is then read to its end (read_committed) to see whether it already ended.
     * Readers of the completions topic see one completion per job when they read with {@code isolation.level =
     * read_committed} (an aborted attempt stays in the log for read_uncommitted readers).
     *
     * @return true when this call ended the job; false when it was already ended (completed, failed or cancelled),
     *         another instance ended it meanwhile, or this instance lost the job
     */
    boolean finish(String jobId, ObjectNode state, String completionTopic, ObjectNode completion) throws Exception {
        JobLease lease = held.get(jobId);
        if (lease != null) {
            return lease.finish(state, completionTopic, completion);
        }
        for (int attempt = 1; attempt <= 3; attempt++) {
            try {
                return finishOnce(jobId, state, completionTopic, completion);
            } catch (KafkaException e) {
                if (!fenced(e)) {
                    throw e;
                }
                // another instance started ending this job after us: ours was aborted. Wait for its end to be on the
                // topic; if it never comes (that instance stopped in the middle), try again
                ObjectNode ended = awaitEnd(jobId);
                if (ended != null) {
                    return false;
                }
            }
        }
        throw new IllegalStateException("Job " + jobId + " not ended: other producers of its end fenced this one three times");
    }

    private boolean finishOnce(String jobId, ObjectNode state, String completionTopic, ObjectNode completion)
            throws Exception {
        try (KafkaProducer<String, byte[]> once = transactional(jobId)) {
            once.initTransactions();
            ObjectNode latest = latest(jobId);
            if (latest != null && ended(latest)) {
                return false;
            }
            ObjectNode stamped = stamp(state.deepCopy(), Instant.now());
            once.beginTransaction();
            Future<RecordMetadata> sent = once.send(new ProducerRecord<>(topic, jobId, JSON.writeValueAsBytes(stamped)));
            once.send(new ProducerRecord<>(completionTopic, jobId,
                    JSON.writeValueAsString(completion).getBytes(StandardCharsets.UTF_8)));
            once.commitTransaction();
            known(jobId, sent.get().offset(), stamped);
            return true;
        }
    }

    // ---- taking, renewing and releasing leases ---------------------------------------------------------------------

    /** Every third of the lease: renew the leases held, then take the jobs whose lease ran out (or that are unowned). */
    private void tick() {
        try {
            for (JobLease lease : held.values()) {
                lease.renew();
            }
            for (Map.Entry<String, Known> job : jobs.entrySet()) {
                if (!closing && !held.containsKey(job.getKey()) && !queued.contains(job.getKey())
                        && takeable(job.getValue().state())) {
                    run(job.getKey());
                }
            }
        } catch (RuntimeException e) {
            LOG.warn("Bulk jobs ({}): lease round failed ({})", topic, e.getClass().getSimpleName());
        }
    }

    /** In a worker: takes the job's lease, runs it, and releases the lease if the job did not end. */
    private void take(String jobId) {
        try {
            JobLease lease = acquire(jobId);
            if (lease == null) {
                return;
            }
            try {
                runner.run(jobId);
            } finally {
                held.remove(jobId, lease);
                boolean interrupted = Thread.interrupted(); // the runtime stopping: the release still gets written
                lease.close();
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
        } catch (JobLostException e) {
            LOG.info("Bulk job {} ({}): not taken, another instance took or cancelled it meanwhile", jobId, topic);
        } catch (Exception e) {
            if (!closing) {
                LOG.warn("Bulk job {} ({}): not taken ({}: {}); tried again at the next lease round", jobId, topic,
                        e.getClass().getSimpleName(), e.getMessage());
            }
        } finally {
            queued.remove(jobId);
        }
    }

    /**
     * Takes the job if it is free (unowned, its lease run out, or owned by this instance): starting its transactional
     * producer fences every other one, and the job's latest committed state is read after that and written back owned
     * by this instance. Null when the job is not free, or has ended.
     */
    private JobLease acquire(String jobId) throws Exception {
        Known known = jobs.get(jobId);
        if (closing || known == null || !takeable(known.state())) {
            return null;
        }
        KafkaProducer<String, byte[]> transactional = transactional(jobId);
        JobLease lease = null;
        try {
            transactional.initTransactions();
            // whoever held the job before cannot write it any more: what the topic holds now is the job's state
            ObjectNode latest = latest(jobId);
            if (latest == null || ended(latest)) {
                transactional.close(Duration.ofSeconds(5));
                return null;
            }
            String previous = latest.path(OWNER).asText("");
            lease = new JobLease(jobId, transactional);
            held.put(jobId, lease);
            lease.write(latest);
            if (!previous.isEmpty() && !previous.equals(instanceId)) {
                LOG.info("Bulk job {} ({}): taken over by {} from {}, whose lease ran out", jobId, topic, instanceId,
                        previous);
            } else {
                LOG.info("Bulk job {} ({}): run by {}", jobId, topic, instanceId);
            }
            return lease;
        } catch (Exception | Error e) {
            if (lease != null) {
                held.remove(jobId, lease);
            }
            transactional.close(Duration.ZERO);
            throw e;
        }
    }

    private boolean takeable(ObjectNode job) {
        if (ended(job)) {
            return false;
        }
        String owner = job.path(OWNER).asText("");
        if (owner.isEmpty() || owner.equals(instanceId)) {
            return true;
        }
        try {
            return Instant.parse(job.path(LEASE_UNTIL).asText()).isBefore(Instant.now());
        } catch (DateTimeParseException e) {
            return true; // a record without a lease: written before leases, nobody holds it
        }
    }

    private ObjectNode stamp(ObjectNode state, Instant leaseUntil) {
        state.put(OWNER, instanceId);
        state.put(LEASE_UNTIL, leaseUntil.toString());
        return state;
    }

    /** A record of the topic, read by the follower: the job's state, and a sign that this instance lost it. */
    private void followed(long offset, String jobId, byte[] value) {
        ObjectNode state = null;
        if (value != null) {
            try {
                state = (ObjectNode) JSON.readTree(value);
            } catch (Exception unreadable) {
                state = null;
            }
        }
        JobLease lease = held.get(jobId);
        if (lease != null && offset > lease.claimOffset && (state == null || !instanceId.equals(state.path(OWNER).asText()))) {
            // before the map shows it: a status that answers with the other instance's write implies the runner knows
            lease.lose(state != null && "cancelled".equals(state.path("status").asText())
                    ? "it was cancelled at " + state.path(OWNER).asText("another instance")
                    : "instance " + (state == null ? "unknown" : state.path(OWNER).asText("unknown")) + " wrote it");
        }
        known(jobId, offset, state);
    }

    /** The job's state as of this offset, unless a later record of it is known already. */
    private void known(String jobId, long offset, ObjectNode state) {
        jobs.compute(jobId, (id, old) -> old != null && old.offset() >= offset ? old
                : state == null ? null : new Known(offset, state.deepCopy()));
    }

    private KafkaProducer<String, byte[]> transactional(String jobId) {
        return kafka.producer("bulk-jobs-" + topic + "-" + jobId, Map.of(
                ProducerConfig.TRANSACTIONAL_ID_CONFIG, "cmm-" + topic + "-" + jobId,
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true",
                ProducerConfig.LINGER_MS_CONFIG, "0",
                ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, String.valueOf(writeTimeoutMs),
                ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, String.valueOf(Math.max(1000, writeTimeoutMs / 2)),
                ProducerConfig.MAX_BLOCK_MS_CONFIG, String.valueOf(Math.max(1000, writeTimeoutMs)),
                // a runner killed in the middle of a write leaves its transaction open, which holds back every
                // read_committed reader of the topic until it is aborted: by the takeover (initTransactions) or by
                // this timeout, whichever comes first
                ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, String.valueOf(Math.max(leaseMs, 2 * writeTimeoutMs))));
    }

    static boolean fenced(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof ProducerFencedException || t instanceof InvalidProducerEpochException) {
                return true;
            }
        }
        return false;
    }

    /** The job's end once it is on the topic (another instance is committing it), or null after the write timeout. */
    private ObjectNode awaitEnd(String jobId) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(writeTimeoutMs);
        do {
            ObjectNode latest = latest(jobId);
            if (latest != null && ended(latest)) {
                return latest;
            }
            TimeUnit.MILLISECONDS.sleep(200); // the other instance's commit is under way
        } while (System.nanoTime() < deadline);
        return null;
    }

    static boolean ended(ObjectNode job) {
        String status = job.path("status").asText();
        return status.equals("completed") || status.equals("failed") || status.equals("cancelled");
    }

    /** The job's last committed state on the topic, read now to its end; null when the topic has none. */
    private ObjectNode latest(String jobId) throws Exception {
        ObjectNode[] found = new ObjectNode[1];
        long[] at = {-1};
        try (KafkaConsumer<String, byte[]> reader = kafka.consumer("bulk-jobs-check-" + topic, null, Map.of(
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false",
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"))) {
            TopicsToEnd.read(reader, List.of(topic), 0, loadTimeout, r -> {
                if (jobId.equals(r.key())) {
                    at[0] = r.offset();
                    try {
                        found[0] = r.value() == null ? null : (ObjectNode) JSON.readTree(r.value());
                    } catch (Exception unreadable) {
                        found[0] = null;
                    }
                }
            });
        }
        if (at[0] >= 0) {
            known(jobId, at[0], found[0]);
        }
        return found[0];
    }

    private RecordMetadata send(ProducerRecord<String, byte[]> record) throws Exception {
        try {
            return producer.send(record).get(writeTimeoutMs + 1000, TimeUnit.MILLISECONDS);
        } catch (ExecutionException | TimeoutException e) {
            Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
            throw new IllegalStateException(record.key() + " not written to " + record.topic() + ": "
                    + cause.getClass().getSimpleName(), cause);
        }
    }

    @Override
    public void close() {
        closing = true;
        if (leases != null) {
            leases.shutdownNow();
            try {
                leases.awaitTermination(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        // the workers have stopped and released theirs; a lease left (a worker that did not stop in time) is released
        for (JobLease lease : held.values()) {
            lease.close();
        }
        held.clear();
        follower.close();
        producer.close(Duration.ofSeconds(10));
    }

    /** This instance was running the job, and another instance took it (or cancelled it): stop, write nothing. */
    static final class JobLostException extends IllegalStateException {
        JobLostException(String message) {
            super(message);
        }
    }

    /**
     * The lease of one job this instance runs: the job's transactional producer, through which every write of the
     * job goes (one transaction each), and the last state written, which the renewals write again.
     */
    private final class JobLease {
        private final String jobId;
        private final KafkaProducer<String, byte[]> producer;
        private final AtomicBoolean lost = new AtomicBoolean();
        /** The offset of the claim: a record of another instance after it means the job was taken or cancelled. */
        private volatile long claimOffset = Long.MAX_VALUE;
        private ObjectNode last;
        private Instant until = Instant.MIN;
        private boolean ended;
        private boolean closed;

        JobLease(String jobId, KafkaProducer<String, byte[]> producer) {
            this.jobId = jobId;
            this.producer = producer;
        }

        /** The last state written, or null before the claim. */
        synchronized ObjectNode last() {
            return last == null ? null : last.deepCopy();
        }

        synchronized void write(ObjectNode state) throws Exception {
            usable();
            Instant next = Instant.now().plusMillis(leaseMs);
            ObjectNode stamped = stamp(state.deepCopy(), next);
            long offset = commit(new ProducerRecord<>(topic, jobId, JSON.writeValueAsBytes(stamped)), null);
            last = stamped;
            until = next;
            ended = ended(stamped);
            if (claimOffset == Long.MAX_VALUE) {
                claimOffset = offset;
            }
            known(jobId, offset, stamped);
        }

        synchronized boolean finish(ObjectNode state, String completionTopic, ObjectNode completion) throws Exception {
            if (lost.get()) {
                return false;
            }
            usable();
            ObjectNode stamped = stamp(state.deepCopy(), Instant.now());
            try {
                long offset = commit(new ProducerRecord<>(topic, jobId, JSON.writeValueAsBytes(stamped)),
                        new ProducerRecord<>(completionTopic, jobId,
                                JSON.writeValueAsString(completion).getBytes(StandardCharsets.UTF_8)));
                last = stamped;
                ended = true;
                known(jobId, offset, stamped);
                return true;
            } catch (JobLostException e) {
                return false;
            }
        }

        /** Writes the last state again with a lease from now; a runner whose lease ran out unrenewed gives up. */
        synchronized void renew() {
            if (closed || ended || lost.get() || last == null) {
                return;
            }
            if (Instant.now().isAfter(until)) {
                lose("its lease ran out before it could be renewed (Kafka unreachable?)");
                return;
            }
            try {
                write(last);
            } catch (JobLostException e) {
                // lose() said why
            } catch (Exception e) {
                LOG.warn("Bulk job {} ({}): lease not renewed ({}); trying again", jobId, topic, e.getClass().getSimpleName());
            }
        }

        /** The runner returned: a job that has not ended is released (unowned: any instance takes it at once). */
        synchronized void close() {
            if (closed) {
                return;
            }
            closed = true;
            try {
                if (!ended && !lost.get() && last != null) {
                    ObjectNode released = last.deepCopy();
                    released.remove(OWNER);
                    released.remove(LEASE_UNTIL);
                    long offset = commit(new ProducerRecord<>(topic, jobId, JSON.writeValueAsBytes(released)), null);
                    known(jobId, offset, released);
                    LOG.info("Bulk job {} ({}): released by {}", jobId, topic, instanceId);
                }
            } catch (Exception e) {
                LOG.info("Bulk job {} ({}): not released ({}); its lease runs out in {} ms", jobId, topic,
                        e.getClass().getSimpleName(), leaseMs);
            } finally {
                producer.close(Duration.ofSeconds(5));
            }
        }

        void lose(String why) {
            if (lost.compareAndSet(false, true)) {
                LOG.info("Bulk job {} ({}): {} stops working on it: {}", jobId, topic, instanceId, why);
                try {
                    runner.lost(jobId);
                } catch (RuntimeException e) {
                    LOG.warn("Bulk job {}: stopping its runner failed ({})", jobId, e.getClass().getSimpleName());
                }
            }
        }

        private void usable() {
            if (lost.get()) {
                throw new JobLostException("Bulk job " + jobId + " was taken by another instance");
            }
            if (ended || closed) {
                throw new IllegalStateException("Bulk job " + jobId + " has ended here: nothing more is written");
            }
        }

        /** One transaction of the job's producer; the offset of the first record. */
        private long commit(ProducerRecord<String, byte[]> state, ProducerRecord<String, byte[]> completion)
                throws Exception {
            try {
                producer.beginTransaction();
                Future<RecordMetadata> sent = producer.send(state);
                if (completion != null) {
                    producer.send(completion);
                }
                producer.commitTransaction();
                return sent.get(writeTimeoutMs, TimeUnit.MILLISECONDS).offset();
            } catch (KafkaException e) {
                if (fenced(e)) {
                    lose("another instance took it (this instance's write was fenced)");
                    throw new JobLostException("Bulk job " + jobId + " was taken by another instance");
                }
                try {
                    producer.abortTransaction();
                } catch (KafkaException notAborted) {
                    // the producer cannot go on: another start of the job (here or elsewhere) takes it over
                    lose("its Kafka producer failed (" + e.getClass().getSimpleName() + ")");
                }
                throw e;
            }
        }
    }
}
