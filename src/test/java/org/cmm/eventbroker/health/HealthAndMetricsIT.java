package org.cmm.eventbroker.health;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

import ca.uhn.hl7v2.preparser.PreParser;
import org.cmm.eventbroker.testsupport.Hl7Samples;
import org.cmm.eventbroker.testsupport.MllpTestClient;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What an operator or an orchestrator sees on the management port: liveness, readiness that follows Kafka and the
 * listener's route, and Prometheus metrics per route.
 */
class HealthAndMetricsIT {

    private static RuntimeUnderTest env;
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @BeforeAll
    static void start() throws Exception {
        env = new RuntimeUnderTest();
    }

    @AfterAll
    static void stop() throws Exception {
        if (env != null) {
            env.close();
        }
    }

    private static HttpResponse<String> get(String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + env.managementPort() + path))
                .timeout(Duration.ofSeconds(10)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void readinessFollowsKafkaWhileLivenessStaysUp() throws Exception {
        await().atMost(Duration.ofSeconds(30)).until(() -> get("/observe/health/ready").statusCode() == 200);
        String ready = get("/observe/health/ready").body();
        assertTrue(ready.contains("kafka"), ready);
        assertTrue(ready.contains("hl7-mllp-inbound"), "the listener's route is part of readiness: " + ready);

        env.broker().stop();
        try {
            await().atMost(Duration.ofSeconds(30)).until(() -> get("/observe/health/ready").statusCode() == 503);
            assertTrue(get("/observe/health/ready").body().contains("Kafka cluster not reachable"));
            assertEquals(200, get("/observe/health/live").statusCode(), "Kafka being away is no reason to restart");
        } finally {
            env.broker().start();
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> get("/observe/health/ready").statusCode() == 200);
    }

    @Test
    void routeMetricsAreExposedForPrometheus() throws Exception {
        try (MllpTestClient client = new MllpTestClient(env.mllpPort())) {
            String ack = client.sendAndReceive(Hl7Samples.load("adt-a01.hl7", "METRICS" + System.nanoTime()));
            assertEquals("AA", PreParser.getFields(ack, "MSA-1")[0]);
        }
        HttpResponse<String> metrics = get("/observe/metrics");
        assertEquals(200, metrics.statusCode());
        assertTrue(metrics.body().lines().anyMatch(l -> l.startsWith("camel_exchanges_total") && l.contains("hl7-mllp-inbound")),
                "exchanges of the inbound route are counted");
    }
}
