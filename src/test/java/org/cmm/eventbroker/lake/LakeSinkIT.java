package org.cmm.eventbroker.lake;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.cmm.eventbroker.stack.S3Store;
import org.cmm.eventbroker.testsupport.FreePorts;
import org.cmm.eventbroker.testsupport.Hl7Samples;
import org.cmm.eventbroker.testsupport.KafkaTopicReader;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * The lake sink (routes/lake/lake-sink.camel.yaml) against a real Kafka broker and the local stack's S3 store
 * (s3proxy): the Parquet objects, read back with DuckDB (an independent reader, not parquet-avro), hold exactly the
 * records produced, under topic/dt/hour partitions of their event time; a replay after the offsets were lost
 * overwrites the same objects; unreadable payloads are dead-lettered with the reason; while the store is away nothing
 * is lost and the health check says so.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LakeSinkIT {

    private static final String BUCKET = "cmm-data-lake";
    private static final String ACCESS = "cmm-local";
    private static final String SECRET = "cmm-local-secret";
    private static final String GROUP = "cmm-lake-it";

    private static Path folder;
    private static int s3Port;
    private static S3Store s3;
    private static RuntimeUnderTest env;
    private static KafkaProducer<String, byte[]> producer;
    /** What was produced and must be in the lake exactly once: topic-partition-offset -> (control id, payload). */
    private static final Map<String, Produced> produced = new TreeMap<>();

    private record Produced(String controlId, byte[] payload, String partitionPath) {
    }

    @BeforeAll
    static void start() throws Exception {
        // the AWS SDK v2 sends checksums s3proxy does not know unless these are when_required (as the local stack sets)
        System.setProperty("aws.requestChecksumCalculation", "when_required");
        System.setProperty("aws.responseChecksumValidation", "when_required");
        folder = Files.createTempDirectory("cmm-lake-it");
        s3Port = FreePorts.next();
        s3 = new S3Store("127.0.0.1", s3Port, folder.resolve("s3"), ACCESS, SECRET, BUCKET).start();
        env = RuntimeUnderTest.flows("lake-sink").with(Map.ofEntries(
                Map.entry("cmm.lake.enabled", "true"),
                Map.entry("cmm.lake.sink-name", "it"),
                Map.entry("cmm.lake.topic-families", "hl7.,lab.results."),
                Map.entry("cmm.lake.s3.endpoint", s3.endpoint()),
                Map.entry("cmm.lake.max-records", "4"),
                Map.entry("cmm.lake.idle-cut-ms", "700"),
                Map.entry("cmm.lake.poll-interval-ms", "50"),
                Map.entry("cmm.lake.poll-timeout-ms", "100"),
                Map.entry("cmm.lake.topic-discovery-ms", "300"),
                Map.entry("cmm.lake.initial-backoff-ms", "200"),
                Map.entry("cmm.lake.max-backoff-ms", "500"),
                Map.entry("cmm.lake.work-dir", folder.resolve("work").toString()))).start();
        producer = KafkaClients.forBootstrap(env.bootstrapServers()).producer("lake-it", Map.of());
    }

    @AfterAll
    static void stop() throws Exception {
        if (producer != null) {
            producer.close();
        }
        if (env != null) {
            env.close();
        }
        if (s3 != null) {
            s3.close();
        }
    }

    @Test
    @Order(1)
    void parquetObjectsReadBackByDuckDbHoldExactlyTheRecordsUnderTheirEventTimePartitions() throws Exception {
        Instant hourA = Instant.parse("2026-12-04T13:10:00Z");
        Instant hourB = Instant.parse("2026-12-04T14:05:00Z");
        for (int i = 0; i < 7; i++) {
            send("hl7.adt.a01", "ADT" + i, Hl7Samples.load("adt-a01.hl7", "ADT" + i), hourA.plusSeconds(i));
        }
        for (int i = 0; i < 3; i++) {
            send("hl7.adt.a01", "ADTB" + i, Hl7Samples.load("adt-a01.hl7", "ADTB" + i), hourB.plusSeconds(i));
        }
        for (int i = 0; i < 5; i++) {
            send("lab.results.normal", "LAB" + i, Hl7Samples.load("oru-r01-normal.hl7", "LAB" + i), hourA.plusSeconds(i));
        }
        // not a family, and a family's dead-letter topic: never landed
        producer.send(new ProducerRecord<>("pharmacy.dispensing.new", "k", "MSH|x".getBytes(StandardCharsets.UTF_8))).get();
        producer.send(new ProducerRecord<>("hl7.dlq", "k", "not hl7".getBytes(StandardCharsets.UTF_8))).get();

        Map<String, Row> rows = awaitLake(produced.size());
        assertEquals(produced.keySet(), rows.keySet(), "every record once, nothing else");
        produced.forEach((coordinates, expected) -> {
            Row row = rows.get(coordinates);
            assertEquals(expected.controlId(), row.controlId(), coordinates);
            assertArrayEquals(expected.payload(), row.payload(), coordinates);
            assertTrue(row.key().startsWith("events/" + expected.partitionPath() + "/"), row.key());
        });
        // the parsed key fields and CloudEvents headers are columns
        Row adt = rows.get("hl7.adt.a01-0-0");
        assertEquals("MRN100001", adt.patientId());
        assertEquals("ADT", adt.messageType());
        assertEquals("ce-ADT0", adt.ceId(), rows.toString());
        // cut by 4 records and by the hour: hl7.adt.a01 has objects starting at offsets 0, 4 (hour A) and 7 (hour B)
        Set<String> adtObjects = new HashSet<>();
        rows.values().stream().filter(r -> r.key().contains("topic=hl7.adt.a01/")).forEach(r -> adtObjects.add(
                r.key().substring(r.key().lastIndexOf('/') + 1)));
        assertEquals(Set.of("hl7.adt.a01+0+00000000000000000000.parquet", "hl7.adt.a01+0+00000000000000000004.parquet",
                "hl7.adt.a01+0+00000000000000000007.parquet"), adtObjects);
    }

    @Test
    @Order(2)
    void unreadablePayloadsAreDeadLetteredWithTheReasonAndTheRestIsLanded() throws Exception {
        byte[] garbage = "this is neither HL7 nor JSON".getBytes(StandardCharsets.UTF_8);
        RecordMetadata bad = producer.send(new ProducerRecord<>("hl7.oru.r01", 0, "bad-key", garbage)).get();
        send("hl7.oru.r01", "ORU1", Hl7Samples.load("oru-r01.hl7", "ORU1"), Instant.parse("2026-12-04T15:00:00Z"));

        var dead = env.topics().awaitRecords("lake.dlq", r -> "bad-key".equals(r.key()), 1);
        assertEquals(1, dead.size());
        assertArrayEquals(garbage, dead.get(0).value(), "untouched");
        assertTrue(KafkaTopicReader.header(dead.get(0), "dlq_reason").contains("neither an HL7 v2 message"),
                KafkaTopicReader.header(dead.get(0), "dlq_reason"));
        assertEquals("hl7.oru.r01", KafkaTopicReader.header(dead.get(0), "dlq_original_topic"));
        assertEquals(String.valueOf(bad.offset()), KafkaTopicReader.header(dead.get(0), "dlq_original_offset"));
        Map<String, Row> rows = awaitLake(produced.size());
        assertEquals(produced.keySet(), rows.keySet());
    }

    @Test
    @Order(3)
    void aReplayAfterTheOffsetsWereLostOverwritesTheSameObjectsInsteadOfDuplicating() throws Exception {
        Set<String> before = objectKeys();
        // the worst crash: every object written, no offset committed. The runtime stops, the group forgets its offsets.
        env.stopRuntime();
        try (Admin admin = KafkaClients.forBootstrap(env.bootstrapServers()).admin("lake-it", Map.of())) {
            admin.deleteConsumerGroups(List.of("cmm-lake-it")).all().get(10, TimeUnit.SECONDS);
        }
        env.startRuntime();
        for (int i = 0; i < 2; i++) {
            send("lab.results.normal", "LABR" + i, Hl7Samples.load("oru-r01-normal.hl7", "LABR" + i),
                    Instant.parse("2026-12-04T13:30:00Z").plusSeconds(i));
        }
        Map<String, Row> rows = awaitLake(produced.size());
        assertEquals(produced.keySet(), rows.keySet(), "every record exactly once after the replay");
        Set<String> after = objectKeys();
        assertTrue(after.containsAll(before), "the replay wrote the same names: before " + before + ", after " + after);
        // the replay's first lab.results.normal object after 5 records started at offset 4 again (max 4 per object)
        assertTrue(after.stream().anyMatch(k -> k.endsWith("lab.results.normal+0+00000000000000000004.parquet")));
    }

    @Test
    @Order(4)
    void whileTheStoreIsAwayTheHealthCheckIsDownAndNothingIsLost() throws Exception {
        s3.close();
        send("hl7.adt.a03", "A03-1", Hl7Samples.load("adt-a03.hl7", "A03-1"), Instant.parse("2026-12-04T16:00:00Z"));
        HttpClient http = HttpClient.newHttpClient();
        URI health = URI.create("http://127.0.0.1:" + env.managementPort() + "/observe/health");
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200)).until(() -> {
            String body = http.send(HttpRequest.newBuilder(health).build(), HttpResponse.BodyHandlers.ofString()).body();
            return body.contains("lake-sink-it") && body.contains("cannot write");
        });
        s3 = new S3Store("127.0.0.1", s3Port, folder.resolve("s3"), ACCESS, SECRET, BUCKET).start();
        Map<String, Row> rows = awaitLake(produced.size());
        assertEquals(produced.keySet(), rows.keySet());
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            String body = http.send(HttpRequest.newBuilder(health).build(), HttpResponse.BodyHandlers.ofString()).body();
            return !body.contains("cannot write");
        });
    }

    /** Partition 0 of each topic, so the test knows where the files are cut (the broker makes 4 partitions a topic). */
    private static void send(String topic, String controlId, String message, Instant eventTime) throws Exception {
        ProducerRecord<String, byte[]> record = new ProducerRecord<>(topic, 0, "MRN-" + controlId,
                message.getBytes(StandardCharsets.ISO_8859_1));
        record.headers().add(new RecordHeader("ce_id", ("ce-" + controlId).getBytes(StandardCharsets.UTF_8)));
        record.headers().add(new RecordHeader("ce_time", eventTime.toString().getBytes(StandardCharsets.UTF_8)));
        record.headers().add(new RecordHeader("hl7_control_id", controlId.getBytes(StandardCharsets.UTF_8)));
        RecordMetadata at = producer.send(record).get(10, TimeUnit.SECONDS);
        ZonedDateTime t = eventTime.atZone(ZoneOffset.UTC);
        String path = String.format("topic=%s/dt=%04d-%02d-%02d/hour=%02d", topic, t.getYear(), t.getMonthValue(),
                t.getDayOfMonth(), t.getHour());
        produced.put(topic + "-" + at.partition() + "-" + at.offset(),
                new Produced(controlId, record.value(), path));
    }

    private record Row(String key, String controlId, String patientId, String messageType, String ceId, byte[] payload) {
        @Override
        public String toString() {
            return key + ":" + controlId + "/" + ceId;
        }
    }

    /** Waits until the lake holds {@code count} rows, then returns them by topic-partition-offset (duplicates fail). */
    private static Map<String, Row> awaitLake(int count) throws Exception {
        Map<String, Row> rows = new HashMap<>();
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300)).ignoreExceptions().until(() -> {
            rows.clear();
            rows.putAll(readLake());
            return rows.size() >= count;
        });
        return readLake(); // once more, outside the wait: a record found twice fails here
    }

    private static S3Client s3Client() {
        return S3Client.builder().endpointOverride(URI.create(s3.endpoint())).forcePathStyle(true)
                .region(Region.US_EAST_1)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(ACCESS, SECRET)))
                .build();
    }

    private static Set<String> objectKeys() {
        try (S3Client client = s3Client()) {
            Set<String> keys = new HashSet<>();
            client.listObjectsV2Paginator(b -> b.bucket(BUCKET).prefix("events/")).contents()
                    .forEach(o -> keys.add(o.key()));
            return keys;
        }
    }

    /** Downloads every object and reads it with DuckDB; a record found twice fails. */
    private static Map<String, Row> readLake() throws Exception {
        Path copy = Files.createTempDirectory(folder, "read");
        List<String> keys = new ArrayList<>();
        try (S3Client client = s3Client()) {
            for (S3Object object : client.listObjectsV2Paginator(b -> b.bucket(BUCKET).prefix("events/")).contents()) {
                Path local = copy.resolve(object.key());
                Files.createDirectories(local.getParent());
                client.getObject(b -> b.bucket(BUCKET).key(object.key()), local);
                keys.add(object.key());
            }
        }
        Map<String, Row> rows = new HashMap<>();
        try (Connection duck = DriverManager.getConnection("jdbc:duckdb:"); Statement st = duck.createStatement()) {
            for (String key : keys) {
                try (ResultSet rs = st.executeQuery("SELECT kafka_topic, kafka_partition, kafka_offset, control_id,"
                        + " patient_id, message_type, ce_id, payload FROM read_parquet('"
                        + copy.resolve(key).toString().replace("'", "''") + "')")) {
                    while (rs.next()) {
                        String coordinates = rs.getString(1) + "-" + rs.getInt(2) + "-" + rs.getLong(3);
                        Row previous = rows.put(coordinates, new Row(key, rs.getString(4), rs.getString(5),
                                rs.getString(6), rs.getString(7), rs.getBytes(8)));
                        if (previous != null) {
                            throw new AssertionError(coordinates + " is in " + previous.key() + " and in " + key);
                        }
                    }
                }
            }
        }
        return rows;
    }
}
