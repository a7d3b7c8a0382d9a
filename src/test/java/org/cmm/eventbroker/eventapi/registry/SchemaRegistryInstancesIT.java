package org.cmm.eventbroker.eventapi.registry;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
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

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.avro.Schema;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
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
 * its writes became transactional (a plain, non-transactional record) is still read by both.
 */
class SchemaRegistryInstancesIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String MEDIA = "application/vnd.schemaregistry.v1+json";
    private static final int THREADS_PER_INSTANCE = 3;
    private static final int SCHEMAS_PER_THREAD = 8;
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
        assertTrue(idBySchema.get("AVRO:" + canonical(multi("i0t0_0"))) > LEGACY_ID, "new ids continue after the loaded ones");
    }

    // ---- helpers ----

    private static void register(RuntimeUnderTest env, String subject, String schema, Map<String, Set<Integer>> answered,
            Map<String, Set<String>> expectedBySubject) throws Exception {
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
                        .put("schemaType", v.path("schemaType").asText("AVRO")).put("schema", v.path("schema").asText()));
            }
            out.put(subject.asText(), versions);
        }
        return out;
    }

    /** A schema of its own: a record with one field named after the registration (BACKWARD-compatible with any other). */
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
