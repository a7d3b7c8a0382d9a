package org.cmm.eventbroker.platform.health;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Set;

import ca.uhn.hl7v2.preparser.PreParser;
import org.apache.camel.CamelContext;
import org.cmm.eventbroker.platform.metrics.TopicMetrics;
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

    /**
     * Camel offers every event of every exchange, in every flow, to each started event notifier. Camel 4.17's HTTP
     * servers added one per route started (some 400 with every flow), Micrometer's route event notifier (gauges of
     * routes added and running, which nobody reads) and the log tracer on standby (it writes message bodies, patient
     * data, to the log once switched on) one more each: together 40 % of the runtime's CPU per device reading in the
     * benchmark (issue 17). What remains is one of each kind, the per-topic metrics among them.
     */
    @Test
    void eventNotifiersAreFewAndNoneTwice() throws Exception {
        // every route started (readiness waits for them all)
        await().atMost(Duration.ofSeconds(30)).until(() -> get("/observe/health/ready").statusCode() == 200);
        CamelContext context = env.runtime().camelContext();
        List<String> notifiers = context.getManagementStrategy().getStartedEventNotifiers().stream()
                .map(n -> n.getClass().getName()).toList();
        assertEquals(notifiers.size(), Set.copyOf(notifiers).size(), "no notifier twice: " + notifiers);
        assertTrue(notifiers.size() <= 5, "a handful at most: " + notifiers);
        assertTrue(notifiers.contains(TopicMetrics.class.getName()), "the per-topic metrics: " + notifiers);
        assertTrue(notifiers.stream().noneMatch(n -> n.contains("MicrometerRouteEventNotifier")), notifiers.toString());
        assertTrue(notifiers.stream().noneMatch(n -> n.contains("TraceAdviceEventNotifier")), notifiers.toString());
        assertFalse(context.isTracingStandby(), "the log tracer is not installed: it logs message bodies");
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

    @Test
    void recordsArePublishedAndDeliveredPerTopicInThePrometheusMetrics() throws Exception {
        try (MllpTestClient client = new MllpTestClient(env.mllpPort())) {
            String ack = client.sendAndReceive(Hl7Samples.load("adt-a03.hl7", "TOPICMETRICS" + System.nanoTime()));
            assertEquals("AA", PreParser.getFields(ack, "MSA-1")[0]);
        }
        // an order for a LIS that is not there: its delivery attempts fail and are counted as such
        try (org.cmm.eventbroker.testsupport.OrderMessages orders =
                     new org.cmm.eventbroker.testsupport.OrderMessages(env.bootstrapServers())) {
            orders.publish("lab.orders.urinalysis", "METRICS-P",
                    org.cmm.eventbroker.testsupport.OrderMessages.labOrder("METRICS-1", "METRICS-P"));
        }
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            java.util.List<String> lines = get("/observe/metrics").body().lines().toList();
            assertTrue(lines.stream().anyMatch(l -> l.startsWith("cmm_topic_records_total")
                    && l.contains("topic=\"hl7.adt.a03\"") && l.contains("direction=\"published\"")
                    && l.contains("outcome=\"ok\"") && !l.endsWith(" 0.0")), "published to hl7.adt.a03 counted");
            assertTrue(lines.stream().anyMatch(l -> l.startsWith("cmm_topic_records_total")
                    && l.contains("topic=\"lab.orders.urinalysis\"") && l.contains("direction=\"delivered\"")
                    && l.contains("outcome=\"failed\"")), "failed deliveries from lab.orders.urinalysis counted");
            assertTrue(lines.stream().anyMatch(l -> l.startsWith("cmm_topic_latency_seconds_count")
                    && l.contains("topic=\"hl7.adt.a03\"")), "write latency per topic");
        });
    }
}
