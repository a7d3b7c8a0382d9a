package org.cmm.eventbroker.eventapi.registry;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.avro.Schema;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Two runtime instances of the schema registry flow on one broker (as two Camel K replicas behind one Service), with
 * clients registering at both at once: ids and versions stay those of one registry. Every id names exactly one schema
 * at both instances, the same schema gets one id wherever it is registered, and each subject's versions are 1..n
 * without gaps or overwritten versions. A record written to {@code _schemas} the way the registry wrote it before
 * its writes became transactional (a plain, non-transactional record) is still read by both. Two more tests drive a
 * {@link SchemaStore} of their own on the same broker, with a rival producer of the same transactional id that writes
 * just before the store commits (another instance registering at that moment): the store's write is aborted, never
 * seen, and done again on the rival's state; fenced every time, it gives up with 50001.
 */
class SchemaRegistryInstancesIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String MEDIA = "application/vnd.schemaregistry.v1+json";
    private static final int THREADS_PER_INSTANCE = 3;
    private static final int SCHEMAS_PER_THREAD = 6;
    private static final int SUBJECTS = 3;
    private static final int SHARED = 4;
    private static final int LEGACY_ID = 1000;
    private static final String LEGACY = "{\"type\":\"record\",\"name\":\"Legacy\",\"namespace\":\"cmm.it\","
            + "\"fields\":[{\"name\":\"id\",\"type\":\"string\"}]}";

    private static RuntimeUnderTest first;
    private static RuntimeUnderTest second;
    private static HttpClient http;

    @BeforeAll
    static void start() throws Exception {
        http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        first = RuntimeUnderTest.flows("schema-registry").start();
        // a version and a subject-level config as the registry wrote them before its writes were transactional
        try (KafkaProducer<String, byte[]> plain = KafkaClients.forBootstrap(first.bootstrapServers())
                .producer("schema-registry-instances-it", Map.of())) {
            plain.send(new ProducerRecord<>("_schemas", 0,
                    "{\"keytype\":\"SCHEMA\",\"subject\":\"it.legacy-value\",\"version\":1,\"magic\":1}",
                    JSON.createObjectNode().put("subject", "it.legacy-value").put("version", 1).put("id", LEGACY_ID)
                            .put("schema", canonical(LEGACY)).put("deleted", false).toString()
                            .getBytes(StandardCharsets.UTF_8))).get(30, TimeUnit.SECONDS);
            plain.send(new ProducerRecord<>("_schemas", 0,
                    "{\"keytype\":\"CONFIG\",\"subject\":\"it.legacy-value\",\"magic\":0}",
                    "{\"compatibilityLevel\":\"FULL\"}".getBytes(StandardCharsets.UTF_8))).get(30, TimeUnit.SECONDS);
        }
        second = RuntimeUnderTest.flows("schema-registry").broker(first.broker()).start();
    }

    @AfterAll
    static void stop() throws Exception {
        if (second != null) {
            second.close();
        }
        if (first != null) {
            first.close();
        }
    }

    @Test
    void recordsWrittenBeforeTheRegistryWroteInTransactionsStillLoadAtBothInstances() throws Exception {
        for (RuntimeUnderTest env : List.of(first, second)) {
            await().atMost(Duration.ofSeconds(60)).until(() -> call(env, "GET", "/schemas/ids/" + LEGACY_ID, null)
                    .statusCode() == 200);
            JsonNode version = ok(env, "GET", "/subjects/it.legacy-value/versions/1", null);
            assertEquals(LEGACY_ID, version.path("id").asInt());
            assertEquals(canonical(LEGACY), canonical(version.path("schema").asText()));
            assertEquals("FULL", ok(env, "GET", "/config/it.legacy-value", null).path("compatibilityLevel").asText());
        }
    }

    @Test
    void clientsRegisteringAtBothInstancesAtOnceGetOneIdPerSchemaAndConsecutiveVersions() throws Exception {
        List<RuntimeUnderTest> instances = List.of(first, second);
        // what each registration answered: canonical schema -> the ids answered for it
        Map<String, Set<Integer>> answered = new ConcurrentHashMap<>();
        Map<String, Set<String>> expectedBySubject = new ConcurrentHashMap<>();
        ExecutorService pool = Executors.newFixedThreadPool(instances.size() * THREADS_PER_INSTANCE);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<?>> work = new ArrayList<>();
        try {
            for (int i = 0; i < instances.size(); i++) {
                RuntimeUnderTest env = instances.get(i);
                for (int t = 0; t < THREADS_PER_INSTANCE; t++) {
                    String thread = "i" + i + "t" + t;
                    int offset = t;
                    work.add(pool.submit(() -> {
                        go.await();
                        for (int k = 0; k < SCHEMAS_PER_THREAD; k++) {
                            // distinct schemas, one field of their own, spread over a few subjects
                            String subject = "it.multi" + (k % SUBJECTS) + "-value";
                            register(env, subject, multi(thread + "_" + k), answered, expectedBySubject);
                            // shared schemas: every thread of both instances registers each of them
                            register(env, "it.shared-value", shared((k + offset) % SHARED), answered,
                                    expectedBySubject);
                        }
                        return null;
                    }));
                }
            }
            go.countDown();
            for (Future<?> f : work) {
                f.get(180, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }

        // both instances hold the same registry once each has read what the other wrote (each answered a
        // registration only after applying it itself, so equal means both hold every registration)
        Map<String, TreeMap<Integer, JsonNode>> atFirst = new HashMap<>();
        await().atMost(Duration.ofSeconds(60)).until(() -> {
            Map<String, TreeMap<Integer, JsonNode>> a = dump(first);
            atFirst.clear();
            atFirst.putAll(a);
            return a.keySet().containsAll(expectedBySubject.keySet()) && a.equals(dump(second));
        });

        // every id names exactly one schema and every schema has exactly one id, over all subjects
        Map<Integer, String> schemaById = new HashMap<>();
        Map<String, Integer> idBySchema = new HashMap<>();
        for (var subject : atFirst.entrySet()) {
            for (JsonNode v : subject.getValue().values()) {
                int id = v.path("id").asInt();
                String schema = v.path("schemaType").asText() + ":" + canonical(v.path("schemaType").asText(),
                        v.path("schema").asText());
                String before = schemaById.putIfAbsent(id, schema);
                assertTrue(before == null || before.equals(schema), "id " + id + " names two schemas");
                Integer idBefore = idBySchema.putIfAbsent(schema, id);
                assertTrue(idBefore == null || idBefore == id, "one schema got the ids " + idBefore + " and " + id);
            }
        }
        // each subject: versions 1..n, n the number of distinct schemas registered there, each of them present
        for (var expected : expectedBySubject.entrySet()) {
            TreeMap<Integer, JsonNode> versions = atFirst.get(expected.getKey());
            assertNotNull(versions, expected.getKey());
            List<Integer> numbers = new ArrayList<>(versions.keySet());
            List<Integer> consecutive = new ArrayList<>();
            for (int n = 1; n <= expected.getValue().size(); n++) {
                consecutive.add(n);
            }
            assertEquals(consecutive, numbers, expected.getKey() + ": versions");
            Set<String> held = new HashSet<>();
            versions.values().forEach(v -> held.add(canonical(v.path("schema").asText())));
            assertEquals(expected.getValue(), held, expected.getKey() + ": schemas");
        }
        // every registration answered the one id of its schema, which both instances resolve to that schema
        for (var entry : answered.entrySet()) {
            assertEquals(1, entry.getValue().size(), "one schema answered with the ids " + entry.getValue());
            int id = entry.getValue().iterator().next();
            assertEquals(idBySchema.get("AVRO:" + entry.getKey()), id);
            for (RuntimeUnderTest env : instances) {
                JsonNode byId = ok(env, "GET", "/schemas/ids/" + id, null);
                String type = byId.path("schemaType").asText("AVRO");
                assertEquals("AVRO:" + entry.getKey(), type + ":" + canonical(type, byId.path("schema").asText()),
                        "schema " + id);
            }
        }
        assertEquals(instances.size() * THREADS_PER_INSTANCE * SCHEMAS_PER_THREAD + SHARED,
                answered.size(), "schemas registered");
        assertTrue(idBySchema.get("AVRO:" + canonical(multi("i0t0_0"))) > LEGACY_ID,
                "new ids continue after the loaded ones");
    }


    @Test
    void aWriteFencedByAnotherInstancesWriteIsAbortedUnseenAndDecidedAgainOnItsState() throws Exception {
        String topic = "it.schemas-fenced-once";
        String transactionalId = "it-registry-fenced-once";
        String rivalSchema = canonical(shared(100));
        AtomicInteger producersMade = new AtomicInteger();
        // the first producer the store makes meets a rival just before it commits: the rival (another instance)
        // initialises with the same transactional id and registers its own schema with the id the store decided
        try (SchemaStore store = store(topic, () -> producersMade.incrementAndGet() == 1
                ? rivalledProducer(transactionalId, topic, rivalSchema) : producer(transactionalId), 10)) {
            SchemaStore.Version mine = store.register("it.mine-value", SchemaType.AVRO, multi("mine"));
            assertEquals(2, producersMade.get(), "fenced once, done again with a new producer");
            SchemaStore.Version rivals = store.version("it.rival-value", "1", false);
            assertEquals(1, rivals.id());
            assertEquals(rivalSchema, rivals.schema());
            assertEquals(2, mine.id(), "decided again on the rival's state: the next id");
            assertEquals(canonical(multi("mine")), store.byId(2).orElseThrow().schema());
            assertEquals(rivalSchema, store.byId(1).orElseThrow().schema(), "id 1 names the rival's schema only");
        }
        // the aborted attempt is in the log (a read_uncommitted reader sees id 1 twice); the registry never read it
        List<ConsumerRecord<String, byte[]>> all = readAll(topic, "read_uncommitted");
        int ids1 = 0;
        for (ConsumerRecord<String, byte[]> r : all) {
            ids1 += r.value() != null && JSON.readTree(r.value()).path("id").asInt() == 1 ? 1 : 0;
        }
        assertEquals(2, ids1, "the aborted write and the rival's");
        assertEquals(2, readAll(topic, "read_committed").size(), "the rival's and the store's second attempt");
    }

    @Test
    void aWriteFencedAtEveryAttemptGivesUpWith50001AndWritesNothing() throws Exception {
        String topic = "it.schemas-fenced-always";
        String transactionalId = "it-registry-fenced-always";
        AtomicInteger producersMade = new AtomicInteger();
        try (SchemaStore store = store(topic, () -> rivalledProducer(transactionalId, topic,
                canonical(shared(200 + producersMade.incrementAndGet()))), 3)) {
            RegistryException refused = assertThrows(RegistryException.class,
                    () -> store.register("it.never-value", SchemaType.AVRO, multi("never")));
            assertEquals(500, refused.status());
            assertEquals(50001, refused.errorCode());
            assertTrue(refused.getMessage().contains("3 attempts"), refused.getMessage());
            assertEquals(3, producersMade.get());
            assertFalse(store.subjects(true).contains("it.never-value"));
        }
        assertTrue(readAll(topic, "read_committed").stream().noneMatch(r -> r.key().contains("it.never-value")));
    }

    // ---- helpers ----

    /** A store of its own on the first instance's broker, on its own topic (the registry's settings). */
    private static SchemaStore store(String topic, Supplier<KafkaProducer<String, byte[]>> producers, int attempts)
            throws Exception {
        KafkaClients clients = KafkaClients.forBootstrap(first.bootstrapServers());
        try (Admin admin = clients.admin("schema-registry-instances-it", Map.of())) {
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1).configs(Map.of("cleanup.policy", "compact"))))
                    .all().get(30, TimeUnit.SECONDS);
        }
        SchemaStore store = new SchemaStore(topic, producers, role -> clients.consumer("it-" + topic + "-" + role,
                null, Map.of(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                        ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed")), "BACKWARD", attempts);
        store.awaitCaughtUp(Duration.ofSeconds(30));
        return store;
    }

    private static java.util.Properties producerSettings(String transactionalId) {
        java.util.Properties p = KafkaClients.forBootstrap(first.bootstrapServers()).producerProperties("it-registry");
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        return p;
    }

    private static KafkaProducer<String, byte[]> producer(String transactionalId) {
        return new KafkaProducer<>(producerSettings(transactionalId), new StringSerializer(),
                new ByteArraySerializer());
    }

    /**
     * A producer whose commit comes too late: its record is on the topic (flushed, not committed) when a rival of the
     * same transactional id initialises (fencing it and aborting its transaction) and registers, as version 1 of
     * {@code it.rival-value}, its own schema with the id the store's record carries.
     */
    private static KafkaProducer<String, byte[]> rivalledProducer(String transactionalId, String topic,
            String rivalSchema) {
        return new KafkaProducer<>(producerSettings(transactionalId), new StringSerializer(),
                new ByteArraySerializer()) {
            private int id;

            @Override
            public java.util.concurrent.Future<org.apache.kafka.clients.producer.RecordMetadata> send(
                    ProducerRecord<String, byte[]> record) {
                try {
                    id = JSON.readTree(record.value()).path("id").asInt();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
                return super.send(record);
            }

            @Override
            public void commitTransaction() {
                flush();
                try (KafkaProducer<String, byte[]> rival = producer(transactionalId)) {
                    rival.initTransactions();
                    rival.beginTransaction();
                    rival.send(new ProducerRecord<>(topic, 0,
                            "{\"keytype\":\"SCHEMA\",\"subject\":\"it.rival-value\",\"version\":1,\"magic\":1}",
                            JSON.createObjectNode().put("subject", "it.rival-value").put("version", 1).put("id", id)
                                    .put("schema", rivalSchema).put("deleted", false).toString()
                                    .getBytes(StandardCharsets.UTF_8)));
                    rival.commitTransaction();
                }
                super.commitTransaction();
            }
        };
    }

    /** The topic's records as a reader with this isolation level sees them. */
    private static List<ConsumerRecord<String, byte[]>> readAll(String topic, String isolation) {
        try (KafkaConsumer<String, byte[]> reader = KafkaClients.forBootstrap(first.bootstrapServers())
                .consumer("it-read-" + topic, null, Map.of(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation))) {
            TopicPartition partition = new TopicPartition(topic, 0);
            reader.assign(List.of(partition));
            reader.seekToBeginning(List.of(partition));
            long end = reader.endOffsets(List.of(partition)).get(partition);
            List<ConsumerRecord<String, byte[]>> records = new ArrayList<>();
            await().atMost(Duration.ofSeconds(30)).until(() -> {
                reader.poll(Duration.ofMillis(200)).forEach(records::add);
                return reader.position(partition) >= end;
            });
            return records;
        }
    }

    private static void register(RuntimeUnderTest env, String subject, String schema,
            Map<String, Set<Integer>> answered, Map<String, Set<String>> expectedBySubject) throws Exception {
        HttpResponse<String> response = call(env, "POST", "/subjects/" + subject + "/versions",
                JSON.createObjectNode().put("schema", schema).toString());
        assertEquals(200, response.statusCode(), subject + ": " + response.body());
        int id = JSON.readTree(response.body()).path("id").asInt();
        answered.computeIfAbsent(canonical(schema), s -> ConcurrentHashMap.newKeySet()).add(id);
        expectedBySubject.computeIfAbsent(subject, s -> ConcurrentHashMap.newKeySet()).add(canonical(schema));
    }

    /** Every subject's versions as the instance serves them: subject -> version -> {id, schema}. */
    private static Map<String, TreeMap<Integer, JsonNode>> dump(RuntimeUnderTest env) throws Exception {
        Map<String, TreeMap<Integer, JsonNode>> out = new HashMap<>();
        for (JsonNode subject : ok(env, "GET", "/subjects", null)) {
            TreeMap<Integer, JsonNode> versions = new TreeMap<>();
            for (JsonNode number : ok(env, "GET", "/subjects/" + subject.asText() + "/versions", null)) {
                JsonNode v = ok(env, "GET", "/subjects/" + subject.asText() + "/versions/" + number.asInt(), null);
                versions.put(number.asInt(), JSON.createObjectNode().put("id", v.path("id").asInt())
                        .put("schemaType", v.path("schemaType").asText("AVRO"))
                        .put("schema", v.path("schema").asText()));
            }
            out.put(subject.asText(), versions);
        }
        return out;
    }

    /** A schema of its own: a record with a field named after the registration (BACKWARD-compatible with the others). */
    private static String multi(String field) {
        return "{\"type\":\"record\",\"name\":\"Multi\",\"namespace\":\"cmm.it\",\"fields\":[{\"name\":\"id\","
                + "\"type\":\"string\"},{\"name\":\"f_" + field + "\",\"type\":\"string\",\"default\":\"\"}]}";
    }

    private static String shared(int n) {
        return "{\"type\":\"record\",\"name\":\"Shared\",\"namespace\":\"cmm.it\",\"fields\":[{\"name\":\"id\","
                + "\"type\":\"string\"},{\"name\":\"s" + n + "\",\"type\":\"string\",\"default\":\"\"}]}";
    }

    private static String canonical(String avro) {
        return new Schema.Parser().parse(avro).toString();
    }

    /** The payload schemas registered at start are JSON Schemas. */
    private static String canonical(String type, String schema) throws Exception {
        return type.equals("JSON") ? JSON.readTree(schema).toString() : canonical(schema);
    }

    private static HttpResponse<String> call(RuntimeUnderTest env, String method, String path, String body)
            throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + env.httpPort()
                + "/schema-registry" + path)).timeout(Duration.ofSeconds(90)).header("Accept", MEDIA)
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            request.header("Content-Type", MEDIA);
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode ok(RuntimeUnderTest env, String method, String path, String body) throws Exception {
        HttpResponse<String> response = call(env, method, path, body);
        assertEquals(200, response.statusCode(), method + " " + path + ": " + response.body());
        return JSON.readTree(response.body());
    }
}
