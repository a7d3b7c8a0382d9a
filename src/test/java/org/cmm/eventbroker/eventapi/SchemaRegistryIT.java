package org.cmm.eventbroker.eventapi;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.cmm.eventbroker.eventapi.registry.PayloadSchemas;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.cmm.eventbroker.testsupport.LogCapture;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The schema registry flow (routes/eventapi/schema-registry.camel.yaml) with the event API, against a real broker:
 * the Confluent Schema Registry REST API over plain HTTP (register, read, lookup, compatibility for AVRO and JSON
 * Schema, config, delete, the error shape and media type), Avro records in Confluent's wire format written and read
 * with plain Avro and the registry's ids, the {@code _schemas} topic as the store (compacted, read back with a Kafka
 * consumer; ids the same after a restart), and the AsyncAPI document's JSON payloads taken from the registry (still
 * zero errors from the AsyncAPI parser).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SchemaRegistryIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String MEDIA = "application/vnd.schemaregistry.v1+json";
    private static final String PATIENT_V1 = "{\"type\":\"record\",\"name\":\"Patient\",\"namespace\":\"cmm.it\","
            + "\"fields\":[{\"name\":\"id\",\"type\":\"string\"}]}";
    private static final String PATIENT_V2_DEFAULT = "{\"type\":\"record\",\"name\":\"Patient\",\"namespace\":\"cmm.it\","
            + "\"fields\":[{\"name\":\"id\",\"type\":\"string\"},{\"name\":\"ward\",\"type\":\"string\",\"default\":\"none\"}]}";
    private static final String PATIENT_V2_NO_DEFAULT = "{\"type\":\"record\",\"name\":\"Patient\",\"namespace\":\"cmm.it\","
            + "\"fields\":[{\"name\":\"id\",\"type\":\"string\"},{\"name\":\"bed\",\"type\":\"int\"}]}";
    private static RuntimeUnderTest env;
    private static HttpClient http;
    private static String registry;
    private static int patientId;
    private static LogCapture logs;

    @BeforeAll
    static void start() throws Exception {
        logs = LogCapture.attach();
        env = RuntimeUnderTest.flows("event-api", "schema-registry").start();
        http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        registry = "http://127.0.0.1:" + env.httpPort() + "/schema-registry";
    }

    @AfterAll
    static void stop() throws Exception {
        if (env != null) {
            env.close();
        }
        if (logs != null) {
            logs.close();
        }
    }

    @Test
    @Order(0)
    void oneStoreHandsOutTheIdsWhileTheStartUpRegistrationRuns() throws Exception {
        // clients register while the start-up registration of the payload schemas may still run: one store (one
        // id sequence) serves both, so no id names two schemas (CI once saw an Avro id answered with a JSON schema)
        List<java.util.concurrent.CompletableFuture<HttpResponse<String>>> sent = new java.util.ArrayList<>();
        for (int i = 0; i < 8; i++) {
            String avro = "{\"type\":\"record\",\"name\":\"Race" + i + "\",\"namespace\":\"cmm.it\","
                    + "\"fields\":[{\"name\":\"id\",\"type\":\"string\"}]}";
            sent.add(http.sendAsync(HttpRequest.newBuilder(URI.create(registry + "/subjects/it.race" + i + "-value/versions"))
                    .header("Content-Type", MEDIA).POST(HttpRequest.BodyPublishers.ofString(schema(avro, null))).build(),
                    HttpResponse.BodyHandlers.ofString()));
        }
        for (var f : sent) {
            assertEquals(200, f.get(60, TimeUnit.SECONDS).statusCode());
        }
        await().atMost(Duration.ofSeconds(60)).until(() -> ok("GET", "/subjects", null).toString()
                .contains("cmm.cds.alert.v1"));
        java.util.Map<Integer, String> schemaById = new java.util.HashMap<>();
        for (JsonNode subject : ok("GET", "/subjects", null)) {
            for (JsonNode version : ok("GET", "/subjects/" + subject.asText() + "/versions", null)) {
                JsonNode v = ok("GET", "/subjects/" + subject.asText() + "/versions/" + version.asInt(), null);
                String previous = schemaById.putIfAbsent(v.path("id").asInt(), v.path("schema").asText());
                assertTrue(previous == null || previous.equals(v.path("schema").asText()),
                        "id " + v.path("id").asInt() + " names two schemas");
                assertEquals(v.path("schema").asText(), ok("GET", "/schemas/ids/" + v.path("id").asInt(), null)
                        .path("schema").asText(), subject.asText());
            }
        }
        assertEquals(1, logs.lines().stream().filter(l -> l.contains("Schema registry (Confluent Schema Registry API) on"))
                .count(), "one registry per runtime");
    }

    @Test
    @Order(1)
    void avroSchemasAreRegisteredReadLookedUpAndCheckedForBackwardCompatibility() throws Exception {
        HttpResponse<String> registered = call("POST", "/subjects/it.patient-value/versions", schema(PATIENT_V1, null));
        assertEquals(200, registered.statusCode(), registered.body());
        assertEquals(MEDIA, registered.headers().firstValue("Content-Type").orElse(""));
        patientId = JSON.readTree(registered.body()).path("id").asInt();
        assertTrue(patientId > 0);
        // the same schema again: the same id, no new version
        assertEquals(patientId, ok("POST", "/subjects/it.patient-value/versions", schema(PATIENT_V1, null))
                .path("id").asInt());
        assertEquals("[1]", ok("GET", "/subjects/it.patient-value/versions", null).toString());
        JsonNode latest = ok("GET", "/subjects/it.patient-value/versions/latest", null);
        assertEquals(1, latest.path("version").asInt());
        assertEquals(patientId, latest.path("id").asInt());
        assertEquals(new Schema.Parser().parse(PATIENT_V1), new Schema.Parser().parse(latest.path("schema").asText()));
        assertFalse(latest.has("schemaType"), "AVRO is the default type and not named, as in Confluent's API");
        JsonNode byId = ok("GET", "/schemas/ids/" + patientId, null);
        assertEquals(new Schema.Parser().parse(PATIENT_V1), new Schema.Parser().parse(byId.path("schema").asText()));
        assertTrue(ok("GET", "/subjects", null).toString().contains("\"it.patient-value\""));
        JsonNode lookup = ok("POST", "/subjects/it.patient-value", schema(PATIENT_V1, null));
        assertEquals(1, lookup.path("version").asInt());
        assertEquals(patientId, lookup.path("id").asInt());

        // BACKWARD (the default): a new field with a default is compatible, one without is not (Avro's own check)
        assertEquals("BACKWARD", ok("GET", "/config", null).path("compatibilityLevel").asText());
        assertTrue(ok("POST", "/compatibility/subjects/it.patient-value/versions/latest",
                schema(PATIENT_V2_DEFAULT, null)).path("is_compatible").asBoolean());
        JsonNode incompatible = ok("POST", "/compatibility/subjects/it.patient-value/versions/1?verbose=true",
                schema(PATIENT_V2_NO_DEFAULT, null));
        assertFalse(incompatible.path("is_compatible").asBoolean());
        assertTrue(incompatible.path("messages").toString().contains("READER_FIELD_MISSING_DEFAULT_VALUE"),
                incompatible.toString());
        HttpResponse<String> refused = call("POST", "/subjects/it.patient-value/versions",
                schema(PATIENT_V2_NO_DEFAULT, null));
        assertEquals(409, refused.statusCode());
        assertEquals(409, JSON.readTree(refused.body()).path("error_code").asInt());
        assertEquals("[1]", ok("GET", "/subjects/it.patient-value/versions", null).toString());
        int v2 = ok("POST", "/subjects/it.patient-value/versions", schema(PATIENT_V2_DEFAULT, null)).path("id").asInt();
        assertTrue(v2 > patientId);
        assertEquals(2, ok("GET", "/subjects/it.patient-value/versions/latest", null).path("version").asInt());

        // a subject-level NONE lets the incompatible one in; removing it restores the global level
        assertEquals("NONE", ok("PUT", "/config/it.patient-value", "{\"compatibility\":\"NONE\"}")
                .path("compatibility").asText());
        assertEquals("NONE", ok("GET", "/config/it.patient-value", null).path("compatibilityLevel").asText());
        assertError(call("GET", "/subjects/it.patient-value/versions/3", null), 404, 40402);
        ok("POST", "/subjects/it.patient-value/versions", schema(PATIENT_V2_NO_DEFAULT, null));
        assertEquals("[1,2,3]", ok("GET", "/subjects/it.patient-value/versions", null).toString());
        ok("DELETE", "/config/it.patient-value", null);
        assertError(call("GET", "/config/it.patient-value", null), 404, 40408);
    }

    @Test
    @Order(2)
    void jsonSchemasFollowTheDocumentedRule() throws Exception {
        String v1 = "{\"type\":\"object\",\"required\":[\"id\"],\"properties\":{\"id\":{\"type\":\"string\"}}}";
        String optional = "{\"type\":\"object\",\"required\":[\"id\"],\"properties\":{\"id\":{\"type\":\"string\"},"
                + "\"ward\":{\"type\":\"string\"}}}";
        String required = "{\"type\":\"object\",\"required\":[\"id\",\"bed\"],\"properties\":{\"id\":{\"type\":\"string\"},"
                + "\"bed\":{\"type\":\"integer\"}}}";
        String retyped = "{\"type\":\"object\",\"required\":[\"id\"],\"properties\":{\"id\":{\"type\":\"integer\"}}}";
        int id = ok("POST", "/subjects/it.json-value/versions", schema(v1, "JSON")).path("id").asInt();
        JsonNode read = ok("GET", "/schemas/ids/" + id, null);
        assertEquals("JSON", read.path("schemaType").asText());
        assertEquals(JSON.readTree(v1), JSON.readTree(read.path("schema").asText()));
        assertFalse(ok("POST", "/compatibility/subjects/it.json-value/versions/latest", schema(required, "JSON"))
                .path("is_compatible").asBoolean(), "a newly required property cannot read old events");
        assertFalse(ok("POST", "/compatibility/subjects/it.json-value/versions/latest", schema(retyped, "JSON"))
                .path("is_compatible").asBoolean(), "a property's type changed");
        assertError(call("POST", "/subjects/it.json-value/versions", schema(required, "JSON")), 409, 409);
        assertTrue(ok("POST", "/subjects/it.json-value/versions", schema(optional, "JSON")).path("id").asInt() > id,
                "a new optional property is compatible: a new version with a new id");
        assertEquals(2, ok("GET", "/subjects/it.json-value/versions/latest", null).path("version").asInt());
    }

    @Test
    @Order(3)
    void errorsAnswerInTheRegistrysShape() throws Exception {
        assertError(call("GET", "/subjects/no.such-value/versions", null), 404, 40401);
        assertError(call("GET", "/subjects/it.patient-value/versions/99", null), 404, 40402);
        assertError(call("GET", "/subjects/it.patient-value/versions/zero", null), 422, 42202);
        assertError(call("GET", "/schemas/ids/987654", null), 404, 40403);
        assertError(call("POST", "/subjects/it.bad-value/versions", schema("{\"type\":\"record\"}", null)), 422, 42201);
        assertError(call("POST", "/subjects/it.bad-value/versions", schema("{not json", "JSON")), 422, 42201);
        assertError(call("POST", "/subjects/it.bad-value/versions", schema("syntax = \"proto3\";", "PROTOBUF")), 422,
                42201);
        assertError(call("PUT", "/config", "{\"compatibility\":\"SOMETIMES\"}"), 422, 42203);
        assertError(call("POST", "/subjects/it.patient-value", schema(
                "{\"type\":\"record\",\"name\":\"Other\",\"fields\":[]}", null)), 404, 40403);
        assertError(call("POST", "/subjects/it.bad-value/versions", "{oops"), 400, 400);
        assertError(call("GET", "/subjects/it.bad-value/versions", null), 404, 40401); // nothing bad was kept
    }

    @Test
    @Order(4)
    void avroRecordsInConfluentsWireFormatCarryTheRegistrysIds() throws Exception {
        // a producer as Confluent's serializer frames it: magic byte 0, the schema id (4 bytes), the Avro binary
        Schema schema = new Schema.Parser().parse(PATIENT_V1);
        int id = ok("POST", "/subjects/it.wire-value/versions", schema(PATIENT_V1, null)).path("id").asInt();
        assertEquals(patientId, id, "the same schema under another subject keeps its id");
        GenericRecord patient = new GenericData.Record(schema);
        patient.put("id", "patient-7");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(0);
        out.write(ByteBuffer.allocate(4).putInt(id).array());
        BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
        new GenericDatumWriter<GenericRecord>(schema).write(patient, encoder);
        encoder.flush();
        try (KafkaProducer<String, byte[]> producer = KafkaClients.forBootstrap(env.bootstrapServers())
                .producer("schema-registry-it", Map.of())) {
            producer.send(new ProducerRecord<>("it.wire", "patient-7", out.toByteArray())).get(30, TimeUnit.SECONDS);
        }
        // a consumer as the deserializer does it: the id from the record, the writer's schema from the registry
        ConsumerRecord<String, byte[]> record = env.topics().awaitRecords("it.wire", r -> true, 1).get(0);
        ByteBuffer value = ByteBuffer.wrap(record.value());
        assertEquals(0, value.get());
        int writerId = value.getInt();
        Schema writer = new Schema.Parser().parse(ok("GET", "/schemas/ids/" + writerId, null).path("schema").asText());
        byte[] body = new byte[value.remaining()];
        value.get(body);
        Schema reader = new Schema.Parser().parse(PATIENT_V2_DEFAULT); // a newer reader, as BACKWARD allows
        GenericRecord read = new GenericDatumReader<GenericRecord>(writer, reader)
                .read(null, DecoderFactory.get().binaryDecoder(body, null));
        assertEquals("patient-7", read.get("id").toString());
        assertEquals("none", read.get("ward").toString());
    }

    @Test
    @Order(5)
    void theAsyncApiDocumentsJsonPayloadsComeFromTheRegistry() throws Exception {
        // the payload schemas of schemas/*.json are registered at start
        await().atMost(Duration.ofSeconds(60)).until(() -> ok("GET", "/subjects", null).toString()
                .contains("\"cmm.cds.alert.v1\""));
        JsonNode registered = ok("GET", "/subjects/cmm.cds.alert.v1/versions/latest", null);
        assertEquals("JSON", registered.path("schemaType").asText());
        HttpResponse<String> doc = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + env.httpPort()
                + "/asyncapi.json")).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, doc.statusCode());
        JsonNode payload = JSON.readTree(doc.body()).path("components").path("messages").path("cdsAlertJson")
                .path("payload");
        assertEquals("cmm.cds.alert.v1", payload.path("x-cmm-schema-registry").path("subject").asText(), payload.toString());
        assertEquals(registered.path("id").asInt(), payload.path("x-cmm-schema-registry").path("id").asInt());
        assertTrue(payload.path("required").toString().contains("alertId"));
        // every schema file: each Kamelet it names is a channel whose JSON message carries the registered schema
        JsonNode channels = JSON.readTree(doc.body()).path("channels");
        for (PayloadSchemas.PayloadSchema schema : PayloadSchemas.load()) {
            assertTrue(!schema.kamelets().isEmpty() || TopicFamilies.subjects().contains(schema.subject()),
                    schema.subject() + " names the Kamelets whose topics carry it, or a topic family names it");
            JsonNode latest = ok("GET", "/subjects/" + schema.subject() + "/versions/latest", null);
            for (String kamelet : schema.kamelets()) {
                String channelId = channelId(kamelet);
                assertTrue(channels.has(channelId), kamelet + " is a channel of the AsyncAPI document");
                JsonNode registeredPayload = JSON.readTree(doc.body()).path("components").path("messages")
                        .path(channelId + "Json").path("payload");
                assertEquals(schema.subject(), registeredPayload.path("x-cmm-schema-registry").path("subject")
                        .asText(), kamelet + ": " + registeredPayload);
                assertEquals(latest.path("id").asInt(), registeredPayload.path("x-cmm-schema-registry").path("id")
                        .asInt(), kamelet);
                assertEquals(JSON.readTree(schema.text()).path("required"), registeredPayload.path("required"),
                        kamelet);
            }
        }
        // every topic family written by Java code: its JSON messages carry the registered schema of the subject it names
        JsonNode components = JSON.readTree(doc.body()).path("components").path("messages");
        for (TopicFamilies.Family family : TopicFamilies.load()) {
            if (family.isInternal()) {
                continue;
            }
            assertTrue(channels.has(family.channel()), family.channel() + " is a channel of the AsyncAPI document");
            for (TopicFamilies.Message m : family.messages()) {
                if (m.subject() == null) {
                    continue;
                }
                JsonNode familyPayload = components.path(family.channel() + Character.toUpperCase(m.name().charAt(0))
                        + m.name().substring(1)).path("payload");
                JsonNode latest = ok("GET", "/subjects/" + m.subject() + "/versions/latest", null);
                assertEquals(m.subject(), familyPayload.path("x-cmm-schema-registry").path("subject").asText(),
                        family.channel() + "." + m.name() + ": " + familyPayload);
                assertEquals(latest.path("id").asInt(), familyPayload.path("x-cmm-schema-registry").path("id").asInt());
                assertEquals(JSON.readTree(latest.path("schema").asText()).path("required"),
                        familyPayload.path("required"), m.subject());
            }
        }
        Path file = Files.createTempFile("asyncapi-registry", ".json");
        Files.writeString(file, doc.body());
        JsonNode result = AsyncApiParser.validate(file);
        assertTrue(result.path("parsed").asBoolean(), result.toString());
        assertEquals(0, result.path("errors").asInt(), result.toString());
    }

    @Test
    @Order(6)
    void theRegistryLivesOnTheCompactedSchemasTopicAndIsRebuiltFromItAfterARestart() throws Exception {
        try (Admin admin = KafkaClients.forBootstrap(env.bootstrapServers()).admin("schema-registry-it", Map.of())) {
            ConfigResource topic = new ConfigResource(ConfigResource.Type.TOPIC, "_schemas");
            Config config = admin.describeConfigs(List.of(topic)).all().get(30, TimeUnit.SECONDS).get(topic);
            assertEquals("compact", config.get("cleanup.policy").value());
        }
        List<ConsumerRecord<String, byte[]>> records = env.topics().awaitRecords("_schemas",
                r -> r.key().contains("\"subject\":\"it.patient-value\"") && r.key().contains("\"version\":1"), 1);
        JsonNode key = JSON.readTree(records.get(0).key());
        assertEquals("SCHEMA", key.path("keytype").asText());
        JsonNode value = JSON.readTree(records.get(0).value());
        assertEquals(patientId, value.path("id").asInt());

        JsonNode before = ok("GET", "/subjects/it.json-value/versions/latest", null);
        env.stopRuntime();
        env.startRuntime();
        // a new instance knows everything from the topic: same ids, versions and settings; new ids continue after them
        assertEquals(before, ok("GET", "/subjects/it.json-value/versions/latest", null));
        assertEquals(patientId, ok("GET", "/subjects/it.patient-value/versions/1", null).path("id").asInt());
        assertEquals("[1,2,3]", ok("GET", "/subjects/it.patient-value/versions", null).toString());
        // soft delete hides the subject, the id still resolves (as Confluent's); a permanent delete removes it
        assertEquals("[1]", ok("DELETE", "/subjects/it.wire-value", null).toString());
        assertFalse(ok("GET", "/subjects", null).toString().contains("\"it.wire-value\""));
        assertEquals(200, call("GET", "/schemas/ids/" + patientId, null).statusCode());
        assertEquals("[1]", ok("DELETE", "/subjects/it.wire-value?permanent=true", null).toString());
        assertError(call("GET", "/subjects/it.wire-value/versions?deleted=true", null), 404, 40401);
        String fresh = "{\"type\":\"record\",\"name\":\"Fresh\",\"fields\":[{\"name\":\"a\",\"type\":\"long\"}]}";
        int freshId = ok("POST", "/subjects/it.fresh-value/versions", schema(fresh, null)).path("id").asInt();
        assertTrue(freshId > before.path("id").asInt(), "ids continue after those on the topic");
    }

    // ---- helpers ----

    private static String schema(String schema, String type) {
        ObjectNode body = JSON.createObjectNode().put("schema", schema);
        if (type != null) {
            body.put("schemaType", type);
        }
        return body.toString();
    }

    private static HttpResponse<String> call(String method, String path, String body) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(registry + path)).timeout(Duration.ofSeconds(60))
                .header("Accept", MEDIA).method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            request.header("Content-Type", MEDIA);
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode ok(String method, String path, String body) throws Exception {
        HttpResponse<String> response = call(method, path, body);
        assertEquals(200, response.statusCode(), method + " " + path + ": " + response.body());
        assertEquals(MEDIA, response.headers().firstValue("Content-Type").orElse(""));
        return JSON.readTree(response.body());
    }

    private static void assertError(HttpResponse<String> response, int status, int errorCode) throws Exception {
        assertEquals(status, response.statusCode(), response.body());
        assertEquals(MEDIA, response.headers().firstValue("Content-Type").orElse(""));
        JsonNode body = JSON.readTree(response.body());
        assertEquals(errorCode, body.path("error_code").asInt(), response.body());
        assertFalse(body.path("message").asText().isBlank());
    }

    /** The AsyncAPI channel id of a sink Kamelet, as AsyncApiDocument names it (device-topic-sink -> deviceTopic). */
    private static String channelId(String kamelet) {
        StringBuilder id = new StringBuilder();
        for (String word : kamelet.replaceAll("-sink$", "").split("-")) {
            id.append(id.length() == 0 ? word : Character.toUpperCase(word.charAt(0)) + word.substring(1));
        }
        return id.toString();
    }
}
