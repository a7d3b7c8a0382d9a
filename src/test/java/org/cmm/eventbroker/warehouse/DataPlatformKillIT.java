package org.cmm.eventbroker.warehouse;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.cmm.eventbroker.dev.EmbeddedKafkaBroker;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.cmm.eventbroker.stack.S3Store;
import org.cmm.eventbroker.testsupport.ChildRuntime;
import org.cmm.eventbroker.testsupport.FreePorts;
import org.cmm.eventbroker.testsupport.PostgresServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * A runtime running the lake sink and the warehouse loader in a JVM of its own is SIGKILLed while events stream in:
 * the lake has files written and one buffered, the warehouse has transactions committed and one under way. Sending
 * goes on while it is dead; it starts again. Afterwards the lake (read back with DuckDB) holds every record exactly
 * once, under the same object names as before the kill, and the warehouse's counts equal the test's own computation
 * from the events sent (every tenth event sent twice with the same ce_id, counted once).
 */
class DataPlatformKillIT {

    private static final String BUCKET = "cmm-data-lake";
    private static final String ACCESS = "cmm-local";
    private static final String SECRET = "cmm-local-secret";
    private static final String TOPIC = "hl7.adt.a01";
    private static final int EVENTS = 400;
    private static final Pattern OBJECT_NAME = Pattern.compile(
            "events/topic=hl7\\.adt\\.a01/dt=\\d{4}-\\d{2}-\\d{2}/hour=\\d{2}/hl7\\.adt\\.a01\\+\\d\\+\\d{20}\\.parquet");
    private static final DateTimeFormatter HL7 = DateTimeFormatter.ofPattern("yyyyMMddHHmm");

    private static Path folder;
    private static EmbeddedKafkaBroker kafka;
    private static PostgresServer postgres;
    private static S3Store s3;
    private static KafkaProducer<String, byte[]> producer;
    /** topic-partition-offset of every record produced: each must be in the lake once. */
    private static final Set<String> produced = ConcurrentHashMap.newKeySet();
    private static final Map<Integer, Long> endOffsets = new ConcurrentHashMap<>();

    /** One scripted admission: the independent computation's input. */
    private record Admit(String id, String patient, String ward, LocalDateTime at) {
    }

    @BeforeAll
    static void start() throws Exception {
        System.setProperty("aws.requestChecksumCalculation", "when_required");
        System.setProperty("aws.responseChecksumValidation", "when_required");
        folder = Files.createTempDirectory("cmm-kill-it");
        kafka = new EmbeddedKafkaBroker("127.0.0.1", FreePorts.next(), FreePorts.next(), folder.resolve("kafka"), Map.of());
        kafka.start();
        postgres = PostgresServer.start();
        s3 = new S3Store("127.0.0.1", FreePorts.next(), folder.resolve("s3"), ACCESS, SECRET, BUCKET).start();
        producer = KafkaClients.forBootstrap(kafka.bootstrapServers()).producer("kill-it", Map.of());
    }

    @AfterAll
    static void stop() throws Exception {
        if (producer != null) {
            producer.close();
        }
        for (AutoCloseable c : new AutoCloseable[] {s3, postgres, kafka}) {
            if (c != null) {
                c.close();
            }
        }
        if (kafka != null) {
            EmbeddedKafkaBroker.deleteDataDir(folder);
        }
    }

