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
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
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
 * A permanently deleted version is a tombstone. Writes go through one instance at a time within this process and
 * are answered only after the instance's own reader has applied them, so a read after a write sees it. Several
 * runtime instances writing at the same moment could pick the same new id: Karapace and Confluent elect one primary
 * writer for that, which is not implemented here (docs/event-api.md).
 */
public final class SchemaStore implements AutoCloseable {

    static final ObjectMapper JSON = new ObjectMapper();
    private static final Logger LOG = LoggerFactory.getLogger(SchemaStore.class);

    /** One registered version of a subject. */
    public record Version(String subject, int version, int id, SchemaType type, String schema, boolean deleted) {
    }

    private final String topic;
    private final KafkaProducer<String, byte[]> producer;
    private final KafkaConsumer<String, byte[]> consumer;
    private final String defaultCompatibility;
    private final Object writeLock = new Object();
    private final Map<String, TreeMap<Integer, Version>> subjects = new HashMap<>();
    private final Map<Integer, Version> byId = new HashMap<>();
    private final Map<String, String> configs = new HashMap<>();
    private volatile long applied = -1; // offset of the last record applied
    private volatile boolean running = true;
    private final Thread readerThread;

    SchemaStore(String topic, KafkaProducer<String, byte[]> producer, Supplier<KafkaConsumer<String, byte[]>> consumers,
            String defaultCompatibility) {
        this.topic = topic;
        this.producer = producer;
        this.consumer = consumers.get();
        this.defaultCompatibility = Compatibility.level(defaultCompatibility);
        TopicPartition partition = new TopicPartition(topic, 0);
        consumer.assign(List.of(partition));
        consumer.seekToBeginning(List.of(partition));
        readerThread = new Thread(this::readLoop, "cmm-schema-registry-reader");
        readerThread.setDaemon(true);
        readerThread.start();
    }

    /** Waits until every record on the topic when called has been applied (start-up: the state is rebuilt). */
    void awaitCaughtUp(Duration timeout) {
        awaitApplied(endOffset(new TopicPartition(topic, 0)) - 1, timeout);
    }

    private long endOffset(TopicPartition partition) {
        synchronized (consumer) {
            // endOffsets is safe beside the reader thread's poll only under the consumer's own lock
            return consumer.endOffsets(List.of(partition), Duration.ofSeconds(30)).get(partition);
        }
    }

    private void readLoop() {
        while (running) {
            try {
                org.apache.kafka.clients.consumer.ConsumerRecords<String, byte[]> records;
                synchronized (consumer) {
                    records = consumer.poll(Duration.ofMillis(100));
                }
                for (ConsumerRecord<String, byte[]> r : records) {
                    apply(r.key(), r.value());
                    synchronized (this) {
                        applied = r.offset();
                        notifyAll();
                    }
                }
                if (records.isEmpty()) {
                    synchronized (this) {
                        wait(20);
                    }
                }
            } catch (WakeupException | InterruptedException e) {
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

    private void awaitApplied(long offset, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (this) {
            while (applied < offset) {
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

    private void write(Map<String, Object> key, Object value) {
        try {
            String k = JSON.writeValueAsString(key);
            byte[] v = value == null ? null : JSON.writeValueAsBytes(value);
            long offset = producer.send(new ProducerRecord<>(topic, 0, k, v)).get(30, TimeUnit.SECONDS).offset();
            awaitApplied(offset, Duration.ofSeconds(30));
        } catch (RegistryException e) {
            throw e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RegistryException(500, 50001, "Interrupted.");
        } catch (Exception e) {
            throw new RegistryException(500, 50001, "Error in the backend data store (" + e.getClass().getSimpleName()
                    + ").");
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
        synchronized (writeLock) {
            Optional<Version> existing = find(subject, type, canonical, false);
            if (existing.isPresent()) {
                return existing.get();
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
            write(schemaKey(subject, version), schemaValue(entry));
            return entry;
        }
    }

    /** Soft- (or, with {@code permanent}, hard-) deletes versions; hard deletion needs a soft one first, as Confluent. */
    List<Integer> delete(String subject, Optional<String> version, boolean permanent) {
        synchronized (writeLock) {
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
            for (Version v : targets) {
                if (permanent) {
                    write(schemaKey(subject, v.version()), null);
                } else if (!v.deleted()) {
                    write(schemaKey(subject, v.version()), schemaValue(new Version(v.subject(), v.version(), v.id(),
                            v.type(), v.schema(), true)));
                }
            }
            if (version.isEmpty() && permanent && configs.containsKey(subject)) {
                setCompatibility(subject, null);
            }
            return targets.stream().map(Version::version).toList();
        }
    }

    /** Sets (or with null removes) the global ({@code subject} null) or a subject's level. */
    void setCompatibility(String subject, String level) {
        Map<String, Object> key = new LinkedHashMap<>();
        key.put("keytype", "CONFIG");
        key.put("subject", subject);
        key.put("magic", 0);
        ObjectNode value = level == null ? null : JSON.createObjectNode().put("compatibilityLevel", level);
        synchronized (writeLock) {
            write(key, value);
        }
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
        producer.close(Duration.ofSeconds(2));
    }
}
