package org.cmm.eventbroker.analytics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The analytics rules through the real topology (Kafka Streams' TopologyTestDriver), against the test oracle. */
class AnalyticsTopologyTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> TRIGGERS = AnalyticsSettings.TRIGGER_EVENTS;

    private final AnalyticsSettings settings = new AnalyticsSettings(AnalyticsSettings.adtTopics("hl7.adt",
            String.join(",", TRIGGERS)), "analytics.realtime.bed-occupancy", "analytics.realtime.patient-flow",
            "analytics.realtime.wait-times", "analytics.dlq", Set.of("ED", "MED", "SURG", "ICU"), Set.of("E"),
            ZoneOffset.UTC, 300_000L, 7 * 86_400_000L, 500, 1_000L, 3_600_000L, 900_000L, 1_000L, 1_000L);
    private final Map<String, Long> rejected = new TreeMap<>();
    private TopologyTestDriver driver;
    private Map<String, TestInputTopic<String, byte[]>> inputs;
    private Path stateDir;

    @BeforeEach
    void start() throws Exception {
        stateDir = Files.createTempDirectory("analytics-ttd");
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, "analytics-test");
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        driver = new TopologyTestDriver(AnalyticsTopology.build(settings, new AnalyticsCounters() {
            @Override
            public void rejected(String kind) {
                rejected.merge(kind, 1L, Long::sum);
            }

            @Override
            public void duplicate() {
                rejected.merge("duplicate", 1L, Long::sum);
            }
        }, false), p);
        inputs = new HashMap<>();
        for (String t : TRIGGERS) {
            inputs.put(t.toUpperCase(), driver.createInputTopic("hl7.adt." + t, new StringSerializer(),
                    new ByteArraySerializer()));
        }
    }

    @AfterEach
    void stop() {
        driver.close();
    }

    private void send(AdtStream.Message m) {
        inputs.get(m.trigger()).pipeInput(m.patient(), m.er7().getBytes(StandardCharsets.ISO_8859_1));
    }

    private void send(String patient, String controlId, String trigger, long t, String cls, String ward, String bed,
            String priorWard, String priorBed) {
        inputs.get(trigger).pipeInput(patient, AdtStream.er7("HOSP", patient, controlId, trigger, t, t, cls, ward, bed,
                priorWard, priorBed, "").getBytes(StandardCharsets.ISO_8859_1));
    }

    private Map<String, Integer> census() {
        Map<String, Integer> m = new TreeMap<>();
        KeyValueStore<String, String> store = driver.getKeyValueStore(MetricsAggregator.BED_OCCUPANCY);
        try (KeyValueIterator<String, String> all = store.all()) {
            while (all.hasNext()) {
                KeyValue<String, String> kv = all.next();
                int n = read(kv.value).path("occupied").asInt();
                if (n != 0) {
                    m.put(kv.key, n);
                }
            }
        }
        return m;
    }

    private Map<String, List<Long>> flows() {
        Map<String, List<Long>> m = new TreeMap<>();
        try (KeyValueIterator<String, String> all = driver.<String, String>getKeyValueStore(MetricsAggregator.PATIENT_FLOW).all()) {
            while (all.hasNext()) {
                KeyValue<String, String> kv = all.next();
                JsonNode f = read(kv.value);
                List<Long> v = List.of(f.get("admissions").asLong(), f.get("discharges").asLong(),
                        f.get("transfersIn").asLong(), f.get("transfersOut").asLong(), f.get("lengthOfStayCount").asLong(),
                        f.get("lengthOfStayTotalMinutes").asLong());
                if (v.get(0) + v.get(1) + v.get(2) + v.get(3) + v.get(4) != 0) {
                    m.put(kv.key, v);
                }
            }
        }
        return m;
    }

    private Map<String, List<Long>> waits() {
        Map<String, List<Long>> m = new TreeMap<>();
        try (KeyValueIterator<String, String> all = driver.<String, String>getKeyValueStore(MetricsAggregator.WAIT_TIMES).all()) {
            while (all.hasNext()) {
                KeyValue<String, String> kv = all.next();
                JsonNode w = read(kv.value);
                if (w.get("count").asInt() > 0) {
                    m.put(kv.key, List.of(w.get("count").asLong(), Math.round(w.get("p50Minutes").asDouble() * 60_000),
                            Math.round(w.get("p90Minutes").asDouble() * 60_000)));
                }
            }
        }
        return m;
    }

    private static JsonNode read(String json) {
        try {
            return JSON.readTree(json);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void generatedStreamWithDuplicatesCancelsAndDisorderGivesTheOraclesCensusFlowsAndWaits() {
        List<AdtStream.Message> sent = new AdtStream(42, System.currentTimeMillis()).generate("TTD", 60);
        sent.forEach(this::send);
        AnalyticsOracle.Expected expected = AnalyticsOracle.compute(sent, Set.of("E"), 3_600_000L, 900_000L);
        assertFalse(expected.occupiedPerWard().isEmpty(), "the stream leaves patients in beds");
        assertFalse(expected.percentiles().isEmpty(), "the stream has ED waits");
        assertEquals(expected.occupiedPerWard(), census());
        assertEquals(expected.flows(), flows());
        assertEquals(expected.percentiles(), waits());
        assertEquals(Map.of("impossible-time", 2L, "missing-location", 1L, "unknown-ward", 1L),
                withoutDuplicates(rejected));
        TestOutputTopic<String, byte[]> dlq = driver.createOutputTopic("analytics.dlq", new StringDeserializer(),
                new ByteArrayDeserializer());
        List<TestRecord<String, byte[]>> dead = dlq.readRecordsToList();
        assertEquals(4, dead.size());
        for (TestRecord<String, byte[]> r : dead) {
            String reason = new String(r.headers().lastHeader("dlq_reason").value(), StandardCharsets.UTF_8);
            assertFalse(reason.isBlank());
            assertTrue(new String(r.value(), StandardCharsets.ISO_8859_1).startsWith("MSH|"), "body untouched");
        }
    }

    @Test
    void theSameEventsInAnyArrivalOrderGiveTheSameMetrics() {
        List<AdtStream.Message> sent = new AdtStream(7, System.currentTimeMillis()).generate("ORD", 40);
        List<AdtStream.Message> reversed = new ArrayList<>(sent);
        java.util.Collections.reverse(reversed);
        reversed.forEach(this::send);
        AnalyticsOracle.Expected expected = AnalyticsOracle.compute(sent, Set.of("E"), 3_600_000L, 900_000L);
        assertEquals(expected.occupiedPerWard(), census());
        assertEquals(expected.flows(), flows());
        assertEquals(expected.percentiles(), waits());
    }

    @Test
    void aDischargeArrivingBeforeItsAdmissionLeavesTheBedFree() {
        long t = hoursAgo(3);
        send("P1", "C2", "A03", t + 3_600_000L, "I", "MED", "1-A", "", "");
        send("P1", "C1", "A01", t, "I", "MED", "1-A", "", "");
        assertEquals(Map.of(), census());
        long hour = Contribution.hour(t + 3_600_000L);
        assertEquals(List.of(0L, 1L, 0L, 0L, 1L, 60L), flows().get("MED|" + hour));
    }

    @Test
    void aResentMessageCountsOnce() {
        long t = hoursAgo(2);
        send("P1", "C1", "A01", t, "I", "ICU", "2-B", "", "");
        send("P1", "C1", "A01", t, "I", "ICU", "2-B", "", "");
        assertEquals(Map.of("ICU", 1), census());
        assertEquals(1L, flows().get("ICU|" + Contribution.hour(t)).get(0));
        assertEquals(Map.of("duplicate", 1L), rejected);
    }

    @Test
    void cancelsRestoreTheStateBeforeTheCancelledEvent() {
        long t = hoursAgo(4);
        send("P1", "C1", "A01", t, "I", "MED", "1-A", "", "");
        send("P1", "C2", "A02", t + 600_000L, "I", "ICU", "3-A", "MED", "1-A");
        assertEquals(Map.of("ICU", 1), census());
        send("P1", "C3", "A12", t + 1_200_000L, "I", "MED", "1-A", "ICU", "3-A");
        assertEquals(Map.of("MED", 1), census());
        send("P1", "C4", "A03", t + 1_800_000L, "I", "MED", "1-A", "", "");
        assertEquals(Map.of(), census());
        send("P1", "C5", "A13", t + 2_400_000L, "I", "MED", "1-A", "", "");
        assertEquals(Map.of("MED", 1), census());
        send("P1", "C6", "A11", t + 3_000_000L, "I", "MED", "1-A", "", "");
        assertEquals(Map.of(), census());
        assertEquals(Map.of(), flows(), "a cancelled admission withdraws what it and the events after it counted");
    }

    @Test
    void edWaitEndsAtTheAdmissionDecisionWithNearestRankPercentiles() {
        long t = Contribution.hour(hoursAgo(5));
        int[] minutes = {10, 20, 30, 40, 100};
        for (int i = 0; i < minutes.length; i++) {
            send("W" + i, "A" + i, "A04", t, "E", "ED", "1-A", "", "");
            send("W" + i, "B" + i, i % 2 == 0 ? "A01" : "A03", t + minutes[i] * 60_000L, "I", "MED", "2-A", "", "");
        }
        // windows of 1 h every 15 min, by the time the wait ended: [t, t+1h) holds 10, 20, 30 and 40 min
        // (p50 = 2nd of 4, p90 = 4th of 4); [t+45min, t+105min) and [t+1h, t+2h) only the 100 min one
        Map<String, List<Long>> w = waits();
        assertEquals(List.of(4L, 20 * 60_000L, 40 * 60_000L), w.get("ED|" + t));
        assertEquals(List.of(2L, 30 * 60_000L, 40 * 60_000L), w.get("ED|" + (t + 1_800_000L)));
        assertEquals(List.of(1L, 100 * 60_000L, 100 * 60_000L), w.get("ED|" + (t + 2_700_000L)));
        assertEquals(List.of(1L, 100 * 60_000L, 100 * 60_000L), w.get("ED|" + (t + 3_600_000L)));
    }

    @Test
    void badInputIsDeadLetteredWithItsReasonAndNeverCounted() {
        long t = hoursAgo(1);
        send("P1", "C1", "A01", t, "I", "", "", "", "");
        send("P2", "C2", "A01", t, "I", "XRAY", "1-A", "", "");
        send("P3", "C3", "A01", System.currentTimeMillis() + 86_400_000L, "I", "MED", "1-A", "", "");
        send("P4", "C4", "A01", System.currentTimeMillis() - 30 * 86_400_000L, "I", "MED", "1-A", "", "");
        assertEquals(Map.of(), census());
        List<String> reasons = driver.createOutputTopic("analytics.dlq", new StringDeserializer(),
                new ByteArrayDeserializer()).readRecordsToList().stream()
                .map(r -> new String(r.headers().lastHeader("dlq_reason").value(), StandardCharsets.UTF_8)).toList();
        assertEquals(List.of("no assigned patient location (PV1-3.1)",
                "assigned location (PV1-3.1) is not in cmm.analytics.wards",
                "event time (EVN-2/MSH-7) is in the future",
                "event time (EVN-2/MSH-7) is older than cmm.analytics.retention-ms"), reasons);
        assertEquals(Map.of("impossible-time", 2L, "missing-location", 1L, "unknown-ward", 1L), rejected);
    }

    @Test
    void moreBadInputIsDeadLetteredWithItsReasonCountedAndNeverChangesTheCensus() {
        long t = hoursAgo(2);
        send("P0", "C0", "A01", t, "I", "MED", "1-A", "", "");
        String ts = AdtStream.er7("HOSP", "P1", "C1", "A01", t, t, "I", "MED", "2-A", "", "", "");
        // no PV1 segment at all
        inputs.get("A01").pipeInput("P1", ts.substring(0, ts.indexOf("PV1|")).getBytes(StandardCharsets.ISO_8859_1));
        // a discharge date (PV1-45) before the admit date (PV1-44)
        inputs.get("A03").pipeInput("P0", AdtStream.er7("HOSP", "P0", "C2", "A03", t, t, "I", "MED", "1-A", "", "",
                "|20260105120000|20260101120000").getBytes(StandardCharsets.ISO_8859_1));
        // an event time that is no date (month 13)
        inputs.get("A01").pipeInput("P3", AdtStream.er7("HOSP", "P3", "C3", "A01", t, t, "I", "MED", "3-A", "", "", "")
                .replaceFirst("EVN\\|A01\\|\\d{4}\\d{2}", "EVN|A01|202613").getBytes(StandardCharsets.ISO_8859_1));
        // an unknown ward on a transfer: the patient stays where they were
        send("P0", "C4", "A02", t + 60_000L, "I", "XRAY", "1-B", "MED", "1-A");
        List<String> reasons = driver.createOutputTopic("analytics.dlq", new StringDeserializer(),
                new ByteArrayDeserializer()).readRecordsToList().stream()
                .map(r -> new String(r.headers().lastHeader("dlq_reason").value(), StandardCharsets.UTF_8)).toList();
        assertEquals(Map.of("MED", 1), census(), () -> "only the one good admission counts; dead letters: " + reasons);
        assertEquals(List.of("no assigned patient location (PV1-3.1)",
                "discharge time (PV1-45) before admit time (PV1-44)",
                "EVN-2 is not a valid HL7 date/time to the minute",
                "assigned location (PV1-3.1) is not in cmm.analytics.wards"), reasons);
        assertEquals(Map.of("impossible-time", 2L, "missing-location", 1L, "unknown-ward", 1L), rejected);
    }

    @Test
    void flowWindowsCloseOnTheWallClockWithoutFurtherTraffic() {
        long t = hoursAgo(3);
        send("P1", "C1", "A01", t, "I", "SURG", "4-A", "", "");
        TestOutputTopic<String, String> flow = driver.createOutputTopic("analytics.realtime.patient-flow",
                new StringDeserializer(), new StringDeserializer());
        Map<String, JsonNode> last = new LinkedHashMap<>();
        flow.readKeyValuesToList().forEach(kv -> last.put(kv.key, read(kv.value)));
        assertFalse(last.get("SURG|" + Contribution.hour(t)).get("final").asBoolean(), "open while it is updated");
        driver.advanceWallClockTime(Duration.ofMillis(settings.punctuationMs()));
        flow.readKeyValuesToList().forEach(kv -> last.put(kv.key, read(kv.value)));
        JsonNode closed = last.get("SURG|" + Contribution.hour(t));
        assertTrue(closed.get("final").asBoolean(), "published as final by the wall-clock punctuation");
        assertEquals(1, closed.get("admissions").asInt());
    }

    private static long hoursAgo(int hours) {
        return System.currentTimeMillis() - hours * 3_600_000L;
    }

    private static Map<String, Long> withoutDuplicates(Map<String, Long> counts) {
        Map<String, Long> m = new TreeMap<>(counts);
        m.remove("duplicate");
        return m;
    }
}
