package org.cmm.eventbroker.device;

import static org.awaitility.Awaitility.await;
import static org.cmm.eventbroker.testsupport.KafkaTopicReader.header;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/** Device readings posted by HTTP gateways, against a real Kafka broker and the runtime's platform HTTP server. */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DeviceHttpIngestIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static RuntimeUnderTest env;
    private static HttpClient http;

    @BeforeAll
    static void start() throws Exception {
        env = RuntimeUnderTest.flows("device-http-ingest").start();
        http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    }

    @AfterAll
    static void stop() throws Exception {
        if (env != null) {
            env.close();
        }
    }

    private static HttpResponse<String> post(String path, String contentType, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + env.httpPort() + path))
                .timeout(Duration.ofSeconds(20)).header("Content-Type", contentType)
                .header("Authorization", "Bearer gw-s3cr3t")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String reading(String code, Object value, String unit) {
        return "{\"timestamp\":\"" + Instant.now() + "\",\"readings\":[{\"code\":\"" + code + "\",\"value\":" + value
                + ",\"unit\":\"" + unit + "\"}]}";
    }

    @Test
    @Order(1)
    void aReadingIsAnswered202OnlyOnceItIsOnItsDeviceTopicKeyedByTheDevice() throws Exception {
        HttpResponse<String> r = post("/devices/infusion-pump/IP-HTTP-1/status", "application/json",
                reading("MDC_FLOW_FLUID_PUMP", 80, "mL/h"));
        assertEquals(202, r.statusCode(), r.body());
        JsonNode answer = JSON.readTree(r.body());
        assertEquals("device.infusion-pump.status", answer.get("topic").asText());
        List<ConsumerRecord<String, byte[]>> records = env.topics().readAll("device.infusion-pump.status").stream()
                .filter(x -> answer.get("eventId").asText().equals(header(x, "ce_id"))).toList();
        assertEquals(1, records.size());
        assertEquals("IP-HTTP-1", records.get(0).key());
        assertEquals("http", header(records.get(0), "device_ingest"));
        records.get(0).headers().forEach(h -> assertTrue(!new String(h.value()).contains("s3cr3t"), h.key()));
    }

    @Test
    @Order(2)
    void badReadingsAreAnswered4xxWithTheReasonOnlyOnceTheyAreOnDeviceDlq() throws Exception {
        HttpResponse<String> malformed = post("/devices/patient-monitor/PM-HTTP-1/vitals", "application/json", "{oops");
        assertEquals(400, malformed.statusCode());
        assertTrue(malformed.body().contains("malformed JSON"), malformed.body());
        HttpResponse<String> impossible = post("/devices/patient-monitor/PM-HTTP-1/vitals", "application/json",
                reading("MDC_TEMP_BODY", 55, "Cel"));
        assertEquals(422, impossible.statusCode());
        assertTrue(impossible.body().contains("25..45"), impossible.body());
        assertEquals(422, post("/devices/toaster/T-1/vitals", "application/json", reading("X", 1, "u")).statusCode());
        assertEquals(415, post("/devices/patient-monitor/PM-HTTP-1/vitals", "text/plain", "97").statusCode());
        List<ConsumerRecord<String, byte[]>> dead = env.topics().readAll("device.dlq");
        assertEquals(4, dead.size());
        assertEquals("{oops", new String(dead.get(0).value()));
        assertEquals("device-http-ingest", header(dead.get(0), "dlq_source"));
    }

    @Test
    @Order(3)
    void whenKafkaIsDownReadingsGet503AndAfterItIsBackTheResendIsAccepted() throws Exception {
        env.broker().stop();
        HttpResponse<String> down = post("/devices/ventilator/V-HTTP-1/settings", "application/json",
                reading("MDC_VENT_RESP_RATE_SETTING", 12, "/min"));
        assertEquals(503, down.statusCode(), down.body());
        assertTrue(down.headers().firstValue("Retry-After").isPresent());
        env.broker().start();
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500)).until(() -> post(
                "/devices/ventilator/V-HTTP-1/settings", "application/json",
                reading("MDC_VENT_RESP_RATE_SETTING", 12, "/min")).statusCode() == 202);
        assertEquals("V-HTTP-1", env.topics().readAll("device.ventilator.settings").get(0).key());
    }
}
