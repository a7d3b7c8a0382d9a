package org.cmm.eventbroker.device;

import static org.awaitility.Awaitility.await;
import static org.cmm.eventbroker.device.DeviceAlertTestSupport.alert;
import static org.cmm.eventbroker.device.DeviceAlertTestSupport.alertId;
import static org.cmm.eventbroker.device.DeviceAlertTestSupport.body;
import static org.cmm.eventbroker.device.DeviceAlertTestSupport.post;
import static org.cmm.eventbroker.testsupport.KafkaTopicReader.header;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.cmm.eventbroker.testsupport.LogCapture;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Flow 2, the Alert System (routes/device/device-alert-processing.camel.yaml), against a real Kafka broker: alerts
 * go in over HTTP (the shortest way to get them on device.alerts.* with their headers), decisions are read from
 * notifications.push.alert and device.alerts.acknowledgements. Every "not escalated" is proven by a later alert of
 * the same device that was escalated: one device's alerts are processed in order, so once the later one is out, the
 * earlier one's decision is final.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AlertProcessingIT {

    private static final long WINDOW_MS = 6_000;
    private static final String NOTIFICATIONS = "notifications.push.alert";
    private static final String ACKS = "device.alerts.acknowledgements";
    private static final ObjectMapper JSON = new ObjectMapper();

    private static RuntimeUnderTest env;
    private static LogCapture logs;

    @BeforeAll
    static void start() throws Exception {
        logs = LogCapture.attach();
        env = RuntimeUnderTest.flows("device-alert-processing", "device-alerts-http-inbound").with(Map.of("cmm.device.alerts.dedup.window-ms", String.valueOf(WINDOW_MS))).start();
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

    private static void send(String json) throws Exception {
        assertEquals(202, post(env.httpPort(), "/device-alerts", json).statusCode());
    }

    private static String physioHigh(String id, String device, String code) {
        return alert(id, device, "patient-monitor", "physiological", "high", code, "active");
    }

    private static ConsumerRecord<String, byte[]> awaitNotification(String id) {
        return env.topics().awaitRecords(NOTIFICATIONS, alertId(id), 1).get(0);
    }

    private static long notifications(String id) {
        return env.topics().readAll(NOTIFICATIONS).stream().filter(alertId(id)).count();
    }

    @Test
    @Order(1)
    void aHighPriorityPhysiologicalAlertIsEscalatedWithNoMoreThanTheNotificationNeeds() throws Exception {
        send(physioHigh("ESC-1", "MON-1", "MDC_EVT_HI"));
        ConsumerRecord<String, byte[]> n = awaitNotification("ESC-1");
        assertEquals("MON-1", n.key());
        JsonNode json = JSON.readTree(n.value());
        assertEquals("ESC-1", json.path("alertId").asText());
        assertEquals("MON-1", json.path("deviceId").asText());
        assertEquals("PAT-9001", json.path("patientId").asText());
        assertEquals("high", json.path("priority").asText());
        assertEquals("ZEBEDEE alert text", json.path("text").asText());
        assertEquals("notifications.push.alert", header(n, "ce_type"));
        assertEquals(null, header(n, "device_alert_channel"), "only the notification's own headers");
    }

    @Test
    @Order(2)
    void technicalAndLowerPriorityAlertsAreNotEscalated() throws Exception {
        send(alert("NOESC-TECH", "MON-2", "patient-monitor", "technical", "high", "MDC_EVT_LEAD_OFF", "active"));
        send(alert("NOESC-LOW", "MON-2", "patient-monitor", "physiological", "low", "MDC_EVT_LO", "active"));
        send(alert("NOESC-MED", "MON-2", "patient-monitor", "physiological", "medium", "MDC_EVT_HI", "active"));
        send(physioHigh("ESC-2", "MON-2", "MDC_EVT_ASYS"));
        awaitNotification("ESC-2");
        assertEquals(0, notifications("NOESC-TECH"));
        assertEquals(0, notifications("NOESC-LOW"));
        assertEquals(0, notifications("NOESC-MED"));
    }

    @Test
    @Order(3)
    void aRepeatOfAnActiveAlertOfTheSameDeviceAndCodeWithinTheWindowIsSuppressedAndAnEndedOneStartsAfresh()
            throws Exception {
        send(physioHigh("DUP-1", "MON-3", "MDC_EVT_TACHY"));
        send(physioHigh("DUP-2", "MON-3", "MDC_EVT_TACHY"));
        send(physioHigh("DUP-OTHER-DEVICE", "MON-33", "MDC_EVT_TACHY"));
        send(alert("DUP-1", "MON-3", "patient-monitor", "physiological", "high", "MDC_EVT_TACHY", "inactive"));
        send(physioHigh("DUP-3", "MON-3", "MDC_EVT_TACHY"));
        awaitNotification("DUP-3");
        assertEquals(1, notifications("DUP-1"));
        assertEquals(0, notifications("DUP-2"), "a repeat within the window");
        awaitNotification("DUP-OTHER-DEVICE");
    }

    @Test
    @Order(4)
    void theSameAlertAfterTheWindowIsNotSuppressed() throws Exception {
        send(physioHigh("WIN-1", "MON-4", "MDC_EVT_BRADY"));
        awaitNotification("WIN-1");
        long escalatedAt = System.currentTimeMillis();
        send(physioHigh("WIN-2", "MON-4", "MDC_EVT_BRADY"));
        send(physioHigh("WIN-MARK", "MON-4", "MDC_EVT_APNEA"));
        awaitNotification("WIN-MARK");
        assertEquals(0, notifications("WIN-2"));
        // the window is wall-clock time: wait for it to pass (a condition, polled)
        await().atMost(Duration.ofMillis(WINDOW_MS * 3)).pollInterval(Duration.ofMillis(100))
                .until(() -> System.currentTimeMillis() > escalatedAt + WINDOW_MS + 500);
        send(physioHigh("WIN-3", "MON-4", "MDC_EVT_BRADY"));
        awaitNotification("WIN-3");
    }

    @Test
    @Order(5)
    void anAcknowledgementIsRecordedOnItsCompactedTopicAndStopsFurtherEscalationOfThatAlert() throws Exception {
        send(physioHigh("ACK-1", "MON-5", "MDC_EVT_VFIB"));
        awaitNotification("ACK-1");
        var answer = post(env.httpPort(), "/device-alerts/ACK-1/ack",
                "{\"acknowledgedBy\":\"nurse-17\",\"acknowledgedAt\":\"" + java.time.OffsetDateTime.now() + "\"}");
        assertEquals(202, answer.statusCode(), answer.body());
        ConsumerRecord<String, byte[]> ack = env.topics().readAll(ACKS).stream()
                .filter(r -> "ACK-1".equals(r.key())).findFirst().orElseThrow();
        JsonNode json = JSON.readTree(ack.value());
        assertEquals("nurse-17", json.path("acknowledgedBy").asText());
        assertEquals("http", json.path("source").asText());
        assertFalse(json.path("acknowledgedAt").asText().isBlank());
        assertEquals("compact", topicConfig(ACKS, "cleanup.policy"));
        awaitProcessed(ACKS);

        // the condition ends and comes back under the same alert id: acknowledged, so not escalated again
        send(alert("ACK-1", "MON-5", "patient-monitor", "physiological", "high", "MDC_EVT_VFIB", "inactive"));
        send(physioHigh("ACK-1", "MON-5", "MDC_EVT_VFIB"));
        send(physioHigh("ACK-MARK", "MON-5", "MDC_EVT_ASYS"));
        awaitNotification("ACK-MARK");
        assertEquals(1, notifications("ACK-1"));

        // an acknowledgement reported by the device itself is recorded too
        send(alert("ACK-DEV", "MON-5", "patient-monitor", "physiological", "high", "MDC_EVT_ST", "acknowledged"));
        ConsumerRecord<String, byte[]> fromDevice = env.topics().awaitRecords(ACKS, r -> "ACK-DEV".equals(r.key()), 1).get(0);
        assertEquals("device", JSON.readTree(fromDevice.value()).path("source").asText());
    }

    @Test
    @Order(6)
    void anAcknowledgementWithoutWhoIsRejected400AndDeadLettered() throws Exception {
        var answer = post(env.httpPort(), "/device-alerts/ACK-2/ack", "{\"acknowledgedAt\":\"soon\"}");
        assertEquals(400, answer.statusCode());
        assertTrue(answer.body().contains("acknowledgedBy"), answer.body());
        assertTrue(env.topics().readAll("device.dlq").stream()
                .anyMatch(r -> "device-alert-acknowledgements-http-inbound".equals(header(r, "dlq_source"))));
    }

    @Test
    @Order(7)
    void theDeduplicationMemorySurvivesARestart() throws Exception {
        send(physioHigh("RST-1", "MON-6", "MDC_EVT_PAUSE"));
        awaitNotification("RST-1");
        env.stopRuntime();
        // a long window now, so the restart's duration cannot end it; the remembered first-seen time is kept
        env.startRuntime(Map.of("cmm.device.alerts.dedup.window-ms", "600000"));
        send(physioHigh("RST-2", "MON-6", "MDC_EVT_PAUSE"));
        send(physioHigh("RST-MARK", "MON-6", "MDC_EVT_APNEA"));
        awaitNotification("RST-MARK");
        assertEquals(0, notifications("RST-2"), "a repeat of an alert seen before the restart");
        assertEquals(1, notifications("RST-1"), "not escalated twice after the restart");
    }

    @Test
    @Order(100)
    void noPatientDataOrAlertTextReachedTheLogs() {
        assertEquals(List.of(), logs.linesContaining(List.of("ZEBEDEE", "PAT-9001", "nurse-17", "s3cr3t")));
    }

    private static String topicConfig(String topic, String key) throws Exception {
        try (Admin admin = admin()) {
            ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
            ConfigEntry entry = admin.describeConfigs(List.of(resource)).all().get().get(resource).get(key);
            return entry == null ? null : entry.value();
        }
    }

    /** Waits until the Alert System committed past every record now on the topic (it has recorded them). */
    private static void awaitProcessed(String topic) throws Exception {
        try (Admin admin = admin()) {
            Map<TopicPartition, Long> ends = new java.util.HashMap<>();
            var partitions = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions();
            var specs = new java.util.HashMap<TopicPartition, org.apache.kafka.clients.admin.OffsetSpec>();
            partitions.forEach(p -> specs.put(new TopicPartition(topic, p.partition()),
                    org.apache.kafka.clients.admin.OffsetSpec.latest()));
            admin.listOffsets(specs).all().get().forEach((tp, info) -> ends.put(tp, info.offset()));
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).until(() -> {
                Map<TopicPartition, OffsetAndMetadata> committed = admin
                        .listConsumerGroupOffsets("device-alert-processing").partitionsToOffsetAndMetadata().get();
                return ends.entrySet().stream().allMatch(e -> e.getValue() == 0
                        || (committed.get(e.getKey()) != null && committed.get(e.getKey()).offset() >= e.getValue()));
            });
        }
    }

    private static Admin admin() {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, env.bootstrapServers());
        return Admin.create(p);
    }
}
