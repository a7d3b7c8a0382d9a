package org.cmm.eventbroker.platform.delivery;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.cmm.eventbroker.dev.EmbeddedKafkaBroker;
import org.cmm.eventbroker.stack.MqttBroker;
import org.cmm.eventbroker.testsupport.FreePorts;
import org.cmm.eventbroker.testsupport.MqttGateway;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.cmm.eventbroker.testsupport.TcpProxy;
import org.cmm.eventbroker.testsupport.TestPeers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The HTTP and MQTT intakes report their exchanges to {@link IntakePriority} (the route policy {@code intakeFirst}),
 * against a real Kafka broker, a real Mosquitto and the runtime with the EHR webhooks, the MQTT device readings and the
 * event API: the broker is reached through a {@link TcpProxy} whose partition holds an exchange in flight (waiting for
 * Kafka) as long as the test looks. A webhook and an MQTT reading count while they wait, a rejected webhook (4xx, its
 * dead letter waiting) too, and the count is back to 0 once each is answered; an open SSE stream never counts.
 */
class IntakePriorityIT {

    private static final String WEBHOOK = "/ehr/epic/Patient/updated";
    private static final String READINGS = "device.patient-monitor.vitals";

    private static Path folder;
    private static EmbeddedKafkaBroker broker;
    private static TcpProxy brokerLink;
    private static MqttBroker mosquitto;
    private static RuntimeUnderTest env;
    private static MqttGateway gateway;
    private static IntakePriority priority;
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10)).build();

    @BeforeAll
    static void start() throws Exception {
        folder = Files.createTempDirectory("cmm-intake-priority");
        int linkPort = FreePorts.next();
        int brokerPort = FreePorts.next();
        // every client of the broker, the runtime's too, reaches it through the link (its advertised address)
        brokerLink = new TcpProxy(linkPort, "127.0.0.1", brokerPort);
        broker = new EmbeddedKafkaBroker("127.0.0.1", brokerPort, FreePorts.next(), folder.resolve("kafka"),
                Map.of("advertised.listeners", "PLAINTEXT://127.0.0.1:" + linkPort));
        broker.start();
        mosquitto = new MqttBroker(TestPeers.require("mosquitto"), "127.0.0.1", FreePorts.next(),
                Files.createTempDirectory("cmm-mosquitto")).start(10_000);
        env = RuntimeUnderTest.flows("ehr-api-events", "device-mqtt-ingest", "event-api").broker(broker).with(Map.of(
                "cmm.kafka.bootstrap-servers", "127.0.0.1:" + linkPort,
                // a write held by the partition waits for the heal, never for its timeout
                "camel.component.kafka.request-timeout-ms", "30000",
                "camel.component.kafka.delivery-timeout-ms", "60000",
                "cmm.device.mqtt.enabled", "true",
                "cmm.device.mqtt.broker-url", mosquitto.url(),
                "cmm.device.mqtt.client-id", "cmm-it-" + System.nanoTime())).start();
        priority = IntakePriority.of(env.runtime().camelContext());
        gateway = new MqttGateway(mosquitto.url(), "gateway-" + System.nanoTime());
        // the runtime subscribes a moment after it started; and each topic's metadata is known before a partition
        gateway.probeUntil("devices/patient-monitor/PM-PROBE/vitals", attempt -> reading(attempt),
                () -> env.topics().readAll(READINGS).stream().anyMatch(r -> "PM-PROBE".equals(r.key())));
        assertEquals(202, post(webhook("warm-up")).join().statusCode());
        assertEquals(400, post("{\"id\":").join().statusCode());
        await().atMost(Duration.ofSeconds(10)).until(() -> priority.intakeInFlight() == 0);
    }

    @AfterEach
    void heal() {
        brokerLink.heal();
    }

    @AfterAll
    static void stop() throws Exception {
        if (gateway != null) {
            gateway.close();
        }
        if (env != null) {
            env.close(); // the broker is this class's: left running by the runtime's close
        }
        if (mosquitto != null) {
            mosquitto.close();
        }
        if (broker != null) {
            broker.stop();
        }
        if (brokerLink != null) {
            brokerLink.close();
        }
        if (folder != null) {
            EmbeddedKafkaBroker.deleteDataDir(folder);
        }
    }

    private static String webhook(String id) {
        return "{\"resourceType\":\"Patient\",\"id\":\"" + id + "\"}";
    }

    private static String reading(int seq) {
        return "{\"timestamp\":\"" + Instant.now() + "\",\"seq\":" + seq
                + ",\"readings\":[{\"code\":\"MDC_PULS_OXIM_SAT_O2\",\"value\":97,\"unit\":\"%\"}]}";
    }

    private static CompletableFuture<HttpResponse<String>> post(String json) {
        return HTTP.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + env.httpPort() + WEBHOOK))
                .timeout(Duration.ofSeconds(60)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void aWebhookCountsWhileItWaitsForKafkaAndNoLongerOnceAnswered202() throws Exception {
        brokerLink.partition();
        CompletableFuture<HttpResponse<String>> answer = post(webhook("in-flight"));
        await().atMost(Duration.ofSeconds(10)).until(() -> priority.intakeInFlight() == 1);
        brokerLink.heal();
        assertEquals(202, answer.get(60, TimeUnit.SECONDS).statusCode());
        await().atMost(Duration.ofSeconds(10)).until(() -> priority.intakeInFlight() == 0);
    }

    /**
     * The same event on a second request while the first waits for Kafka (platform/http/InFlightEventIds): answered
     * 503 with Retry-After at once, the first 202 once Kafka acknowledged it, the sender's resend then 202 with the
     * same event id, and the event on Kafka once. Before, the second passed the de-duplication check too (the key is
     * remembered only once the first is on Kafka) and both were published.
     */
    @Test
    void theSameWebhookOnASecondRequestWhileTheFirstWaitsForKafkaIsAnswered503AndPublishedOnce() throws Exception {
        String id = "twice-" + System.nanoTime();
        brokerLink.partition();
        CompletableFuture<HttpResponse<String>> first = post(webhook(id));
        await().atMost(Duration.ofSeconds(10)).until(() -> priority.intakeInFlight() == 1);
        HttpResponse<String> second = post(webhook(id)).get(30, TimeUnit.SECONDS);
        assertEquals(503, second.statusCode(), second.body());
        assertTrue(second.headers().firstValue("Retry-After").isPresent(), "the sender is told to retry");
        brokerLink.heal();
        HttpResponse<String> firstAnswer = first.get(60, TimeUnit.SECONDS);
        assertEquals(202, firstAnswer.statusCode(), firstAnswer.body());
        HttpResponse<String> resend = post(webhook(id)).get(30, TimeUnit.SECONDS);
        assertEquals(202, resend.statusCode(), resend.body());
        assertEquals(firstAnswer.body(), resend.body(), "the resend is answered as the first: same topic, same eventId");
        long copies = env.topics().readAll("ehr.epic.patient.updated").stream()
                .filter(r -> new String(r.value(), StandardCharsets.UTF_8).contains(id)).count();
        assertEquals(1, copies, "on Kafka once");
    }

    @Test
    void aRejectedWebhookCountsWhileItsDeadLetterWaitsAndNoLongerOnceAnswered4xx() throws Exception {
        brokerLink.partition();
        CompletableFuture<HttpResponse<String>> answer = post("{\"id\":");
        await().atMost(Duration.ofSeconds(10)).until(() -> priority.intakeInFlight() == 1);
        brokerLink.heal();
        HttpResponse<String> rejected = answer.get(60, TimeUnit.SECONDS);
        assertEquals(400, rejected.statusCode(), rejected.body());
        await().atMost(Duration.ofSeconds(10)).until(() -> priority.intakeInFlight() == 0);
    }

    @Test
    void anMqttReadingCountsWhileItWaitsForKafkaAndNoLongerOncePublished() throws Exception {
        brokerLink.partition();
        // the runtime acknowledges (PUBACK) once the reading is on Kafka: the gateway's publish waits until then
        CompletableFuture<Void> published = CompletableFuture.runAsync(() -> {
            try {
                gateway.publish("devices/patient-monitor/PM-INFLIGHT/vitals", reading(1));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        await().atMost(Duration.ofSeconds(10)).until(() -> priority.intakeInFlight() == 1);
        brokerLink.heal();
        published.get(60, TimeUnit.SECONDS);
        await().atMost(Duration.ofSeconds(10)).until(() -> priority.intakeInFlight() == 0);
        assertTrue(env.topics().readAll(READINGS).stream().anyMatch(r -> "PM-INFLIGHT".equals(r.key())));
    }

    @Test
    void anOpenSseStreamDoesNotCount() throws Exception {
        HttpResponse<InputStream> stream = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                + env.httpPort() + "/streams/" + READINGS)).GET().build(), HttpResponse.BodyHandlers.ofInputStream());
        try (InputStream body = stream.body()) {
            assertEquals(200, stream.statusCode());
            await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(5))
                    .until(() -> priority.intakeInFlight() == 0);
        }
    }
}
