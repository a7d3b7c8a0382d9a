package org.cmm.eventbroker.analytics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.cmm.eventbroker.testsupport.PayloadSchemaCheck;
import org.junit.jupiter.api.Test;

/**
 * The payload schemas registered for the analytics topology's metric events (schemas/cmm.analytics.*.v1.json, channel
 * analyticsRealtime of eventapi/topic-families.yaml) describe what the topology publishes: a generated ADT stream
 * through the real topology (TopologyTestDriver), every record of the three metric topics validated, open and final
 * ones, each with the header analytics_metric its schema names. A field the topology always writes, left out, makes the
 * payload invalid.
 */
class AnalyticsPayloadSchemasTest {

    private static final List<String> TRIGGERS = AnalyticsSettings.TRIGGER_EVENTS;

    @Test
    void everyPublishedMetricIsValidUnderItsSchema() throws Exception {
        AnalyticsSettings settings = new AnalyticsSettings(AnalyticsSettings.adtTopics("hl7.adt",
                String.join(",", TRIGGERS)), "analytics.realtime.bed-occupancy", "analytics.realtime.patient-flow",
                "analytics.realtime.wait-times", "analytics.dlq", Set.of("ED", "MED", "SURG", "ICU"), Set.of("E"),
                ZoneOffset.UTC, 300_000L, 7 * 86_400_000L, 500, 1_000L, 3_600_000L, 900_000L, 1_000L, 1_000L);
        Path stateDir = Files.createTempDirectory("analytics-schemas");
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, "analytics-schemas-test");
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        try (TopologyTestDriver driver = new TopologyTestDriver(AnalyticsTopology.build(settings, new AnalyticsCounters() {
            @Override
            public void rejected(String kind) {
            }

            @Override
            public void duplicate() {
            }
        }, false), p)) {
            Map<String, org.apache.kafka.streams.TestInputTopic<String, byte[]>> inputs = new java.util.HashMap<>();
            for (String t : TRIGGERS) {
                inputs.put(t.toUpperCase(), driver.createInputTopic("hl7.adt." + t, new StringSerializer(),
                        new ByteArraySerializer()));
            }
            long now = System.currentTimeMillis();
            for (AdtStream.Message m : new AdtStream(11, now).generate("SCH", 40)) {
                inputs.get(m.trigger()).pipeInput(m.patient(), m.er7().getBytes(StandardCharsets.ISO_8859_1));
            }
            // past every hour and window (plus grace): the buckets and windows are published once more, final
            driver.advanceWallClockTime(Duration.ofHours(30));

            check(driver, "analytics.realtime.bed-occupancy", "bed-occupancy", "cmm.analytics.bed-occupancy.v1", false,
                    r -> r.remove("occupied"), "occupied is always written");
            check(driver, "analytics.realtime.patient-flow", "patient-flow", "cmm.analytics.patient-flow.v1", true,
                    r -> r.remove("hourStart"), "hourStart is always written");
            check(driver, "analytics.realtime.wait-times", "wait-times", "cmm.analytics.wait-times.v1", true,
                    r -> r.remove("p90Minutes"), "p90Minutes is always written (null without samples)");
        }
    }

    private static void check(TopologyTestDriver driver, String topic, String metric, String subject, boolean finals,
            java.util.function.Consumer<ObjectNode> breakIt, String why) {
        TestOutputTopic<String, String> out = driver.createOutputTopic(topic, new StringDeserializer(),
                new StringDeserializer());
        List<TestRecord<String, String>> records = out.readRecordsToList();
        assertFalse(records.isEmpty(), "the stream produced " + topic);
        PayloadSchemaCheck schema = PayloadSchemaCheck.of(subject);
        boolean sawFinal = false;
        for (TestRecord<String, String> r : records) {
            assertEquals(metric, new String(r.headers().lastHeader(MetricsAggregator.METRIC_HEADER).value(),
                    StandardCharsets.UTF_8), topic);
            ObjectNode value = PayloadSchemaCheck.parse(r.value().getBytes(StandardCharsets.UTF_8));
            schema.valid(value);
            sawFinal |= value.path("final").asBoolean();
        }
        assertEquals(finals, sawFinal, topic + ": final records after the wall clock passed their end");
        ObjectNode first = PayloadSchemaCheck.parse(records.get(0).value().getBytes(StandardCharsets.UTF_8));
        schema.invalidAfter(first, breakIt, why);
        assertTrue(records.size() > 1, topic);
    }
}
