package org.cmm.eventbroker.eventapi;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiFunction;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * The Kafka REST Proxy v2 consumer-instance API, for clients that speak it: {@code POST /consumers/{group}} creates
 * an instance (a real group member, its own KafkaConsumer), {@code .../subscription} subscribes it, {@code GET
 * .../records} polls, {@code POST .../offsets} commits, {@code DELETE} leaves the group. Such an instance lives on the
 * instance of the runtime that created it (the v2 API's nature: a client must come back to the same instance, as
 * with the proxy itself); the stateless cursor read is the way that needs no stickiness. An instance idle for
 * {@code idleTimeoutMs} is closed; only the caller that created it may use it. Every call on one instance is
 * serialised (a KafkaConsumer is single-threaded) and runs off the event loop.
 */
final class ConsumerInstances implements AutoCloseable {

    /** One consumer instance. */
    static final class Instance {
        final String group;
        final String name;
        final String owner;
        final String format;
        final KafkaConsumer<String, byte[]> consumer;
        volatile long lastUsed = System.currentTimeMillis();

        Instance(String group, String name, String owner, String format, KafkaConsumer<String, byte[]> consumer) {
            this.group = group;
            this.name = name;
            this.owner = owner;
            this.format = format;
            this.consumer = consumer;
        }
    }

    private final Map<String, Instance> instances = new ConcurrentHashMap<>();
    private final BiFunction<String, Map<String, Object>, KafkaConsumer<String, byte[]>> factory;
    private final int maxInstances;
    private final long idleTimeoutMs;

    /** @param factory (group, overrides) -> a consumer of that group */
    ConsumerInstances(BiFunction<String, Map<String, Object>, KafkaConsumer<String, byte[]>> factory, int maxInstances,
            long idleTimeoutMs) {
        this.factory = factory;
        this.maxInstances = maxInstances;
        this.idleTimeoutMs = idleTimeoutMs;
    }

    Instance create(String group, JsonNode request, String owner) {
        expire();
        String name = request.path("name").asText(null);
        if (name == null || name.isBlank()) {
            name = "rest-consumer-" + java.util.UUID.randomUUID();
        }
        if (!name.matches("[A-Za-z0-9._-]{1,200}") || !group.matches("[A-Za-z0-9._-]{1,200}")) {
            throw new ApiException(422, 42204, "group and instance names are letters, digits, '.', '_' and '-'.");
        }
        String format = request.path("format").asText("binary").toLowerCase(java.util.Locale.ROOT);
        if (!format.equals("binary") && !format.equals("json")) {
            throw new ApiException(422, 42204, "format must be binary or json (schema formats are not served here).");
        }
        String reset = request.path("auto.offset.reset").asText("latest");
        if (!reset.equals("earliest") && !reset.equals("latest")) {
            throw new ApiException(422, 42204, "auto.offset.reset must be earliest or latest.");
        }
        String autoCommit = request.path("auto.commit.enable").asText("false");
        if (instances.size() >= maxInstances) {
            throw new ApiException(429, 42900, "Too many consumer instances on this instance.");
        }
        String key = group + "/" + name;
        if (instances.containsKey(key)) {
            throw new ApiException(409, 40902, "Consumer instance with the specified name already exists.");
        }
        Map<String, Object> overrides = new HashMap<>();
        overrides.put("auto.offset.reset", reset);
        overrides.put("enable.auto.commit", String.valueOf(Boolean.parseBoolean(autoCommit)));
        Instance instance = new Instance(group, name, owner, format, factory.apply(group, overrides));
        instances.put(key, instance);
        return instance;
    }

    /** The caller's instance, or 404 (never someone else's). */
    Instance get(String group, String name, String caller) {
        Instance i = instances.get(group + "/" + name);
        if (i == null || !i.owner.equals(caller)) {
            throw new ApiException(404, 40403, "Consumer instance not found.");
        }
        i.lastUsed = System.currentTimeMillis();
        return i;
    }