    @Test
    void aRuntimeKilledMidLakeFileAndMidWarehouseLoadLeavesNoDuplicatesAfterRestart() throws Exception {
        List<Admit> events = new ArrayList<>();
        for (int i = 0; i < EVENTS; i++) {
            // event times in order, 30 s apart across midnight: the lake cuts files by records (and by hour), not at
            // every record as interleaved hours would make it
            events.add(new Admit("k" + i, "P" + (i % 40), "W" + (i % 3),
                    LocalDateTime.of(2026, 12, 1, 22, 0).plusSeconds(30L * i)));
        }
        Map<String, String> properties = runtimeProperties();
        Set<String> keysAtKill;
        long loadedAtKill;
        int sentAtKill;
        try (ChildRuntime first = new ChildRuntime(properties, "384m", log(1))) {
            // the runtime is up and both sinks work
            for (int i = 0; i < 100; i++) {
                send(events, i);
            }
            await().atMost(Duration.ofSeconds(180)).pollInterval(Duration.ofMillis(100)).ignoreExceptions()
                    .until(() -> !objectKeys().isEmpty() && warehouseNextOffsets() > 0);
            // events keep arriving; killed while both are part-way through them
            int i = 100;
            for (; i < EVENTS / 2; i++) {
                send(events, i);
            }
            first.kill();
            sentAtKill = i;
            keysAtKill = objectKeys();
            loadedAtKill = warehouseNextOffsets();
        }
        assertTrue(loadedAtKill > 0 && loadedAtKill < produced.size(),
                "killed mid-load: " + loadedAtKill + " of " + produced.size() + " records loaded");
        assertTrue(!keysAtKill.isEmpty() && readLake(keysAtKill).size() < produced.size(),
                "killed with records not yet in a lake file");
        for (int i = sentAtKill; i < EVENTS; i++) {
            send(events, i);
        }
        try (ChildRuntime second = new ChildRuntime(properties, "384m", log(2))) {
            long total = produced.size();
            await().atMost(Duration.ofSeconds(180)).pollInterval(Duration.ofMillis(500)).ignoreExceptions()
                    .until(() -> warehouseNextOffsets() == total);
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).ignoreExceptions()
                    .until(() -> readLake(objectKeys()).size() == total);
            Set<String> keys = objectKeys();
            Map<String, String> rows = readLake(keys); // a record found twice fails here
            assertEquals(produced, rows.keySet(), "every record in the lake exactly once");
            assertTrue(keys.containsAll(keysAtKill), "the objects written before the kill keep their names");
            keys.forEach(k -> assertTrue(OBJECT_NAME.matcher(k).matches(), k));

            // the warehouse against this test's own computation from the events (each event once)
            Map<String, Integer> expected = new TreeMap<>();
            for (Admit e : events) {
                expected.merge(e.ward() + " " + e.at().toLocalDate(), 1, Integer::sum);
            }
            assertEquals(expected, warehouseAdmissionsPerWardPerDay());
            assertEquals(EVENTS, count("SELECT count(*) FROM fact_encounter_event"));
            assertEquals(EVENTS, count("SELECT count(*) FROM dim_patient"));
            assertEquals(events.stream().map(Admit::patient).distinct().count(),
                    count("SELECT count(*) FROM dim_patient WHERE is_current"));
        }
    }

    /** The child runtimes' output, kept beside the failsafe reports. */
    private static Path log(int generation) throws java.io.IOException {
        Path dir = Files.createDirectories(Path.of("target", "failsafe-reports"));
        return dir.resolve("DataPlatformKillIT-runtime-" + generation + ".log");
    }

    private static Map<String, String> runtimeProperties() {
        Map<String, String> p = new HashMap<>();
        p.put("cmm.flows", "lake-sink,warehouse-loader");
        p.put("cmm.kafka.bootstrap-servers", kafka.bootstrapServers());
        p.put("camel.main.jmx-enabled", "false");
        p.put("camel.management.host", "127.0.0.1");
        p.put("camel.management.port", String.valueOf(FreePorts.next()));
        p.put("camel.server.host", "127.0.0.1");
        p.put("camel.server.port", String.valueOf(FreePorts.next()));
        p.put("cmm.mllp.host", "127.0.0.1");
        p.put("cmm.mllp.port", String.valueOf(FreePorts.next()));
        for (String listener : List.of("cmm.lab.results", "cmm.pharmacy.dispensing", "cmm.device.alerts.pcd", "cmm.device.pcd")) {
            p.put(listener + ".host", "127.0.0.1");
            p.put(listener + ".port", String.valueOf(FreePorts.next()));
        }
        p.put("cmm.fhir.subscription.websocket.host", "127.0.0.1");
        p.put("cmm.fhir.subscription.websocket.port", String.valueOf(FreePorts.next()));
        p.put("cmm.lake.enabled", "true");
        p.put("cmm.lake.sink-name", "kill");
        p.put("cmm.lake.topic-families", "hl7.");
        p.put("cmm.lake.s3.endpoint", s3.endpoint());
        p.put("cmm.lake.max-records", "40");
        p.put("cmm.lake.idle-cut-ms", "1500");
        p.put("cmm.lake.poll-interval-ms", "50");
        p.put("cmm.lake.poll-timeout-ms", "100");
        p.put("cmm.lake.topic-discovery-ms", "300");
        p.put("cmm.lake.initial-backoff-ms", "200");
        p.put("cmm.lake.max-backoff-ms", "1000");
        p.put("cmm.lake.work-dir", folder.resolve("lake-work").toString());
        p.put("cmm.warehouse.enabled", "true");
        p.put("cmm.warehouse.jdbc-url", postgres.jdbcUrl());
        p.put("cmm.warehouse.user", postgres.user());
        p.put("cmm.warehouse.max-poll-records", "20");
        p.put("cmm.warehouse.poll-interval-ms", "100");
        p.put("cmm.warehouse.poll-timeout-ms", "100");
        p.put("cmm.warehouse.topic-discovery-ms", "300");
        p.put("cmm.warehouse.initial-backoff-ms", "200");
        p.put("cmm.warehouse.max-backoff-ms", "1000");
        return p;
    }

    /** Sends event i; every tenth is sent twice (same ce_id, a second record), as an at-least-once producer does. */
    private static void send(List<Admit> events, int i) throws Exception {
        Admit e = events.get(i);
        String message = "MSH|^~\\&|EPIC|GENHOSP|CMM|CMM|" + HL7.format(e.at()) + "+0000||ADT^A01^ADT_A01|" + e.id()
                + "|P|2.5.1\rEVN|A01|" + HL7.format(e.at()) + "+0000\rPID|1||" + e.patient() + "^^^GENHOSP^MR||DOE^"
                + e.id() + "||19700101|F\rPV1|1|I|" + e.ward() + "^1^A^GENHOSP" + "|".repeat(16) + "V" + e.id() + "\r";
        for (int copy = 0; copy < (i % 10 == 0 ? 2 : 1); copy++) {
            ProducerRecord<String, byte[]> record = new ProducerRecord<>(TOPIC, e.patient(),
                    message.getBytes(StandardCharsets.ISO_8859_1));
            record.headers().add(new RecordHeader("ce_id", e.id().getBytes(StandardCharsets.UTF_8)));
            record.headers().add(new RecordHeader("ce_time", e.at().toInstant(ZoneOffset.UTC).toString()
                    .getBytes(StandardCharsets.UTF_8)));
            RecordMetadata at = producer.send(record).get(10, TimeUnit.SECONDS);
            produced.add(TOPIC + "-" + at.partition() + "-" + at.offset());
            endOffsets.merge(at.partition(), at.offset() + 1, Math::max);
        }
    }

    private static Connection db() throws Exception {
        return DriverManager.getConnection(postgres.jdbcUrl(), postgres.user(), "");
    }

    /** The records the warehouse has loaded: the sum of its stored next offsets (every partition starts at 0). */
    private static long warehouseNextOffsets() throws Exception {
        try (Connection c = db(); Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("SELECT coalesce(sum(next_offset), 0) FROM etl_kafka_offset")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static int count(String sql) throws Exception {
        try (Connection c = db(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getInt(1);
        }
    }

    private static Map<String, Integer> warehouseAdmissionsPerWardPerDay() throws Exception {
        Map<String, Integer> result = new TreeMap<>();
        try (Connection c = db(); Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("SELECT l.ward, d.full_date, count(*) FROM fact_encounter_event f"
                        + " JOIN dim_location l ON l.location_sk = f.location_sk JOIN dim_date d ON d.date_key = f.date_key"
                        + " GROUP BY l.ward, d.full_date")) {
            while (rs.next()) {
                result.put(rs.getString(1) + " " + rs.getDate(2).toLocalDate(), rs.getInt(3));
            }
        }
        return result;
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
            client.listObjectsV2Paginator(b -> b.bucket(BUCKET).prefix("events/")).contents().stream()
                    .map(S3Object::key).forEach(keys::add);
            return keys;
        }
    }

    /** Reads the objects with DuckDB: topic-partition-offset -> object; a record found twice fails. */
    private static Map<String, String> readLake(Set<String> keys) throws Exception {
        Path copy = Files.createTempDirectory(folder, "read");
        try (S3Client client = s3Client()) {
            for (String key : keys) {
                Path local = copy.resolve(key);
                Files.createDirectories(local.getParent());
                client.getObject(b -> b.bucket(BUCKET).key(key), local);
            }
        }
        Map<String, String> rows = new HashMap<>();
        try (Connection duck = DriverManager.getConnection("jdbc:duckdb:"); Statement st = duck.createStatement()) {
            for (String key : keys) {
                try (ResultSet rs = st.executeQuery("SELECT kafka_topic, kafka_partition, kafka_offset FROM read_parquet('"
                        + copy.resolve(key).toString().replace("'", "''") + "')")) {
                    while (rs.next()) {
                        String coordinates = rs.getString(1) + "-" + rs.getInt(2) + "-" + rs.getLong(3);
                        String previous = rows.put(coordinates, key);
                        if (previous != null) {
                            throw new AssertionError(coordinates + " is in " + previous + " and in " + key);
                        }
                    }
                }
            }
        }
        return rows;
    }
}
