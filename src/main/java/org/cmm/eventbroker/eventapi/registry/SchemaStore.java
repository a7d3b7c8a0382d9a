package org.cmm.eventbroker.eventapi.registry;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Supplier;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The registry's state, kept as Karapace and the Confluent Schema Registry keep it: every change is a record on one
 * compacted single-partition topic ({@code _schemas}), the key naming what it is about, so the latest record per key is
 * the truth and any instance rebuilds the whole state by reading the topic from the beginning. Ids are in the records,
 * so they are stable across restarts. Record formats (Karapace's):
 * <pre>
 * {"keytype":"SCHEMA","subject":"s","version":1,"magic":1} -&gt; {"subject":"s","version":1,"id":1,"schema":"..","deleted":false[,"schemaType":"JSON"]}
 * {"keytype":"CONFIG","subject":null|"s","magic":0}        -&gt; {"compatibilityLevel":"BACKWARD"} (null: subject level removed)
 * </pre>
 * A permanently deleted version is a tombstone.
 *
 * <p><b>Several instances.</b> Confluent and Karapace elect one primary that alone writes; here every instance may
 * write, and Kafka's transactional fencing serialises the writers instead: all instances write with one
 * {@code transactional.id} (the registry's, from configuration). A write (a registration that needs a new id or
 * version, a delete, a config change) first makes sure this instance's producer has called {@code initTransactions()} (which
 * fences every other instance's producer and completes or aborts its open transaction), then reads the topic to its
 * last stable offset ({@code read_committed}), decides on that state (a schema already there: its id, nothing
 * written), and writes its records in one transaction. A commit can only succeed when no other instance initialised
 * since this producer did, that is when nothing was written by anyone between this instance's read and its commit:
 * ids and versions are decided on the whole registry, one writer at a time. A producer fenced by another instance (or
 * any other failure of the transaction) is closed and the write starts again with a new one, after a short random
 * back-off, up to {@code writeAttempts} times; then the request fails with 50001 in the registry's error shape. The
 * producer is kept while writes of this instance follow one another and closed when none waits, so an idle producer
 * is never fenced: a fencing (which Kafka's producer logs as an ERROR, "Aborting producer batches due to fatal error")
 * then means two instances really wrote at the same moment. The reader reads {@code read_committed}, so an aborted or
 * fenced attempt is never seen; records written before writes were transactional (plain records) are read as before.
 * Writes are answered only after the instance's own reader has applied them, so a read after a write sees it.
 */
public final class SchemaStore implements AutoCloseable {

    static final ObjectMapper JSON = new ObjectMapper();
    private static final Logger LOG = LoggerFactory.getLogger(SchemaStore.class);

    /** One registered version of a subject. */
    public record Version(String subject, int version, int id, SchemaType type, String schema, boolean deleted) {
    }

    /** How long a write waits for its read to the topic's end and for its own records to be read back. */
    private static final Duration WRITE_TIMEOUT = Duration.ofSeconds(30);

    private final String topic;
    private final TopicPartition partition;
    private final Supplier<KafkaProducer<String, byte[]>> producers;
    private final int writeAttempts;
    private final KafkaConsumer<String, byte[]> consumer;
    /** Asks for the topic's end offset without waiting for the reader's poll (guarded by itself). */
    private final KafkaConsumer<String, byte[]> endOffsets;
    private final String defaultCompatibility;
    private final Object writeLock = new Object();
    /** Writes of this instance running or waiting for {@link #writeLock}. */
    private final AtomicInteger writesHere = new AtomicInteger();
    private final Map<String, TreeMap<Integer, Version>> subjects = new HashMap<>();
    private final Map<Integer, Version> byId = new HashMap<>();
    private final Map<String, String> configs = new HashMap<>();
    /** The transactional producer, initialised; null between writes and after a failed one (guarded by writeLock). */
    private KafkaProducer<String, byte[]> writer;
    private volatile long position; // the offset of the next record to read: everything before it is applied
    private volatile boolean running = true;
    private final Thread readerThread;

    /**
     * @param producers makes this instance's transactional producer (the registry's {@code transactional.id}, the same
     *        at every instance writing the topic), not yet initialised
     * @param consumers makes the reader ({@code "reader"}) and a consumer asking for the end offset
     *        ({@code "end-offsets"}), both reading {@code read_committed}
     * @param writeAttempts how many times a write is tried when other instances' writes fence it
     */
    SchemaStore(String topic, Supplier<KafkaProducer<String, byte[]>> producers,
            Function<String, KafkaConsumer<String, byte[]>> consumers, String defaultCompatibility, int writeAttempts) {
        if (writeAttempts < 1) {
            throw new IllegalArgumentException("the schema registry's write attempts must be at least 1");
        }
        this.topic = topic;
        this.producers = producers;
        this.writeAttempts = writeAttempts;
        this.consumer = consumers.apply("reader");
        this.endOffsets = consumers.apply("end-offsets");
        this.defaultCompatibility = Compatibility.level(defaultCompatibility);
        partition = new TopicPartition(topic, 0);
        consumer.assign(List.of(partition));
        consumer.seekToBeginning(List.of(partition));
        readerThread = new Thread(this::readLoop, "cmm-schema-registry-reader");
        readerThread.setDaemon(true);
        readerThread.start();
    }

    /**
     * Waits until every committed record on the topic when called (up to its last stable offset) has been applied: at
     * start, the state is rebuilt; before a write, it decides on the whole registry.
     */
    void awaitCaughtUp(Duration timeout) {
        awaitPosition(endOffset(), timeout);
    }

    /** The last stable offset: the consumers read read_committed, so their end offsets are the LSO. */
    private long endOffset() {
        synchronized (endOffsets) {
            return endOffsets.endOffsets(List.of(partition), Duration.ofSeconds(30)).get(partition);
        }
    }

    private void readLoop() {
        while (running) {
            try {
                org.apache.kafka.clients.consumer.ConsumerRecords<String, byte[]> records;
                long next;
                synchronized (consumer) {
                    records = consumer.poll(Duration.ofMillis(100));
                    // past the records polled, and past transaction markers and aborted records, which poll skips
                    next = consumer.position(partition, Duration.ofSeconds(30));
                }
                for (ConsumerRecord<String, byte[]> r : records) {
                    apply(r.key(), r.value());
                }
                if (next != position) {
                    synchronized (this) {
                        position = next;
                        notifyAll();
                    }
                }
            } catch (WakeupException e) {
                return;
            } catch (RuntimeException e) {
                if (running) {
                    LOG.warn("Schema registry reader on {}: {}", topic, e.getClass().getSimpleName());
                }
            }
        }
    }

    private void apply(String key, byte[] value) {
        JsonNode k;
        JsonNode v;
        try {
            k = JSON.readTree(key);
            v = value == null ? null : JSON.readTree(new String(value, StandardCharsets.UTF_8));
        } catch (Exception e) {
            LOG.warn("Skipped a record of {} that is not a registry record", topic);
            return;
        }
        if (k == null) {
            return;
        }
        String keytype = k.path("keytype").asText();
        synchronized (this) {
            if (keytype.equals("SCHEMA")) {
                String subject = k.path("subject").asText();
                int version = k.path("version").asInt();
                TreeMap<Integer, Version> versions = subjects.computeIfAbsent(subject, s -> new TreeMap<>());
                if (v == null || v.isNull()) {
                    versions.remove(version);
                    if (versions.isEmpty()) {
                        subjects.remove(subject);
                    }
                    return;
                }
                Version entry = new Version(subject, version, v.path("id").asInt(),
                        SchemaType.of(v.path("schemaType").asText(null)), v.path("schema").asText(),
                        v.path("deleted").asBoolean(false));
                versions.put(version, entry);
                byId.putIfAbsent(entry.id(), entry);
            } else if (keytype.equals("CONFIG")) {
                String subject = k.path("subject").isNull() ? null : k.path("subject").asText(null);
                if (v == null || v.isNull() || !v.hasNonNull("compatibilityLevel")) {
                    configs.remove(subject);
                } else {
                    configs.put(subject, v.path("compatibilityLevel").asText());
                }
            }
            // other key types (NOOP, DELETE_SUBJECT of other registries) change nothing here
        }
    }

    /** Waits until the reader has applied every record before {@code offset}. */
    private void awaitPosition(long offset, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (this) {
            while (position < offset) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new RegistryException(500, 50002, "The schema store did not catch up with " + topic
                            + " in time.");
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(this, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new RegistryException(500, 50001, "Interrupted.");
                }
            }
        }
    }

    /** A record to write: its key and value (null: a tombstone). */
    private record Change(Map<String, Object> key, Object value) {
    }

    /** What a write decided on the caught-up state: its answer, and the records to write for it (none: no write). */
    private record Decision<T>(T answer, List<Change> changes) {
    }

    @FunctionalInterface
    private interface Decide<T> {
        /** Decides on the state as it is now (caught up with the topic); a refusal throws RegistryException. */
        Decision<T> on();
    }

    /**
     * One write, serialised with every other instance's through the registry's transactional id (class comment):
     * initialise this instance's producer if it has none, read the topic to its end, decide, write the records in
     * one transaction and wait until the reader has applied them. Fenced (another instance wrote meanwhile) or failed,
     * it starts again with a new producer, at most {@code writeAttempts} times.
     */
    private <T> T transact(String what, Decide<T> decide) {
        writesHere.incrementAndGet();
        try {
            synchronized (writeLock) {
                try {
                    return transactOnce(what, decide);
                } finally {
                    if (writesHere.get() == 1) {
                        // no other write of this instance waits: let the producer go, so that it is never fenced
                        // while idle (the next write here makes a new one and fences the others then)
                        discardWriter();
                    }
                }
            }
        } finally {
            writesHere.decrementAndGet();
        }
    }

    /**
     * Runs several writes of this instance one after the other with one producer (the start-up registration of the
     * payload schemas), instead of a new producer for each; it is let go at the end.
     */
    void inOneGo(Runnable writes) {
        writesHere.incrementAndGet();
        try {
            writes.run();
        } finally {
            if (writesHere.decrementAndGet() == 0) {
                synchronized (writeLock) {
                    if (writesHere.get() == 0) {
                        discardWriter();
                    }
                }
            }
        }
    }

    private <T> T transactOnce(String what, Decide<T> decide) {
        String lastFailure = "";
        for (int attempt = 1; attempt <= writeAttempts; attempt++) {
            if (attempt > 1) {
                backOff(attempt);
            }
            try {
                if (writer == null) {
                    KafkaProducer<String, byte[]> fresh = producers.get();
                    try {
                        fresh.initTransactions(); // fences the other instances' producers of this transactional id
                    } catch (RuntimeException e) {
                        fresh.close(Duration.ZERO);
                        throw e;
                    }
                    writer = fresh;
                }
                awaitCaughtUp(WRITE_TIMEOUT);
                Decision<T> decision = decide.on();
                if (decision.changes().isEmpty()) {
                    return decision.answer();
                }
                writer.beginTransaction();
                List<Future<RecordMetadata>> sent = new ArrayList<>();
                for (Change change : decision.changes()) {
                    byte[] value = change.value() == null ? null : JSON.writeValueAsBytes(change.value());
                    sent.add(writer.send(new ProducerRecord<>(topic, 0, JSON.writeValueAsString(change.key()),
                            value)));
                }
                writer.commitTransaction(); // fails when another instance's producer fenced this one
                long last = -1;
                for (Future<RecordMetadata> f : sent) {
                    last = Math.max(last, f.get(WRITE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).offset());
                }
                awaitPosition(last + 1, WRITE_TIMEOUT);
                return decision.answer();
            } catch (RegistryException e) {
                throw e; // refused on the state (409, 404, ...) or the reader did not catch up
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                discardWriter();
                throw new RegistryException(500, 50001, "Interrupted.");
            } catch (Exception e) {
                // fenced (KafkaException), a send that failed (ExecutionException), a timeout, a producer in error
                lastFailure = failure(e);
                LOG.debug("Schema registry write ({}) on {}, attempt {} of {}: {}", what, topic, attempt,
                        writeAttempts, lastFailure);
                discardWriter();
            }
        }
        LOG.warn("Schema registry write ({}) on {} given up after {} attempts: {}", what, topic, writeAttempts,
                lastFailure);
        throw new RegistryException(500, 50001, "Error in the backend data store: the write was not done after "
                + writeAttempts + " attempts (" + lastFailure + "); other instances were writing, try again.");
    }

    /** Fenced: another instance wrote; anything else names its type (never a message, which could name a schema). */
    private static String failure(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof ProducerFencedException || t instanceof InvalidProducerEpochException) {
                return "fenced by another instance's write";
            }
        }
        Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
        return cause.getClass().getSimpleName();
    }

    /**
     * Drops the producer, failed or idle. A transaction it left open is aborted by the next producer's
     * {@code initTransactions()} (this instance's next attempt, or another instance's write), at the latest by the
     * broker after the transaction timeout; asking it to abort could block on a broker that is away.
     */
    private void discardWriter() {
        KafkaProducer<String, byte[]> dropped = writer;
        writer = null;
        if (dropped != null) {
            dropped.close(Duration.ZERO);
        }
    }

    /** A short random pause before another attempt, growing with the attempts, so two instances stop taking turns. */
    private static void backOff(int attempt) {
        long ceiling = Math.min(1000, 20L << Math.min(attempt, 6));
        try {
            TimeUnit.MILLISECONDS.sleep(ThreadLocalRandom.current().nextLong(ceiling / 2, ceiling + 1));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RegistryException(500, 50001, "Interrupted.");
        }
    }

    private static Map<String, Object> schemaKey(String subject, int version) {
        Map<String, Object> key = new LinkedHashMap<>();
        key.put("keytype", "SCHEMA");
        key.put("subject", subject);
        key.put("version", version);
        key.put("magic", 1);
        return key;
    }

    private static Map<String, Object> schemaValue(Version v) {
        Map<String, Object> value = new LinkedHashMap<>();
        value.put("subject", v.subject());
        value.put("version", v.version());
        value.put("id", v.id());
        value.put("schema", v.schema());
        value.put("deleted", v.deleted());
        if (v.type() != SchemaType.AVRO) {
            value.put("schemaType", v.type().name());
        }
        return value;
    }

    // ---- reads ----

    synchronized List<String> subjects(boolean withDeleted) {
        return subjects.entrySet().stream()
                .filter(e -> withDeleted || e.getValue().values().stream().anyMatch(v -> !v.deleted()))
                .map(Map.Entry::getKey).sorted().toList();
    }

    synchronized List<Version> versions(String subject, boolean withDeleted) {
        TreeMap<Integer, Version> versions = subjects.get(subject);
        List<Version> out = versions == null ? List.of()
                : versions.values().stream().filter(v -> withDeleted || !v.deleted()).toList();
        if (out.isEmpty()) {
            throw RegistryException.subjectNotFound(subject);
        }
        return out;
    }

    /** A version by number or {@code latest} (or -1). */
    synchronized Version version(String subject, String version, boolean withDeleted) {
        List<Version> versions = versions(subject, withDeleted);
        if (version.equals("latest") || version.equals("-1")) {
            return versions.get(versions.size() - 1);
        }
        int number;
        try {
            number = Integer.parseInt(version);
        } catch (NumberFormatException e) {
            throw RegistryException.invalidVersion(version);
        }
        if (number < 1) {
            throw RegistryException.invalidVersion(version);
        }
        return versions.stream().filter(v -> v.version() == number).findFirst()
                .orElseThrow(() -> RegistryException.versionNotFound(version));
    }

    synchronized Optional<Version> byId(int id) {
        return Optional.ofNullable(byId.get(id));
    }

    synchronized List<Version> usesOf(int id) {
        List<Version> out = new ArrayList<>();
        subjects.values().forEach(vs -> vs.values().stream().filter(v -> v.id() == id && !v.deleted()).forEach(out::add));
        return out;
    }

    /** The version of the subject holding exactly this schema (canonically), if any. */
    synchronized Optional<Version> find(String subject, SchemaType type, String canonical, boolean withDeleted) {
        TreeMap<Integer, Version> versions = subjects.get(subject);
        if (versions == null) {
            return Optional.empty();
        }
        return versions.values().stream().filter(v -> (withDeleted || !v.deleted()) && v.type() == type
                && v.schema().equals(canonical)).findFirst();
    }

    /** The level in force for a subject: its own, else the global one, else the configured default. */
    synchronized String compatibility(String subject) {
        if (subject != null && configs.containsKey(subject)) {
            return configs.get(subject);
        }
        return configs.getOrDefault(null, defaultCompatibility);
    }

    synchronized Optional<String> subjectCompatibility(String subject) {
        return Optional.ofNullable(configs.get(subject));
    }

    // ---- writes ----

    /** Registers a schema under a subject (or returns the version already holding it), checking compatibility. */
    Version register(String subject, SchemaType type, String schema) {
        String canonical = type.canonical(schema);
        Optional<Version> known = find(subject, type, canonical, false);
        if (known.isPresent()) {
            return known.get(); // already registered: no write, no need to ask the other instances
        }
        return transact("register", () -> {
            Optional<Version> existing = find(subject, type, canonical, false);
            if (existing.isPresent()) {
                return new Decision<>(existing.get(), List.of()); // another instance registered it meanwhile
            }
            List<Version> live;
            synchronized (this) {
                TreeMap<Integer, Version> versions = subjects.get(subject);
                live = versions == null ? List.of() : versions.values().stream().filter(v -> !v.deleted()).toList();
            }
            if (!live.isEmpty() && live.get(live.size() - 1).type() != type) {
                throw new RegistryException(409, 409, "Schema being registered is incompatible with an earlier "
                        + "schema for subject \"" + subject + "\": the schema type changes from "
                        + live.get(live.size() - 1).type() + " to " + type);
            }
            List<String> problems = Compatibility.problems(compatibility(subject), type, canonical,
                    live.stream().map(Version::schema).toList());
            if (!problems.isEmpty()) {
                throw new RegistryException(409, 409, "Schema being registered is incompatible with an earlier "
                        + "schema for subject \"" + subject + "\", details: " + problems);
            }
            int id;
            int version;
            synchronized (this) {
                id = byId.values().stream().filter(v -> v.type() == type && v.schema().equals(canonical))
                        .mapToInt(Version::id).findFirst()
                        .orElseGet(() -> byId.keySet().stream().mapToInt(Integer::intValue).max().orElse(0) + 1);
                TreeMap<Integer, Version> versions = subjects.get(subject);
                version = versions == null || versions.isEmpty() ? 1 : versions.lastKey() + 1;
            }
            Version entry = new Version(subject, version, id, type, canonical, false);
            return new Decision<>(entry, List.of(new Change(schemaKey(subject, version), schemaValue(entry))));
        });
    }

    /**
     * Soft- (or, with {@code permanent}, hard-) deletes versions; hard deletion needs a soft one first, as Confluent.
     * Decided on the caught-up state and written in one transaction (all of a subject's versions at once).
     */
    List<Integer> delete(String subject, Optional<String> version, boolean permanent) {
        return transact("delete", () -> {
            List<Version> targets;
            if (version.isPresent()) {
                targets = List.of(version(subject, version.get(), permanent));
            } else {
                targets = versions(subject, permanent);
            }
            for (Version v : targets) {
                if (permanent && !v.deleted()) {
                    throw new RegistryException(404, version.isPresent() ? 40407 : 40405, "Subject '" + subject
                            + "' " + (version.isPresent() ? "version " + v.version() + " " : "")
                            + "was not deleted first before being permanently deleted");
                }
            }
            List<Change> changes = new ArrayList<>();
            for (Version v : targets) {
                if (permanent) {
                    changes.add(new Change(schemaKey(subject, v.version()), null));
                } else if (!v.deleted()) {
                    changes.add(new Change(schemaKey(subject, v.version()), schemaValue(new Version(v.subject(),
                            v.version(), v.id(), v.type(), v.schema(), true))));
                }
            }
            boolean hasConfig;
            synchronized (this) {
                hasConfig = configs.containsKey(subject);
            }
            if (version.isEmpty() && permanent && hasConfig) {
                changes.add(new Change(configKey(subject), null));
            }
            return new Decision<>(targets.stream().map(Version::version).toList(), changes);
        });
    }

    /**
     * Sets (or with null removes) the global ({@code subject} null) or a subject's level. A level set by two instances
     * at once ends as the one written last, as with one registry; it goes through the same transactional write so
     * that a registration never decides on a level another instance is changing.
     */
    void setCompatibility(String subject, String level) {
        ObjectNode value = level == null ? null : JSON.createObjectNode().put("compatibilityLevel", level);
        transact("config", () -> new Decision<>(null, List.of(new Change(configKey(subject), value))));
    }

    private static Map<String, Object> configKey(String subject) {
        Map<String, Object> key = new LinkedHashMap<>();
        key.put("keytype", "CONFIG");
        key.put("subject", subject);
        key.put("magic", 0);
        return key;
    }

    @Override
    public void close() {
        running = false;
        consumer.wakeup();
        try {
            readerThread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (consumer) {
            consumer.close(Duration.ofSeconds(2));
        }
        synchronized (endOffsets) {
            endOffsets.close(Duration.ofSeconds(2));
        }
        synchronized (writeLock) {
            if (writer != null) {
                writer.close(Duration.ofSeconds(2));
                writer = null;
            }
        }
    }
}
