package org.cmm.eventbroker.device;

import static org.cmm.eventbroker.testsupport.KafkaTopicReader.header;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.cmm.eventbroker.stack.MqttBroker;
import org.cmm.eventbroker.testsupport.MqttGateway;
import org.cmm.eventbroker.testsupport.FreePorts;
import org.cmm.eventbroker.testsupport.LogCapture;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.cmm.eventbroker.testsupport.TestPeers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Device readings from MQTT gateways, against a real Mosquitto (the Debian package, started here on a free loopback
 * port), a real Kafka broker and the runtime, with Eclipse Paho as the gateway.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DeviceMqttIngestIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static MqttBroker mosquitto;
    private static RuntimeUnderTest env;
    private static MqttGateway gateway;
    private static LogCapture logs;

    @BeforeAll
    static void start() throws Exception {
        Path mosquittoBinary = TestPeers.require("mosquitto");
        mosquitto = new MqttBroker(mosquittoBinary, "127.0.0.1", FreePorts.next(),
                Files.createTempDirectory("cmm-mosquitto")).start(10_000);
        logs = LogCapture.attach();
        env = RuntimeUnderTest.flows("device-mqtt-ingest").with(Map.of("cmm.device.mqtt.enabled", "true",
                "cmm.device.mqtt.broker-url", mosquitto.url(),
                "cmm.device.mqtt.client-id", "cmm-it-" + System.nanoTime(),
                // the session is reconnected within 2 s once Kafka is back (production: up to 30 s)
                "cmm.device.mqtt.max-reconnect-delay-ms", "2000")).start();
        gateway = new MqttGateway(mosquitto.url(), "gateway-" + System.nanoTime());
        // the runtime subscribes once its routes are up, a moment after start() returns; readings published before
        // a first subscription exists are not queued by any MQTT broker, so probe until one gets through
        gateway.probeUntil("devices/patient-monitor/PM-PROBE/vitals", attempt -> vitals(attempt, null),
                () -> env.topics().readAll("device.patient-monitor.vitals").stream().anyMatch(r -> "PM-PROBE".equals(r.key())));
    }

    @AfterAll
    static void stop() throws Exception {
        if (gateway != null) {
            gateway.close();
        }
        if (env != null) {
            env.close();
        }
        if (mosquitto != null) {
            mosquitto.close();
        }
        if (logs != null) {
            logs.close();
        }
    }

    private static void publish(String topic, String payload) throws Exception {
        gateway.publish(topic, payload);
    }

    private static String vitals(int seq, String patient) {
        return "{\"timestamp\":\"" + Instant.now() + "\"," + (patient != null ? "\"patientId\":\"" + patient + "\"," : "")
                + "\"seq\":" + seq + ",\"readings\":[{\"code\":\"MDC_PULS_OXIM_SAT_O2\",\"value\":" + (90 + seq % 10)
                + ",\"unit\":\"%\"},{\"code\":\"MDC_ECG_HEART_RATE\",\"value\":" + (60 + seq % 40) + ",\"unit\":\"/min\"}]}";
    }

    @Test
    @Order(1)
    void readingsOfTenDevicesReachTheirTopicKeyedByDeviceInPublishOrderPerDevice() throws Exception {
        int devices = 10;
        int perDevice = 50;
        for (int i = 0; i < perDevice; i++) {
            for (int d = 0; d < devices; d++) {
                publish("devices/patient-monitor/PM-ORDER-" + d + "/vitals", vitals(i, null));
            }
        }
        List<ConsumerRecord<String, byte[]>> records = env.topics().awaitRecords("device.patient-monitor.vitals",
                r -> r.key() != null && r.key().startsWith("PM-ORDER-"), devices * perDevice);
        assertEquals(devices * perDevice, records.size(), "each reading once");
        for (int d = 0; d < devices; d++) {
            String device = "PM-ORDER-" + d;
            List<Integer> seqs = new ArrayList<>();
            for (ConsumerRecord<String, byte[]> r : records) {
                if (device.equals(r.key())) {
                    JsonNode body = JSON.readTree(r.value());
                    assertEquals(device, body.get("deviceId").asText());
                    assertEquals("patient-monitor", body.get("deviceType").asText());
                    assertEquals("vitals", body.get("dataType").asText());
                    seqs.add(body.get("seq").asInt());
                }
            }
            List<Integer> expected = new ArrayList<>();
            for (int i = 0; i < perDevice; i++) {
                expected.add(i);
            }
            assertEquals(expected, seqs, device + " in order");
        }
        ConsumerRecord<String, byte[]> one = records.get(0);
        assertEquals("1.0", header(one, "ce_specversion"));
        assertEquals("device.patient-monitor.vitals", header(one, "ce_type"));
        assertTrue(header(one, "ce_source").startsWith("/devices/patient-monitor/PM-ORDER-"));
        assertEquals("application/json", header(one, "content-type"));
        assertEquals("mqtt", header(one, "device_ingest"));
    }

    @Test
    @Order(2)
    void aBoundDevicesReadingsAreKeyedByThePatientAndOtherDataTypesGoToTheirOwnTopics() throws Exception {
        publish("devices/patient-monitor/PM-BOUND-1/vitals", vitals(1, "PAT-4711"));
        publish("devices/infusion-pump/IP-0001/status", "{\"timestamp\":\"" + Instant.now()
                + "\",\"readings\":[{\"code\":\"MDC_FLOW_FLUID_PUMP\",\"value\":125,\"unit\":\"mL/h\"}]}");
        publish("devices/ventilator/VENT-0001/settings", "{\"timestamp\":\"" + Instant.now()
                + "\",\"readings\":[{\"code\":\"MDC_VENT_RESP_RATE_SETTING\",\"value\":14,\"unit\":\"/min\"}]}");
        ConsumerRecord<String, byte[]> bound = env.topics().awaitRecords("device.patient-monitor.vitals",
                r -> "PM-BOUND-1".equals(header(r, "device_id")), 1).get(0);
        assertEquals("PAT-4711", bound.key());
        assertEquals("PAT-4711", header(bound, "ce_subject"));
        assertEquals("IP-0001", env.topics().awaitRecords("device.infusion-pump.status", r -> true, 1).get(0).key());
        assertEquals("VENT-0001", env.topics().awaitRecords("device.ventilator.settings", r -> true, 1).get(0).key());
    }

    @Test
    @Order(3)
    void badReadingsAreDeadLetteredWithTheReasonAndTheFlowGoesOn() throws Exception {
        String secret = "{\"timestamp\": SECRET-PATIENT-NAME";
        publish("devices/patient-monitor/PM-BAD-1/vitals", secret);
        publish("devices/toaster/T-1/vitals", vitals(1, null));
        publish("devices/patient-monitor/PM-BAD-2/vitals", "{\"timestamp\":\"" + Instant.now()
                + "\",\"readings\":[{\"code\":\"MDC_PULS_OXIM_SAT_O2\",\"value\":970,\"unit\":\"%\"}]}");
        publish("devices/patient-monitor/PM-BAD-3/vitals", "{\"timestamp\":\"" + Instant.now().plusSeconds(3600)
                + "\",\"readings\":[{\"code\":\"MDC_ECG_HEART_RATE\",\"value\":70,\"unit\":\"/min\"}]}");
        publish("devices/patient-monitor/PM-GOOD-AFTER/vitals", vitals(1, null));

        List<ConsumerRecord<String, byte[]>> dead = env.topics().awaitRecords("device.dlq", r -> true, 4);
        assertEquals(4, dead.size());
        // four devices, processed concurrently: order is kept per device (MQTT topic), not across them
        Map<String, ConsumerRecord<String, byte[]>> byTopic = new java.util.HashMap<>();
        dead.forEach(r -> byTopic.put(header(r, "device_mqtt_topic"), r));
        ConsumerRecord<String, byte[]> malformed = byTopic.get("devices/patient-monitor/PM-BAD-1/vitals");
        assertTrue(header(malformed, "dlq_reason").startsWith("malformed JSON"));
        assertEquals(secret, new String(malformed.value(), StandardCharsets.UTF_8), "the body untouched");
        assertEquals("device-mqtt-ingest", header(malformed, "dlq_source"));
        assertTrue(header(byTopic.get("devices/toaster/T-1/vitals"), "dlq_reason")
                .startsWith("unknown device type 'toaster'"));
        assertTrue(header(byTopic.get("devices/patient-monitor/PM-BAD-2/vitals"), "dlq_reason")
                .contains("outside the plausible range 0..100"));
        assertTrue(header(byTopic.get("devices/patient-monitor/PM-BAD-3/vitals"), "dlq_reason")
                .contains("in the future"));
        env.topics().awaitRecords("device.patient-monitor.vitals", r -> "PM-GOOD-AFTER".equals(r.key()), 1);
    }

    @Test
    @Order(4)
    void readingsPublishedWhileTheRuntimeIsStoppedArriveAfterItIsBack() throws Exception {
        env.stopRuntime();
        for (int i = 0; i < 20; i++) {
            publish("devices/patient-monitor/PM-OFFLINE/vitals", vitals(i, null));
        }
        env.startRuntime();
        List<ConsumerRecord<String, byte[]>> records = env.topics().awaitRecords("device.patient-monitor.vitals",
                r -> "PM-OFFLINE".equals(r.key()), 20);
        List<Integer> seqs = new ArrayList<>();
        for (ConsumerRecord<String, byte[]> r : records) {
            seqs.add(JSON.readTree(r.value()).get("seq").asInt());
        }
        assertEquals(20, seqs.stream().distinct().count(), "every reading published while down: " + seqs);
        assertEquals(seqs.stream().sorted().toList(), seqs, "in order");
    }

    @Test
    @Order(5)
    void readingsKafkaDidNotTakeAreSentAgainByTheMqttBrokerAndArriveOnceKafkaIsBack() throws Exception {
        env.broker().stop();
        for (int i = 0; i < 5; i++) {
            publish("devices/patient-monitor/PM-KAFKA-DOWN/vitals", vitals(i, null));
        }
        await().atMost(Duration.ofSeconds(60)).until(() -> logs.lines().stream()
                .anyMatch(l -> l.contains("PM-KAFKA-DOWN/vitals failed") && l.contains("not acknowledged")));
        env.broker().start();
        // at least once: a reading may arrive twice (written, but its acknowledgement lost in a reconnect)
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500)).until(() -> env.topics()
                .readAll("device.patient-monitor.vitals").stream().filter(r -> "PM-KAFKA-DOWN".equals(r.key()))
                .map(r -> header(r, "ce_id")).distinct().count() == 5);
    }

    @Test
    @Order(6)
    void noPatientDataReachedTheLogs() {
        assertTrue(logs.lines().stream().anyMatch(l -> l.contains("rejected: malformed JSON")), "rejects were logged");
        assertEquals(List.of(), logs.linesContaining(List.of("SECRET-PATIENT-NAME", "PAT-4711")));
    }
}
