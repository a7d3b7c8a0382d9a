package org.cmm.eventbroker.device;

import static org.cmm.eventbroker.device.DeviceAlertTestSupport.alert;
import static org.cmm.eventbroker.device.DeviceAlertTestSupport.alertId;
import static org.cmm.eventbroker.device.DeviceAlertTestSupport.body;
import static org.cmm.eventbroker.device.DeviceAlertTestSupport.pcd04;
import static org.cmm.eventbroker.device.DeviceAlertTestSupport.post;
import static org.cmm.eventbroker.testsupport.KafkaTopicReader.header;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import ca.uhn.hl7v2.model.Message;
import ca.uhn.hl7v2.preparser.PreParser;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.cmm.eventbroker.stack.MqttBroker;
import org.cmm.eventbroker.testsupport.MqttGateway;
import org.cmm.eventbroker.testsupport.FreePorts;
import org.cmm.eventbroker.testsupport.HapiSender;
import org.cmm.eventbroker.testsupport.LogCapture;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.cmm.eventbroker.testsupport.TestPeers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Test;

/**
 * Flow 2, device alerts into device.alerts.<kind>, against real peers: a real Kafka broker, a real mosquitto MQTT
 * broker (skipped where it is not installed; .ci/run installs it), a real HAPI MLLP client as the PCD-04 Alert
 * Reporter and a plain java.net.http client as an HTTP gateway.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DeviceAlertsIT {

    private static MqttBroker mosquitto;
    private static Path mqttDir;
    private static RuntimeUnderTest env;
    private static LogCapture logs;
    private static MqttGateway gateway;

    @BeforeAll
    static void start() throws Exception {
        Path executable = TestPeers.require("mosquitto");
        logs = LogCapture.attach();
        mqttDir = Files.createTempDirectory("cmm-alerts-mqtt");
        mosquitto = new MqttBroker(executable, "127.0.0.1", FreePorts.next(), mqttDir).start(10_000);
        env = RuntimeUnderTest.flows("device-alerts-mllp-inbound", "device-alerts-mqtt-inbound", "device-alerts-http-inbound").with(Map.of("cmm.device.mqtt.enabled", "true", "cmm.device.mqtt.broker-url", mosquitto.url(),
                "cmm.device.alerts.max-body-bytes", "4096")).start();
        gateway = new MqttGateway(mosquitto.url(), "test-gateway");
        // the runtime subscribes once its routes are up, a moment after start() returns; alerts published before a
        // first subscription exists are not queued by any MQTT broker, so probe until one gets through
        gateway.probeUntil("device-alerts/pulse-oximeter/OX-PROBE/alerts", attempt -> DeviceAlertTestSupport.alert(
                "PROBE-" + attempt, "OX-PROBE", "pulse-oximeter", "technical", "low", "MDC_EVT_PROBE", "active"),
                () -> env.topics().readAll("device.alerts.technical").stream().anyMatch(r -> "OX-PROBE".equals(r.key())));
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            if (gateway != null) {
                gateway.close();
            }
            if (env != null) {
                env.close();
            }
        } finally {
            if (mosquitto != null) {
                mosquitto.close();
            }
            if (logs != null) {
                logs.close();
            }
        }
    }

    private static void publish(String topic, String payload) throws Exception {
        gateway.publish(topic, payload);
    }

    @Test
    void aPcd04AlertIsAnsweredAaOnlyOnceOnItsKindTopicKeyedByDeviceWithTheMessageUntouched() throws Exception {
        String er7 = pcd04("pcd-04-spo2-low-physiological-high.hl7").replace("ALR-SPO2-0001", "ALR-PCD-IT-1");
        try (HapiSender reporter = new HapiSender(env.deviceAlertsPcdPort())) {
            Message message = reporter.parse(er7);
            String wire = reporter.encode(message);
            assertEquals("AA", reporter.send(message));

            // AA promises the write happened: the record is there on the first read
            List<ConsumerRecord<String, byte[]>> records = env.topics().readAll("device.alerts.physiological").stream()
                    .filter(alertId("ALR-PCD-IT-1")).toList();
            assertEquals(1, records.size());
            ConsumerRecord<String, byte[]> record = records.get(0);
            assertEquals("0012A1FFFE3B4C01", record.key());
            assertArrayEquals(wire.getBytes(StandardCharsets.UTF_8), record.value());
            assertEquals("high", header(record, DeviceAlertHeaders.PRIORITY));
            assertEquals("physiological", header(record, DeviceAlertHeaders.KIND));
            assertEquals("MDC_EVT_LO", header(record, DeviceAlertHeaders.CODE));
            assertEquals("active", header(record, DeviceAlertHeaders.STATE));
            assertEquals("pcd-04", header(record, DeviceAlertHeaders.CHANNEL));
            assertEquals("PAT-4711", header(record, "ce_subject"));
            assertEquals("device.alerts.physiological", header(record, "ce_type"));
            assertEquals("ORU", header(record, "hl7_message_type"));

            String technical = pcd04("pcd-04-lead-off-technical-medium.hl7");
            assertEquals("AA", reporter.send(reporter.parse(technical)));
            ConsumerRecord<String, byte[]> lead = env.topics().readAll("device.alerts.technical").stream()
                    .filter(alertId("ALR-LEAD-0001")).findFirst().orElseThrow();
            assertEquals("0012A1FFFE3B4C02", lead.key());
            assertEquals("medium", header(lead, DeviceAlertHeaders.PRIORITY));
        }
    }

    @Test
    void aResentPcd04AlertIsAcknowledgedAgainButPublishedOnce() throws Exception {
        String er7 = pcd04("pcd-04-spo2-low-physiological-high.hl7").replace("ALR-SPO2-0001", "ALR-PCD-RESENT")
                .replace("PCD04-SPO2-0001", "PCD04-RESENT-1");
        try (HapiSender reporter = new HapiSender(env.deviceAlertsPcdPort())) {
            assertEquals("AA", reporter.send(reporter.parse(er7)));
            // the reporter did not get (or lost) the ACK and sends the same message again
            assertEquals("AA", reporter.send(reporter.parse(er7)));
        }
        assertEquals(1, env.topics().readAll("device.alerts.physiological").stream()
                .filter(alertId("ALR-PCD-RESENT")).count(), "the resend is not a second alert");
    }

    @Test
    void aPcd04AlertThatIsNotReadableOrClockSkewedIsAnsweredArAndDeadLetteredWithTheReason() throws Exception {
        String skewed = pcd04("pcd-04-lead-off-technical-medium.hl7").replace("PCD04-LEAD-0001", "PCD04-SKEW-1")
                .replaceFirst("\\|F\\|\\|\\|\\d{14}\\+0000", "|F|||20990101000000+0000");
        String noPriority = pcd04("pcd-04-lead-off-technical-medium.hl7").replace("PCD04-LEAD-0001", "PCD04-NOPRIO-1")
                .replace("PM~ST", "ST");
        try (HapiSender reporter = new HapiSender(env.deviceAlertsPcdPort())) {
            Message ack = reporter.connection().getInitiator().sendAndReceive(reporter.parse(skewed));
            assertEquals("AR", PreParser.getFields(ack.encode(), "MSA-1")[0]);
            assertEquals("AR", reporter.send(reporter.parse(noPriority)));
        }
        ConsumerRecord<String, byte[]> skew = env.topics().awaitRecords("device.dlq",
                r -> "PCD04-SKEW-1".equals(header(r, "hl7_control_id")), 1).get(0);
        assertTrue(header(skew, "dlq_reason").contains("in the future"), header(skew, "dlq_reason"));
        assertEquals("device-alerts-mllp-inbound", header(skew, "dlq_source"));
        ConsumerRecord<String, byte[]> noPrio = env.topics().awaitRecords("device.dlq",
                r -> "PCD04-NOPRIO-1".equals(header(r, "hl7_control_id")), 1).get(0);
        assertTrue(header(noPrio, "dlq_reason").contains("no alert priority"), header(noPrio, "dlq_reason"));
    }

    @Test
    void mqttAlertsEndOnTheirKindTopicKeyedByDeviceInTheOrderTheDevicePublishedThem() throws Exception {
        List<String> sent = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            String id = "MQ-ORDER-" + i;
            sent.add(id);
            // the payload leaves the device to the topic
            publish("device-alerts/pulse-oximeter/OX-ORDER/alerts", alert(id, "OX-ORDER", "pulse-oximeter",
                    "physiological", i % 2 == 0 ? "high" : "low", "MDC_EVT_LO_" + i, "active")
                    .replace("\"deviceId\":\"OX-ORDER\",", ""));
        }
        List<ConsumerRecord<String, byte[]>> records = env.topics().awaitRecords("device.alerts.physiological",
                r -> "OX-ORDER".equals(r.key()), 20);
        assertEquals(sent, records.stream().map(r -> header(r, DeviceAlertHeaders.ALERT_ID)).toList());
        ConsumerRecord<String, byte[]> first = records.get(0);
        assertEquals("mqtt", header(first, DeviceAlertHeaders.CHANNEL));
        assertEquals("pulse-oximeter", header(first, DeviceAlertHeaders.DEVICE_TYPE));
        assertEquals("application/json", header(first, "content-type"));
        assertTrue(body(first).contains("\"deviceId\":\"OX-ORDER\""), body(first));
        assertEquals(1, records.stream().map(ConsumerRecord::partition).distinct().count(), "one device, one partition");

        publish("device-alerts/infusion-pump/PUMP-1/alerts",
                alert("MQ-TECH-1", "PUMP-1", "infusion-pump", "technical", "medium", "MDC_EVT_OCCL", "active"));
        publish("device-alerts/infusion-pump/PUMP-1/alerts",
                alert("MQ-OPS-1", "PUMP-1", "infusion-pump", "operational", "low", "MDC_EVT_BATT_LO", "active"));
        assertEquals("PUMP-1", env.topics().awaitRecords("device.alerts.technical", alertId("MQ-TECH-1"), 1).get(0).key());
        assertEquals("PUMP-1", env.topics().awaitRecords("device.alerts.operational", alertId("MQ-OPS-1"), 1).get(0).key());
    }

    @Test
    void malformedUnknownOrImpossibleMqttPayloadsAreDeadLetteredWithTheReasonAndTheFlowGoesOn() throws Exception {
        publish("device-alerts/pulse-oximeter/OX-BAD/alerts", "{\"alertId\":\"MQ-BAD-1\", not json");
        publish("device-alerts/toaster/TOAST-1/alerts",
                alert("MQ-BAD-2", "TOAST-1", "toaster", "technical", "low", "MDC_EVT_X", "active"));
        publish("device-alerts/pulse-oximeter/OX-BAD/alerts",
                alert("MQ-BAD-3", "OX-BAD", "pulse-oximeter", "physiological", "extreme", "MDC_EVT_LO", "active"));
        publish("device-alerts/pulse-oximeter/OX-BAD/alerts",
                alert("MQ-BAD-4", "OX-BAD", "pulse-oximeter", "physiological", "high", "MDC_EVT_LO", "active")
                        .replaceAll("\"timestamp\":\"[^\"]+\"", "\"timestamp\":\"2099-01-01T00:00:00Z\""));
        publish("device-alerts/pulse-oximeter/OX-BAD/alerts",
                alert("MQ-GOOD-5", "OX-BAD", "pulse-oximeter", "physiological", "high", "MDC_EVT_LO", "active"));

        env.topics().awaitRecords("device.alerts.physiological", alertId("MQ-GOOD-5"), 1);
        List<ConsumerRecord<String, byte[]>> dead = env.topics().awaitRecords("device.dlq",
                r -> "device-alerts-mqtt-inbound".equals(header(r, "dlq_source")), 4);
        List<String> reasons = dead.stream().map(r -> header(r, "dlq_reason")).toList();
        assertTrue(reasons.get(0).contains("not well-formed JSON"), reasons.toString());
        assertTrue(reasons.get(1).contains("unknown device type"), reasons.toString());
        assertTrue(reasons.get(2).contains("priority must be"), reasons.toString());
        assertTrue(reasons.get(3).contains("in the future"), reasons.toString());
        assertTrue(body(dead.get(0)).startsWith("{\"alertId\":\"MQ-BAD-1\""), "the payload is kept untouched");
    }

    @Test
    void anHttpAlertIsAnswered202OnlyOnceOnItsTopicAndABadOne400WithTheReasonAndADeadLetter() throws Exception {
        HttpResponse<String> ok = post(env.httpPort(), "/device-alerts",
                alert("HTTP-1", "VENT-1", "ventilator", "technical", "high", "MDC_EVT_DISCONN", "active"));
        assertEquals(202, ok.statusCode(), ok.body());
        assertEquals("{\"topic\":\"device.alerts.technical\",\"alertId\":\"HTTP-1\"}", ok.body());
        ConsumerRecord<String, byte[]> record = env.topics().readAll("device.alerts.technical").stream()
                .filter(alertId("HTTP-1")).findFirst().orElseThrow();
        assertEquals("VENT-1", record.key());
        assertNull(header(record, "Authorization"));
        record.headers().forEach(h -> assertFalse(new String(h.value(), StandardCharsets.UTF_8).contains("s3cr3t")));

        HttpResponse<String> bad = post(env.httpPort(), "/device-alerts",
                alert("HTTP-2", "VENT-1", "ventilator", "cosmic", "high", "MDC_EVT_X", "active"));
        assertEquals(400, bad.statusCode());
        assertTrue(bad.body().contains("kind must be"), bad.body());
        ConsumerRecord<String, byte[]> dead = env.topics().readAll("device.dlq").stream()
                .filter(r -> "device-alerts-http-inbound".equals(header(r, "dlq_source"))).findFirst().orElseThrow();
        assertTrue(header(dead, "dlq_reason").contains("kind must be"));
        assertNull(header(dead, "Authorization"), "no request header in the dead letter");

        HttpResponse<String> big = post(env.httpPort(), "/device-alerts", "{\"x\":\"" + "y".repeat(5000) + "\"}");
        assertEquals(400, big.statusCode());
        assertTrue(big.body().contains("larger than"), big.body());
    }

    @Test
    @Order(Integer.MAX_VALUE)
    void noPatientDataOrAlertTextReachedTheLogs() {
        assertEquals(List.of(), logs.linesContaining(List.of("ZEBEDEE", "PAT-9001", "PAT-4711", "s3cr3t")));
    }
}
