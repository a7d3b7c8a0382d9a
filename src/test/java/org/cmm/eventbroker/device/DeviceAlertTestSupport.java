package org.cmm.eventbroker.device;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

import org.cmm.eventbroker.testsupport.Hl7Samples;
import org.cmm.eventbroker.testsupport.KafkaTopicReader;

/** Alert payloads and the calls a gateway or an Alert Communicator makes, for the device alert ITs. */
final class DeviceAlertTestSupport {

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private DeviceAlertTestSupport() {
    }

    /** A canonical alert, time now. */
    static String alert(String alertId, String deviceId, String deviceType, String kind, String priority, String code,
                        String state) {
        return "{\"alertId\":\"" + alertId + "\",\"deviceId\":\"" + deviceId + "\",\"deviceType\":\"" + deviceType
                + "\",\"patientId\":\"PAT-9001\",\"kind\":\"" + kind + "\",\"priority\":\"" + priority
                + "\",\"code\":\"" + code + "\",\"text\":\"ZEBEDEE alert text\",\"state\":\"" + state
                + "\",\"timestamp\":\"" + OffsetDateTime.now(ZoneOffset.UTC) + "\"}";
    }

    static HttpResponse<String> post(int port, String path, String body) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(20))
                .header("Content-Type", "application/json")
                .header("Authorization", "Bearer s3cr3t-gateway-token")
                .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8)).build();
        return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
    }

    /** A sample PCD-04 message with its times set to now (UTC), so the clock-skew check passes. */
    static String pcd04(String sample) {
        String now = OffsetDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ofPattern("yyyyMMddHHmmss")) + "+0000";
        return Hl7Samples.load(sample, "unused").replace("20261126120000+0000", now);
    }

    static String body(org.apache.kafka.clients.consumer.ConsumerRecord<String, byte[]> record) {
        return new String(record.value(), StandardCharsets.UTF_8);
    }

    static java.util.function.Predicate<org.apache.kafka.clients.consumer.ConsumerRecord<String, byte[]>> alertId(String id) {
        return r -> id.equals(KafkaTopicReader.header(r, DeviceAlertHeaders.ALERT_ID));
    }
}