    void subscribe(Instance i, List<String> topics) {
        synchronized (i) {
            i.consumer.subscribe(topics);
        }
    }

    ArrayNode poll(Instance i, long timeoutMs, long maxBytes) {
        ArrayNode out = RecordCodec.JSON.createArrayNode();
        synchronized (i) {
            if (i.consumer.subscription().isEmpty()) {
                throw new ApiException(409, 40903, "The consumer instance is not subscribed to any topic.");
            }
            long bytes = 0;
            Map<TopicPartition, Long> rewind = new HashMap<>();
            for (ConsumerRecord<String, byte[]> r : i.consumer.poll(Duration.ofMillis(timeoutMs))) {
                TopicPartition tp = new TopicPartition(r.topic(), r.partition());
                int size = r.value() == null ? 0 : r.value().length;
                if (rewind.containsKey(tp) || (bytes + size > maxBytes && !out.isEmpty())) {
                    rewind.putIfAbsent(tp, r.offset()); // not returned: read again next time
                    continue;
                }
                bytes += size;
                out.add(v2Record(r, i.format));
            }
            rewind.forEach(i.consumer::seek);
        }
        return out;
    }

    void commit(Instance i, JsonNode request) {
        synchronized (i) {
            JsonNode offsets = request == null ? null : request.get("offsets");
            if (offsets == null || !offsets.isArray() || offsets.isEmpty()) {
                i.consumer.commitSync(Duration.ofSeconds(10));
                return;
            }
            Map<TopicPartition, OffsetAndMetadata> commit = new HashMap<>();
            for (JsonNode o : offsets) {
                if (!o.path("topic").isTextual() || !o.path("partition").canConvertToInt()
                        || !o.path("offset").canConvertToLong()) {
                    throw new ApiException(422, 42204, "Each offset needs topic, partition and offset.");
                }
                // the v2 API commits the offset of the last record consumed: the next to read is one after it
                commit.put(new TopicPartition(o.path("topic").asText(), o.path("partition").asInt()),
                        new OffsetAndMetadata(o.path("offset").asLong() + 1));
            }
            i.consumer.commitSync(commit, Duration.ofSeconds(10));
        }
    }

    void delete(Instance i) {
        instances.remove(i.group + "/" + i.name, i);
        synchronized (i) {
            i.consumer.close(Duration.ofSeconds(2));
        }
    }

    List<String> subscription(Instance i) {
        synchronized (i) {
            return new ArrayList<>(i.consumer.subscription());
        }
    }

    private static ObjectNode v2Record(ConsumerRecord<String, byte[]> r, String format) {
        ObjectNode n = RecordCodec.JSON.createObjectNode();
        n.put("topic", r.topic());
        if (format.equals("binary")) {
            n.put("key", r.key() == null ? null : Base64.getEncoder().encodeToString(
                    r.key().getBytes(java.nio.charset.StandardCharsets.UTF_8)));
            n.put("value", r.value() == null ? null : Base64.getEncoder().encodeToString(r.value()));
        } else {
            n.put("key", r.key());
            if (r.value() == null) {
                n.putNull("value");
            } else {
                try {
                    n.set("value", RecordCodec.JSON.readTree(r.value()));
                } catch (java.io.IOException e) {
                    String text = RecordCodec.utf8(r.value());
                    n.put("value", text != null ? text : Base64.getEncoder().encodeToString(r.value()));
                }
            }
        }
        n.put("partition", r.partition());
        n.put("offset", r.offset());
        n.put("timestamp", r.timestamp());
        return n;
    }

    /** Closes instances idle for longer than the timeout. */
    void expire() {
        long now = System.currentTimeMillis();
        for (Instance i : instances.values()) {
            if (now - i.lastUsed > idleTimeoutMs) {
                delete(i);
            }
        }
    }

    @Override
    public void close() {
        instances.values().forEach(this::delete);
    }
}
