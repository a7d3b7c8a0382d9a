package org.cmm.eventbroker.warehouse;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.cmm.eventbroker.testsupport.KafkaTopicReader;
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
 * a replay of every record (offsets set back, every event sent again) changes no count; every rejected record is on
 * warehouse.dlq untouched (value, key, headers byte for byte) with the table's reason, once, also after the replay;
 * PostgreSQL stopped and started again: the health check says so meanwhile, and the event sent during the outage is
 * loaded once.
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
    /** The payload sent last under each id, to compare the dead letters with. */
    private static final Map<String, byte[]> SENT = new HashMap<>();
    private static final byte[] BINARY_HEADER = {0, (byte) 0xff, (byte) 0xc3, 0x28, 10};

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

    /** A scripted medication order (RDE^O11): its ORC-2 is the dispense's order id when one was dispensed. */
    private record MedOrder(String id, String patient, String orderId, LocalDateTime at, String prescriber,
            String prescriberFamily) {
    }

    /** A scripted dispense (RDS^O13) of an order. */
    private record Dispense(String id, String patient, String orderId, LocalDateTime at, String quantity) {
    }

    /** A scripted device reading: one JSON record of a patient monitor. */
    private record Vital(String id, String device, String patient, LocalDateTime at, String code, double value) {
    }

    private static final List<Dispense> DISPENSES = List.of(
            new Dispense("d1", "P1", "ORD-d1", at(2, 8), "60"),
            new Dispense("d2", "P2", "ORD-d2", at(1, 14), "30"));

    private static final List<MedOrder> ORDERS = List.of(
            new MedOrder("o1", "P1", "ORD-d1", at(2, 6), "NPI1", "WELBY"),
            // sent after o1 but ordered earlier: its older spelling of the prescriber's name must not win
            new MedOrder("o3", "P3", "ORD-o3", at(2, 12), "NPI2", "KILDARE"),
            new MedOrder("o2", "P2", "ORD-d2", at(1, 13), "NPI1", "WELBY-OLD"));

    private static final List<Vital> VITALS = List.of(
            new Vital("v1", "PM-1", "P1", at(2, 10).plusMinutes(5), "MDC_PULS_RATE", 80),
            new Vital("v2", "PM-1", "P1", at(2, 10).plusMinutes(35), "MDC_PULS_RATE", 90),
            new Vital("v3", "PM-1", "P1", at(2, 11).plusMinutes(10), "MDC_PULS_RATE", 100),
            new Vital("v4", "PM-2", "P2", at(2, 10).plusMinutes(20), "MDC_PULS_RATE", 70),
            new Vital("v5", "PM-1", "P1", at(2, 10).plusMinutes(15), "MDC_PULS_OXIM_SAT_O2", 97),
            // late: an earlier reading of the same hour, sent last
            new Vital("v6", "PM-1", "P1", at(2, 10).plusMinutes(50), "MDC_PULS_RATE", 85));

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
            rs = st.executeQuery("SELECT reason FROM etl_rejected_record ORDER BY reason");
            List<String> reasons = new ArrayList<>();
            while (rs.next()) {
                reasons.add(rs.getString(1));
            }
            assertEquals(3, reasons.size(), reasons.toString());
            assertEquals(List.of("event time in 1999, outside the date dimension (2000-2060)",
                    "not an HL7 v2 message (no MSH segment first)"), reasons.subList(0, 2));
            assertTrue(reasons.get(2).startsWith("the database refused its rows (SQLState 22"), reasons.get(2));
        }
    }

    @Test
    @Order(2)
    void ordersDispensesDeviceVitalsPractitionersAndCodesEqualTheTestsOwnComputation() throws Exception {
        awaitLoaded();
        assertEquals(expectedVitalsPerHour(), warehouseVitalsPerHour());
        assertEquals(expectedOrderToDispense(), warehouseOrderToDispense());
        try (Connection c = db(); Statement st = c.createStatement()) {
            ResultSet rs = st.executeQuery("SELECT count(*) FROM fact_medication_order");
            rs.next();
            assertEquals(ORDERS.size(), rs.getInt(1));
            // practitioners: the names of the latest event by event time, whatever the order they arrived in
            Map<String, String> practitioners = new TreeMap<>();
            rs = st.executeQuery("SELECT practitioner_id, assigning_authority, family_name FROM dim_practitioner");
            while (rs.next()) {
                practitioners.put(rs.getString(1) + "@" + rs.getString(2), rs.getString(3));
            }
            Map<String, String> expected = new TreeMap<>();
            expected.put("DR1@GENHOSP", attendingFamily(ADT.stream().max(Comparator.comparing(Adt::at)).orElseThrow()));
            ORDERS.stream().sorted(Comparator.comparing(MedOrder::at))
                    .forEach(o -> expected.put(o.prescriber() + "@NPI", o.prescriberFamily()));
            expected.put("NPI3@NPI", "CASEY");
            assertEquals(expected, practitioners);
            // every encounter event meets its attending, every lab result its orderer, every order its prescriber
            rs = st.executeQuery("SELECT (SELECT count(*) FROM fact_encounter_event WHERE attending_practitioner_sk IS NULL"
                    + " AND patient_id <> 'P9'), (SELECT count(*) FROM fact_lab_result WHERE ordering_practitioner_sk IS NULL),"
                    + " (SELECT count(*) FROM fact_medication_order WHERE ordering_practitioner_sk IS NULL)");
            rs.next();
            assertEquals(List.of(0, 0, 0), List.of(rs.getInt(1), rs.getInt(2), rs.getInt(3)));
            // codes: LOINC from the alternate coding of a local code, RxNorm and NDC from their CE-3, MDC for devices
            Set<String> codes = new HashSet<>();
            rs = st.executeQuery("SELECT hl7_coding_system || ' ' || system || ' ' || code FROM dim_code");
            while (rs.next()) {
                codes.add(rs.getString(1));
            }
            assertEquals(Set.of("LN http://loinc.org 2345-7", "LN http://loinc.org 2951-2",
                    "RXNORM http://www.nlm.nih.gov/research/umls/rxnorm 617318", "NDC http://hl7.org/fhir/sid/ndc 00071015523",
                    "MDC urn:iso:std:iso:11073:10101 MDC_PULS_RATE", "MDC urn:iso:std:iso:11073:10101 MDC_PULS_OXIM_SAT_O2"),
                    codes);
        }
    }

    @Test
    @Order(3)
    void everyRejectedRecordGoesUntouchedToTheWarehouseDeadLetterTopicWithItsReason() throws Exception {
        awaitLoaded();
        Map<String, ConsumerRecord<String, byte[]>> dead = assertDeadLettersAreTheRejectedRecords();
        Set<String> ids = new HashSet<>();
        for (ConsumerRecord<String, byte[]> r : dead.values()) {
            ids.add(r.key());
            // untouched: the original bytes, key and headers, beside the dead-letter headers
            assertArrayEquals(SENT.get(r.key()), r.value(), r.key());
            assertEquals(r.key(), KafkaTopicReader.header(r, "ce_id"));
            assertEquals("warehouse-loader-warehouse", KafkaTopicReader.header(r, "dlq_source"));
            assertTrue(KafkaTopicReader.header(r, "dlq_time") != null);
        }
        assertEquals(Set.of("bad", "old", "vnul"), ids);
        ConsumerRecord<String, byte[]> bad = dead.values().stream().filter(r -> r.key().equals("bad")).findFirst().orElseThrow();
        assertArrayEquals(BINARY_HEADER, bad.headers().lastHeader("x-sender-trace").value(), "a binary header, byte for byte");
        assertEquals("hl7.adt.a01", KafkaTopicReader.header(bad, "dlq_original_topic"));
    }

    /**
     * The warehouse.dlq records are the rows of etl_rejected_record, one each: same original topic, partition and
     * offset, and dlq_reason is the table's reason. Returns them by original coordinates.
     */
    private static Map<String, ConsumerRecord<String, byte[]>> assertDeadLettersAreTheRejectedRecords() throws Exception {
        Map<String, String> rejected = new TreeMap<>();
        try (Connection c = db(); Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("SELECT kafka_topic, kafka_partition, kafka_offset, reason FROM etl_rejected_record")) {
            while (rs.next()) {
                rejected.put(rs.getString(1) + ":" + rs.getInt(2) + ":" + rs.getLong(3), rs.getString(4));
            }
        }
        List<ConsumerRecord<String, byte[]>> records = env.topics().awaitRecords("warehouse.dlq", r -> true, rejected.size());
        Map<String, ConsumerRecord<String, byte[]>> dead = new TreeMap<>();
        Map<String, String> reasons = new TreeMap<>();
        for (ConsumerRecord<String, byte[]> r : records) {
            String at = KafkaTopicReader.header(r, "dlq_original_topic") + ":"
                    + KafkaTopicReader.header(r, "dlq_original_partition") + ":"
                    + KafkaTopicReader.header(r, "dlq_original_offset");
            assertTrue(dead.put(at, r) == null, "dead-lettered once: " + at);
            reasons.put(at, KafkaTopicReader.header(r, "dlq_reason"));
        }
        Map<String, String> expected = new TreeMap<>();
        rejected.forEach((at, reason) -> expected.put(at, "warehouse: " + reason));
        assertEquals(expected, reasons);
        return dead;
    }

    @Test
    @Order(4)
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
        before.merge("etl_rejected_record", 3, Integer::sum);
        assertEquals(before, counts());
        assertEquals(expectedCensus(), warehouseCensus());
        assertEquals(expectedTurnaround(), warehouseTurnaround());
        assertEquals(expectedVitalsPerHour(), warehouseVitalsPerHour());
        assertEquals(expectedOrderToDispense(), warehouseOrderToDispense());
        // the copies sent again are dead-lettered (new records); the first copies, read again, are not dead-lettered twice
        assertDeadLettersAreTheRejectedRecords();
    }

    @Test
    @Order(5)
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
        for (Dispense d : DISPENSES) {
            send("pharmacy.dispensing.new", d.id(), rds(d));
        }
        for (MedOrder o : ORDERS) {
            send("pharmacy.orders.inpatient", o.id(), rde(o));
        }
        for (Vital v : VITALS) {
            send("device.patient-monitor.vitals", v.id(), vital(v).getBytes(StandardCharsets.UTF_8));
        }
        // a reading delivered twice (MQTT at least once): the same ce_id, counted once
        send("device.patient-monitor.vitals", "v2", vital(VITALS.get(1)).getBytes(StandardCharsets.UTF_8));
        // not a warehouse topic (a pump's status): never read
        send("device.infusion-pump.status", "s1", "{\"deviceId\":\"IP-1\"}".getBytes(StandardCharsets.UTF_8));
        endOffsets.keySet().removeIf(k -> k.startsWith("device.infusion-pump.status:"));
        // a NUL character (JSON \u0000) PostgreSQL's text cannot hold: the database refuses the row, the record alone
        // is rejected (its savepoint rolled back), the poll's other records are loaded
        send("device.patient-monitor.vitals", "vnul", ("{\"deviceId\":\"PM-3\",\"timestamp\":\"2026-12-02T10:00:00Z\","
                + "\"readings\":[{\"code\":\"MDC_PULS_RATE\",\"value\":80,\"unit\":\"/min\\u0000\"}]}")
                .getBytes(StandardCharsets.UTF_8));
        // garbage with a binary header of its sender's: both reach warehouse.dlq byte for byte
        send("hl7.adt.a01", "bad", "garbage that is not HL7".getBytes(StandardCharsets.UTF_8),
                new RecordHeader("x-sender-trace", BINARY_HEADER));
        // an event time outside the date dimension: rejected with the reason, not retried for ever
        send("hl7.adt.a01", "old", adt(new Adt("old", "A01", "P9", "V9", "ICU", LocalDateTime.of(1999, 1, 1, 0, 0), "OLD")));
    }

    private static void send(String topic, String id, String message) throws Exception {
        send(topic, id, message.getBytes(StandardCharsets.ISO_8859_1));
    }

    private static void send(String topic, String id, byte[] payload, RecordHeader... more) throws Exception {
        ProducerRecord<String, byte[]> record = new ProducerRecord<>(topic, id, payload);
        record.headers().add(new RecordHeader("ce_id", id.getBytes(StandardCharsets.UTF_8)));
        for (RecordHeader h : more) {
            record.headers().add(h);
        }
        SENT.put(id, payload);
        RecordMetadata at = producer.send(record).get(10, TimeUnit.SECONDS);
        endOffsets.merge(at.topic() + ":" + at.partition(), at.offset() + 1, Math::max);
    }

    private static String adt(Adt e) {
        String family = e.family() == null ? "SAME" : e.family();
        return "MSH|^~\\&|EPIC|GENHOSP|CMM|CMM|" + HL7.format(e.at()) + "+0000||ADT^" + e.trigger() + "^ADT_A01|"
                + e.id() + "|P|2.5.1\rEVN|" + e.trigger() + "|" + HL7.format(e.at()) + "+0000\rPID|1||" + e.patient()
                + "^^^GENHOSP^MR||" + family + "^PAT||19560412|F\rPV1|1|I|" + e.ward() + "^101^A^GENHOSP"
                + "||||DR1^" + attendingFamily(e) + "^GREGORY^^^^^^GENHOSP" + "|".repeat(12) + e.visit() + "\r";
    }

    /** The attending's name as each event spells it: the late e11 carries an old spelling that must not win. */
    private static String attendingFamily(Adt e) {
        return e.id().equals("e11") ? "HOUSE-OLD" : "HOUSE";
    }

    private static String oru(Lab l) {
        return "MSH|^~\\&|LAB|GENHOSP|CMM|CMM|" + HL7.format(l.resulted()) + "+0000||ORU^R01|" + l.id() + "|P|2.5.1\r"
                + "PID|1||" + l.patient() + "^^^GENHOSP^MR||X^Y\rOBR|1|ORD|LAB|24323-8^CMP^LN|||"
                + HL7.format(l.collected()) + "+0000" + "|".repeat(9) + "NPI3^CASEY^BEN^^^^^^NPI" + "|".repeat(6)
                + HL7.format(l.resulted()) + "+0000\r"
                // a local code with its LOINC as the alternate coding (CWE-4..6): the warehouse keeps the LOINC
                + "OBX|1|NM|GLU^Glucose, local^99LAB^2345-7^Glucose^LN||88|mg/dL|70-99|N|||F\r"
                + "OBX|2|NM|2951-2^Sodium^LN||140|mmol/L|136-145||||F\r";
    }

    private static String rds(Dispense d) {
        return "MSH|^~\\&|PHARMSYS|GENHOSP|CMM|CMM|" + HL7.format(d.at()) + "+0000||RDS^O13^RDS_O13|" + d.id() + "|P|2.5.1\r"
                + "PID|1||" + d.patient() + "^^^GENHOSP^MR||X^Y\rORC|RE|" + d.orderId() + "|RX-" + d.id() + "||CM\r"
                + "RXD|1|00071015523^Atorvastatin 10 mg tablet^NDC|" + HL7.format(d.at()) + "+0000|" + d.quantity() + "|TAB\r";
    }

    /** RDE^O11 with the prescriber in ORC-12 (XCN, NPI in XCN-9) and the drug as RxNorm in RXE-2. */
    private static String rde(MedOrder o) {
        return "MSH|^~\\&|CPOE|GENHOSP|PHARMSYS|GENHOSP|" + HL7.format(o.at()) + "+0000||RDE^O11^RDE_O11|" + o.id()
                + "|P|2.5.1\rPID|1||" + o.patient() + "^^^GENHOSP^MR||X^Y\rPV1|1|I|ICU^101^A^GENHOSP\r"
                + "ORC|NW|" + o.orderId() + "|||||||" + HL7.format(o.at()) + "+0000|||" + o.prescriber() + "^"
                + o.prescriberFamily() + "^MARCUS^^^^^^NPI\r"
                + "RXE|^^^" + HL7.format(o.at()) + "|617318^Atorvastatin 10 MG Oral Tablet^RXNORM|1||TAB|||||30|TAB\r";
    }

    /** The canonical device JSON (docs/devices.md) as the MQTT/HTTP ingest publishes it. */
    private static String vital(Vital v) {
        return "{\"deviceId\":\"" + v.device() + "\",\"deviceType\":\"patient-monitor\",\"dataType\":\"vitals\","
                + "\"patientId\":\"" + v.patient() + "\",\"timestamp\":\"" + v.at() + ":00Z\","
                + "\"readings\":[{\"code\":\"" + v.code() + "\",\"value\":" + v.value() + ",\"unit\":\"/min\"}]}";
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

    /** Per device, code and UTC hour: readings, mean, min, max, computed here from the scripted readings (once each). */
    private static Map<String, String> expectedVitalsPerHour() {
        Map<String, List<Double>> values = new TreeMap<>();
        for (Vital v : VITALS) {
            values.computeIfAbsent(v.device() + " " + v.code() + " " + v.at().withMinute(0), k -> new ArrayList<>())
                    .add(v.value());
        }
        Map<String, String> expected = new TreeMap<>();
        values.forEach((k, list) -> expected.put(k, list.size() + " " + BigDecimal.valueOf(
                list.stream().mapToDouble(Double::doubleValue).average().orElseThrow()).setScale(2, RoundingMode.HALF_UP)
                + " " + BigDecimal.valueOf(list.stream().mapToDouble(Double::doubleValue).min().orElseThrow()).setScale(1,
                        RoundingMode.HALF_UP)
                + " " + BigDecimal.valueOf(list.stream().mapToDouble(Double::doubleValue).max().orElseThrow()).setScale(1,
                        RoundingMode.HALF_UP)));
        return expected;
    }

    private static Map<String, String> warehouseVitalsPerHour() throws Exception {
        Map<String, String> result = new TreeMap<>();
        try (Connection c = db(); Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("SELECT h.device_id, c.code, h.hour_start AT TIME ZONE 'UTC', h.readings,"
                        + " round(h.value_sum / h.readings, 2), round(h.value_min, 1), round(h.value_max, 1)"
                        + " FROM fact_device_vital_hourly h JOIN dim_code c ON c.code_sk = h.code_sk")) {
            while (rs.next()) {
                result.put(rs.getString(1) + " " + rs.getString(2) + " " + rs.getTimestamp(3).toLocalDateTime(),
                        rs.getLong(4) + " " + rs.getBigDecimal(5) + " " + rs.getBigDecimal(6) + " " + rs.getBigDecimal(7));
            }
        }
        return result;
    }

    /** Minutes from order to first dispense per order, computed here; orders never dispensed are left out. */
    private static Map<String, Long> expectedOrderToDispense() {
        Map<String, Long> expected = new TreeMap<>();
        for (MedOrder o : ORDERS) {
            DISPENSES.stream().filter(d -> d.orderId().equals(o.orderId())).map(Dispense::at).min(Comparator.naturalOrder())
                    .ifPresent(first -> expected.put(o.orderId(), Duration.between(o.at(), first).toMinutes()));
        }
        return expected;
    }

    private static Map<String, Long> warehouseOrderToDispense() throws Exception {
        Map<String, Long> result = new TreeMap<>();
        try (Connection c = db(); Statement st = c.createStatement();
                ResultSet rs = st.executeQuery(ORDER_TO_DISPENSE_SQL)) {
            while (rs.next()) {
                result.put(rs.getString(1), rs.getLong(2));
            }
        }
        return result;
    }

    /** The docs' sample query (docs/data-platform.md), as it is written there. */
    private static final String ORDER_TO_DISPENSE_SQL = "SELECT o.order_id,"
            + " round(extract(epoch FROM min(d.dispensed_at) - min(o.ordered_at)) / 60) AS minutes_to_first_dispense"
            + " FROM fact_medication_order o JOIN fact_medication_dispense d ON d.order_id = o.order_id"
            + " GROUP BY o.order_id ORDER BY o.order_id";

    private static Map<String, Integer> counts() throws Exception {
        Map<String, Integer> counts = new TreeMap<>();
        try (Connection c = db(); Statement st = c.createStatement()) {
            for (String table : List.of("fact_encounter_event", "fact_lab_result", "fact_medication_dispense",
                    "fact_medication_order", "fact_device_vital_reading", "fact_device_vital_hourly", "dim_patient",
                    "dim_location", "dim_code", "dim_practitioner", "etl_rejected_record")) {
                ResultSet rs = st.executeQuery("SELECT count(*) FROM " + table);
                rs.next();
                counts.put(table, rs.getInt(1));
            }
        }
        return counts;
    }
}
