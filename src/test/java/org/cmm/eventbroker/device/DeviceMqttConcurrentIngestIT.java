package org.cmm.eventbroker.device;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.cmm.eventbroker.stack.MqttBroker;
import org.cmm.eventbroker.testsupport.FreePorts;
import org.cmm.eventbroker.testsupport.LogCapture;
import org.cmm.eventbroker.testsupport.MqttGateway;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.cmm.eventbroker.testsupport.TestPeers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The MQTT ingest with several consumer threads (cmm.device.mqtt.consumer-threads), against a real Mosquitto and a
 * real Kafka broker that is stopped in the middle: four gateways publish the readings of 40 devices interleaved, in
 * parallel, before, during and after the outage. Proves that nothing is lost and that no reading of a device reaches
 * Kafka before an earlier one of the same device (a redelivery may repeat readings: at least once).
 */
class DeviceMqttConcurrentIngestIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TOPIC = "device.patient-monitor.vitals";
    private static final int GATEWAYS = 4;
    private static final int DEVICES_PER_GATEWAY = 10;
    private static final int READINGS_PER_PHASE = 10;
    private static MqttBroker mosquitto;
    private static RuntimeUnderTest env;
    private static LogCapture logs;
    private static final List<MqttGateway> gateways = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        Path mosquittoBinary = TestPeers.require("mosquitto");
        mosquitto = new MqttBroker(mosquittoBinary, "127.0.0.1", FreePorts.next(),
                Files.createTempDirectory("cmm-mosquitto")).start(10_000);
        logs = LogCapture.attach();
        env = RuntimeUnderTest.flows("device-mqtt-ingest").with(Map.of("cmm.device.mqtt.enabled", "true",
                "cmm.device.mqtt.broker-url", mosquitto.url(),
                "cmm.device.mqtt.client-id", "cmm-it-concurrent-" + System.nanoTime(),
                "cmm.device.mqtt.consumer-threads", "4",
                "cmm.device.mqtt.max-reconnect-delay-ms", "2000")).start();
        for (int g = 0; g < GATEWAYS; g++) {
            gateways.add(new MqttGateway(mosquitto.url(), "gateway-" + g + "-" + System.nanoTime()));
        }
        // readings published before the runtime's first subscription exists are not queued by any MQTT broker
        gateways.get(0).probeUntil("devices/patient-monitor/PM-CC-PROBE/vitals", attempt -> vitals(0, null),
                () -> env.topics().readAll(TOPIC).stream().anyMatch(r -> "PM-CC-PROBE".equals(r.key())));
    }

    @AfterAll
    static void stop() throws Exception {
        for (MqttGateway gateway : gateways) {
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

    private static String device(int gateway, int d) {
        return "PM-CC-" + gateway + "-" + d;
    }

    private static String vitals(int seq, String patient) {
        return "{\"timestamp\":\"" + Instant.now() + "\"," + (patient != null ? "\"patientId\":\"" + patient + "\"," : "")
                + "\"seq\":" + seq + ",\"readings\":[{\"code\":\"MDC_PULS_OXIM_SAT_O2\",\"value\":" + (90 + seq % 10)
                + ",\"unit\":\"%\"},{\"code\":\"MDC_ECG_HEART_RATE\",\"value\":" + (60 + seq % 40) + ",\"unit\":\"/min\"}]}";
    }

    /** Each gateway publishes readings [from, to) of each of its devices, devices interleaved; gateways in parallel. */
    private static void publishPhase(int from, int to) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(GATEWAYS);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int g = 0; g < GATEWAYS; g++) {
                int gateway = g;
                done.add(pool.submit(() -> {
                    for (int seq = from; seq < to; seq++) {
                        for (int d = 0; d < DEVICES_PER_GATEWAY; d++) {
                            // even devices are bound to a patient: keyed by the patient, which must not be logged
                            String patient = d % 2 == 0 ? "PAT-CC-SECRET-" + gateway + "-" + d : null;
                            gateways.get(gateway).publish("devices/patient-monitor/" + device(gateway, d) + "/vitals",
                                    vitals(seq, patient));
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /** Per device, the seq of each of its records on Kafka, in the order Kafka holds them. */
    private static Map<String, List<Integer>> seqsByDevice() throws Exception {
        Map<String, List<Integer>> byDevice = new LinkedHashMap<>();
        for (ConsumerRecord<String, byte[]> r : env.topics().readAll(TOPIC)) {
            JsonNode body = JSON.readTree(r.value());
            String id = body.get("deviceId").asText();
            if (id.startsWith("PM-CC-") && !id.equals("PM-CC-PROBE")) {
                byDevice.computeIfAbsent(id, k -> new ArrayList<>()).add(body.get("seq").asInt());
            }
        }
        return byDevice;
    }

    @Test
    void manyDevicesInterleavedThroughAKafkaOutageLoseNothingAndKeepEachDevicesOrder() throws Exception {
        int total = 3 * READINGS_PER_PHASE;
        publishPhase(0, READINGS_PER_PHASE);
        env.broker().stop();
        publishPhase(READINGS_PER_PHASE, 2 * READINGS_PER_PHASE);
        await().atMost(Duration.ofSeconds(60)).until(() -> logs.lines().stream()
                .anyMatch(l -> l.contains("/vitals failed") && l.contains("not acknowledged")));
        env.broker().start();
        publishPhase(2 * READINGS_PER_PHASE, total);

        int devices = GATEWAYS * DEVICES_PER_GATEWAY;
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofSeconds(1)).until(() -> {
            Map<String, List<Integer>> now = seqsByDevice();
            return now.size() == devices
                    && now.values().stream().allMatch(s -> new LinkedHashSet<>(s).size() == total);
        });
        Map<String, List<Integer>> byDevice = seqsByDevice();
        List<Integer> inPublishOrder = new ArrayList<>();
        for (int seq = 0; seq < total; seq++) {
            inPublishOrder.add(seq);
        }
        for (Map.Entry<String, List<Integer>> e : byDevice.entrySet()) {
            // first occurrences in publish order: no reading reached Kafka before an earlier one of its device;
            // a later repeat is the MQTT broker sending again what was written but not yet acknowledged
            Set<Integer> firstSeen = new LinkedHashSet<>(e.getValue());
            assertEquals(inPublishOrder, new ArrayList<>(firstSeen), e.getKey() + " in publish order: " + e.getValue());
        }
        assertEquals(List.of(), logs.linesContaining(List.of("PAT-CC-SECRET", "\"seq\"")), "no payload in the logs");
    }
}
