package org.cmm.eventbroker.warehouse;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.cmm.eventbroker.testsupport.PostgresServer;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The warehouse loader (routes/warehouse/warehouse-loader.camel.yaml) against a real Kafka broker and a real PostgreSQL:
 * the census per ward per day and the lab turnaround the warehouse's views answer equal what this test computes itself
 * from the same scripted events (sent partly late and out of order); the patient history is type 2 in event-time order;
 * a replay of every record (offsets set back, every event sent again) changes no count; PostgreSQL stopped and started
 * again: the health check says so meanwhile, and the event sent during the outage is loaded once.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class WarehouseLoaderIT {

    private static final DateTimeFormatter HL7 = DateTimeFormatter.ofPattern("yyyyMMddHHmm");
    private static final LocalDate FIRST = LocalDate.of(2026, 12, 1);
    private static final LocalDate LAST = LocalDate.of(2026, 12, 4);

    private static PostgresServer postgres;
    private static RuntimeUnderTest env;
    private static KafkaProducer<String, byte[]> producer;
    private static final Map<String, Long> endOffsets = new HashMap<>();

    /** A scripted ADT event: what the test's own census is computed from. */
    private record Adt(String id, String trigger, String patient, String visit, String ward, LocalDateTime at,
            String family) {
    }

    /** A scripted lab result: collected and resulted times, one turnaround for each of its two OBX. */
    private record Lab(String id, String patient, LocalDateTime collected, LocalDateTime resulted) {
    }

    private static final List<Adt> ADT = List.of(
            new Adt("e1", "A01", "P1", "V1", "4WEST", at(1, 8), "ALPHA"),
            new Adt("e2", "A01", "P2", "V2", "ICU", at(1, 10), "BRAVO"),
            new Adt("e3", "A02", "P1", "V1", "ICU", at(2, 9), null),
            new Adt("e4", "A01", "P3", "V3", "4WEST", at(2, 11), "CHARLIE"),
            new Adt("e5", "A03", "P2", "V2", "ICU", at(3, 7), null),
            new Adt("e6", "A08", "P1", "V1", "ICU", at(2, 10), "ALPHA-SMITH"),
            new Adt("e7", "A03", "P3", "V3", "ICU", at(4, 8), null),
            new Adt("e8", "A01", "P4", "V4", "4WEST", at(3, 20), "DELTA"),
            new Adt("e9", "A03", "P1", "V1", "ICU", at(4, 12), null),
            // late and out of order: P3's transfer after its discharge, P1's first name change after the second
            new Adt("e10", "A02", "P3", "V3", "ICU", at(3, 15), null),
            new Adt("e11", "A08", "P1", "V1", "4WEST", at(1, 12), "ALPHA-JONES"));

    private static final List<Lab> LABS = List.of(
            new Lab("l1", "P1", at(1, 9), at(1, 10).plusMinutes(30)),
            new Lab("l2", "P2", at(1, 11), at(1, 11).plusMinutes(45)),
            new Lab("l3", "P3", at(2, 12), at(2, 15)),
            new Lab("l4", "P1", at(3, 6), at(3, 6).plusMinutes(20)));

    private static LocalDateTime at(int day, int hour) {
        return LocalDateTime.of(2026, 12, day, hour, 0);
    }

    @BeforeAll
    static void start() throws Exception {
        postgres = PostgresServer.start();
        env = RuntimeUnderTest.flows("warehouse-loader").with(Map.of(
                "cmm.warehouse.enabled", "true",
                "cmm.warehouse.jdbc-url", postgres.jdbcUrl(),
                "cmm.warehouse.user", postgres.user(),
                "cmm.warehouse.poll-interval-ms", "50",
                "cmm.warehouse.poll-timeout-ms", "100",
                "cmm.warehouse.topic-discovery-ms", "300",
                "cmm.warehouse.initial-backoff-ms", "200",
                "cmm.warehouse.max-backoff-ms", "1000")).start();
        producer = KafkaClients.forBootstrap(env.bootstrapServers()).producer("warehouse-it", Map.of());
    }

    @AfterAll
    static void stop() throws Exception {
        if (producer != null) {
            producer.close();
        }
        if (env != null) {
            env.close();
        }
        if (postgres != null) {
            postgres.close();
        }
    }

    @Test
    @Order(1)
    void censusPerWardPerDayAndLabTurnaroundEqualTheTestsOwnComputationFromTheSameEvents() throws Exception {
        sendAll();
        awaitLoaded();
        assertEquals(expectedCensus(), warehouseCensus());
        assertEquals(expectedTurnaround(), warehouseTurnaround());
        try (Connection c = db(); Statement st = c.createStatement()) {
            // type 2: three versions of P1 in event-time order, the latest by event time current (not the last sent)
            ResultSet rs = st.executeQuery("SELECT family_name, is_current, valid_to IS NULL FROM dim_patient"
                    + " WHERE patient_id = 'P1' ORDER BY valid_from");
            List<String> versions = new ArrayList<>();
            while (rs.next()) {
                versions.add(rs.getString(1) + ":" + rs.getBoolean(2) + ":" + rs.getBoolean(3));
            }
            assertEquals(List.of("ALPHA:false:false", "ALPHA-JONES:false:false", "ALPHA-SMITH:true:true"), versions);
            rs = st.executeQuery("SELECT count(*), sum(quantity) FROM fact_medication_dispense");
            rs.next();
            assertEquals(2, rs.getInt(1));
            assertEquals(0, new BigDecimal("90").compareTo(rs.getBigDecimal(2)));
            rs = st.executeQuery("SELECT reason FROM etl_rejected_record");
            rs.next();
            assertEquals("not an HL7 v2 message (no MSH segment first)", rs.getString(1));
        }
    }

    @Test
    @Order(2)
    void aReplayOfEveryRecordAndEveryEventSentAgainNeverDoubleCounts() throws Exception {
        Map<String, Integer> before = counts();
        env.stopRuntime();
        try (Connection c = db(); Statement st = c.createStatement()) {
            st.executeUpdate("UPDATE etl_kafka_offset SET next_offset = 0");
        }
        sendAll(); // the same events again (same ce_id), at new offsets
        env.startRuntime();
        awaitLoaded();
        // the events sent again are not loaded twice; the unreadable record sent again is a second record (own offset),
        // while its first copy, read again, is not kept twice
        before.merge("etl_rejected_record", 1, Integer::sum);
        assertEquals(before, counts());
        assertEquals(expectedCensus(), warehouseCensus());
        assertEquals(expectedTurnaround(), warehouseTurnaround());
    }

    @Test
    @Order(3)
    void whilePostgresqlIsAwayTheHealthCheckIsDownAndTheEventsAreLoadedWhenItIsBack() throws Exception {
        Map<String, Integer> before = counts();
        postgres.stopServer();
        send("hl7.adt.a01", "e12", adt(new Adt("e12", "A01", "P5", "V5", "ICU", at(4, 9), "ECHO")));
        HttpClient http = HttpClient.newHttpClient();
        URI health = URI.create("http://127.0.0.1:" + env.managementPort() + "/observe/health");
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).until(() -> http.send(
                HttpRequest.newBuilder(health).build(), HttpResponse.BodyHandlers.ofString()).body()
                .contains("Warehouse loader cannot load"));
        
        postgres.startServer();
        awaitLoaded();
        before.merge("fact_encounter_event", 1, Integer::sum);
        before.merge("dim_patient", 1, Integer::sum);
        assertEquals(before, counts());
        await().atMost(Duration.ofSeconds(10)).until(() -> !http.send(HttpRequest.newBuilder(health).build(),
                HttpResponse.BodyHandlers.ofString()).body().contains("Warehouse loader cannot load"));
    }

    private static void sendAll() throws Exception {
        for (Adt e : ADT) {
            send("hl7.adt." + e.trigger().toLowerCase(), e.id(), adt(e));
        }
        for (Lab l : LABS) {
            send("lab.results.normal", l.id(), oru(l));
        }
        send("pharmacy.dispensing.new", "d1", rds("d1", "P1", at(2, 8), "60"));
        send("pharmacy.dispensing.new", "d2", rds("d2", "P2", at(1, 14), "30"));
        send("hl7.adt.a01", "bad", "garbage that is not HL7".getBytes(StandardCharsets.UTF_8));
    }

    private static void send(String topic, String id, String message) throws Exception {
        send(topic, id, message.getBytes(StandardCharsets.ISO_8859_1));
    }

    private static void send(String topic, String id, byte[] payload) throws Exception {
        ProducerRecord<String, byte[]> record = new ProducerRecord<>(topic, id, payload);
        record.headers().add(new RecordHeader("ce_id", id.getBytes(StandardCharsets.UTF_8)));
        RecordMetadata at = producer.send(record).get(10, TimeUnit.SECONDS);
        endOffsets.merge(at.topic() + ":" + at.partition(), at.offset() + 1, Math::max);
    }

    private static String adt(Adt e) {
        String family = e.family() == null ? "SAME" : e.family();
        return "MSH|^~\\&|EPIC|GENHOSP|CMM|CMM|" + HL7.format(e.at()) + "+0000||ADT^" + e.trigger() + "^ADT_A01|"
                + e.id() + "|P|2.5.1\rEVN|" + e.trigger() + "|" + HL7.format(e.at()) + "+0000\rPID|1||" + e.patient()
                + "^^^GENHOSP^MR||" + family + "^PAT||19560412|F\rPV1|1|I|" + e.ward() + "^101^A^GENHOSP"
                + "|".repeat(16) + e.visit() + "\r";
    }

    private static String oru(Lab l) {
        return "MSH|^~\\&|LAB|GENHOSP|CMM|CMM|" + HL7.format(l.resulted()) + "+0000||ORU^R01|" + l.id() + "|P|2.5.1\r"
                + "PID|1||" + l.patient() + "^^^GENHOSP^MR||X^Y\rOBR|1|ORD|LAB|24323-8^CMP^LN|||"
                + HL7.format(l.collected()) + "+0000" + "|".repeat(15) + HL7.format(l.resulted()) + "+0000\r"
                + "OBX|1|NM|2345-7^Glucose^LN||88|mg/dL|70-99|N|||F\r"
                + "OBX|2|NM|2951-2^Sodium^LN||140|mmol/L|136-145||||F\r";
    }

    private static String rds(String id, String patient, LocalDateTime at, String quantity) {
        return "MSH|^~\\&|PHARMSYS|GENHOSP|CMM|CMM|" + HL7.format(at) + "+0000||RDS^O13^RDS_O13|" + id + "|P|2.5.1\r"
                + "PID|1||" + patient + "^^^GENHOSP^MR||X^Y\rORC|RE|ORD-" + id + "|RX-" + id + "||CM\r"
                + "RXD|1|00071015523^Atorvastatin 10 mg tablet^NDC|" + HL7.format(at) + "+0000|" + quantity + "|TAB\r";
    }

    private static Connection db() throws Exception {
        return DriverManager.getConnection(postgres.jdbcUrl(), postgres.user(), "");
    }

    /** Until the loader's stored offsets reach the end of every partition the test wrote to. */
    private static void awaitLoaded() {
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).ignoreExceptions().until(() -> {
            Map<String, Long> stored = new HashMap<>();
            try (Connection c = db(); Statement st = c.createStatement();
                    ResultSet rs = st.executeQuery("SELECT kafka_topic, kafka_partition, next_offset FROM etl_kafka_offset")) {
                while (rs.next()) {
                    stored.put(rs.getString(1) + ":" + rs.getInt(2), rs.getLong(3));
                }
            }
            return endOffsets.entrySet().stream().allMatch(e -> e.getValue().equals(stored.get(e.getKey())));
        });
    }

    /** The census computed here: stays from each visit's events in event-time order; present on every day touched. */
    private static Map<String, Integer> expectedCensus() {
        Map<String, List<Adt>> visits = new HashMap<>();
        ADT.stream().filter(e -> Set.of("A01", "A02", "A03").contains(e.trigger()))
                .forEach(e -> visits.computeIfAbsent(e.visit(), v -> new ArrayList<>()).add(e));
        Map<String, Set<String>> present = new TreeMap<>();
        for (List<Adt> events : visits.values()) {
            events.sort(Comparator.comparing(Adt::at));
            for (int i = 0; i < events.size(); i++) {
                Adt e = events.get(i);
                if (e.trigger().equals("A03")) {
                    continue;
                }
                LocalDate from = e.at().toLocalDate();
                LocalDate to = i + 1 < events.size() ? events.get(i + 1).at().toLocalDate() : LAST;
                for (LocalDate d = from; !d.isAfter(to) && !d.isAfter(LAST); d = d.plusDays(1)) {
                    present.computeIfAbsent(d + " " + e.ward(), k -> new HashSet<>()).add(e.patient());
                }
            }
        }
        Map<String, Integer> census = new TreeMap<>();
        present.forEach((k, v) -> census.put(k, v.size()));
        return census;
    }

    private static Map<String, Integer> warehouseCensus() throws Exception {
        Map<String, Integer> census = new TreeMap<>();
        try (Connection c = db(); Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("SELECT full_date, ward, patients FROM ward_census_daily"
                        + " WHERE full_date BETWEEN '" + FIRST + "' AND '" + LAST + "'")) {
            while (rs.next()) {
                census.put(rs.getDate(1).toLocalDate() + " " + rs.getString(2), rs.getInt(3));
            }
        }
        return census;
    }

    /** Mean minutes from collection to result per LOINC code, computed here. */
    private static Map<String, BigDecimal> expectedTurnaround() {
        BigDecimal total = LABS.stream().map(l -> BigDecimal.valueOf(
                Duration.between(l.collected().toInstant(ZoneOffset.UTC), l.resulted().toInstant(ZoneOffset.UTC))
                        .toMinutes())).reduce(BigDecimal.ZERO, BigDecimal::add);
        BigDecimal mean = total.divide(BigDecimal.valueOf(LABS.size()), 2, RoundingMode.HALF_UP);
        return new TreeMap<>(Map.of("2345-7", mean, "2951-2", mean));
    }

    private static Map<String, BigDecimal> warehouseTurnaround() throws Exception {
        Map<String, BigDecimal> result = new TreeMap<>();
        try (Connection c = db(); Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("SELECT c.code, round(avg(f.turnaround_minutes), 2) FROM fact_lab_result f"
                        + " JOIN dim_code c ON c.code_sk = f.code_sk GROUP BY c.code")) {
            while (rs.next()) {
                result.put(rs.getString(1), rs.getBigDecimal(2));
            }
        }
        return result;
    }

    private static Map<String, Integer> counts() throws Exception {
        Map<String, Integer> counts = new TreeMap<>();
        try (Connection c = db(); Statement st = c.createStatement()) {
            for (String table : List.of("fact_encounter_event", "fact_lab_result", "fact_medication_dispense",
                    "dim_patient", "dim_location", "dim_code", "etl_rejected_record")) {
                ResultSet rs = st.executeQuery("SELECT count(*) FROM " + table);
                rs.next();
                counts.put(table, rs.getInt(1));
            }
        }
        return counts;
    }
}
