package org.cmm.eventbroker.analytics;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Two runtime instances of one analytics application id on one broker (4 partitions per topic): the wards are split
 * between them (each holds only its partitions, with a standby of the other's), yet either answers
 * /analytics/bed-occupancy for every ward and /analytics/bed-occupancy/{ward} for any ward, asking the instance that
 * holds it (application.server, queryMetadataForKey / streamsMetadataForStore).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AnalyticsInstancesIT {

    private static final ObjectMapper JSON = new ObjectMapper();

    private RuntimeUnderTest first;
    private RuntimeUnderTest second;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @BeforeAll
    void start() throws Exception {
        Path folder = Files.createTempDirectory("analytics-instances-it");
        first = RuntimeUnderTest.flows("analytics-queries").with(settings(folder.resolve("state-1"))).start();
        second = RuntimeUnderTest.flows("analytics-queries").broker(first.broker())
                .with(settings(folder.resolve("state-2"))).start();
    }

    private static Map<String, String> settings(Path state) {
        Map<String, String> m = new HashMap<>();
        m.put("cmm.analytics.state-dir", state.toString());
        m.put("cmm.analytics.standby-replicas", "1");
        m.put("cmm.analytics.session-timeout-ms", "6000");
        return m;
    }

    @AfterAll
    void stop() throws Exception {
        if (second != null) {
            second.close();
        }
        if (first != null) {
            first.close();
        }
    }

    @Test
    void eitherInstanceAnswersForEveryWardByAskingTheInstanceThatHoldsIt() throws Exception {
        Map<String, Integer> expected = new TreeMap<>();
        long now = System.currentTimeMillis() - 60_000L;
        try (KafkaProducer<String, byte[]> producer = KafkaClients.forBootstrap(first.bootstrapServers())
                .producer("analytics-instances-it", Map.of())) {
            for (int w = 1; w <= 12; w++) {
                String ward = "W" + w;
                for (int p = 1; p <= w; p++) {
                    String patient = ward + "-P" + p;
                    producer.send(new ProducerRecord<>("hl7.adt.a01", patient, AdtStream.er7("HOSP", patient,
                            patient + "-A01", "A01", now, now, "I", ward, p + "-A", "", "", "")
                            .getBytes(StandardCharsets.ISO_8859_1))).get();
                }
                expected.put(ward, w);
            }
        }

        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
            for (RuntimeUnderTest env : new RuntimeUnderTest[] {first, second}) {
                assertEquals(expected, census(env, "/analytics/bed-occupancy"), "every ward from either instance");
            }
        });
        // the work is split: each instance holds some of the wards, none holds a ward twice
        Map<String, Integer> own1 = census(first, "/analytics/bed-occupancy?scope=local");
        Map<String, Integer> own2 = census(second, "/analytics/bed-occupancy?scope=local");
        assertFalse(own1.isEmpty(), "the first instance holds some wards");
        assertFalse(own2.isEmpty(), "the second instance holds some wards");
        Set<String> both = new HashSet<>(own1.keySet());
        both.retainAll(own2.keySet());
        assertTrue(both.isEmpty(), "no ward on both: " + both);
        // one ward from either instance, wherever it is held
        for (RuntimeUnderTest env : new RuntimeUnderTest[] {first, second}) {
            for (Map.Entry<String, Integer> ward : expected.entrySet()) {
                HttpResponse<String> one = get(env, "/analytics/bed-occupancy/" + ward.getKey());
                assertEquals(200, one.statusCode(), one.body());
                assertEquals(ward.getValue().intValue(), JSON.readTree(one.body()).path("occupied").asInt(),
                        ward.getKey());
            }
            assertEquals(0, JSON.readTree(get(env, "/analytics/bed-occupancy/NOWARD").body()).path("occupied").asInt());
        }
    }

    private Map<String, Integer> census(RuntimeUnderTest env, String path) throws Exception {
        HttpResponse<String> answer = get(env, path);
        assertEquals(200, answer.statusCode(), answer.body());
        Map<String, Integer> m = new TreeMap<>();
        for (JsonNode w : JSON.readTree(answer.body())) {
            m.put(w.path("ward").asText(), w.path("occupied").asInt());
        }
        return m;
    }

    private HttpResponse<String> get(RuntimeUnderTest env, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + env.httpPort() + path))
                .timeout(Duration.ofSeconds(30)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }
}
