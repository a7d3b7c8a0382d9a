package org.cmm.eventbroker.fhir;

import static org.awaitility.Awaitility.await;
import static org.cmm.eventbroker.fhir.RestHookTestSupport.backport;
import static org.cmm.eventbroker.fhir.RestHookTestSupport.classic;
import static org.cmm.eventbroker.fhir.RestHookTestSupport.event;
import static org.cmm.eventbroker.fhir.RestHookTestSupport.observation;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Map;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.cmm.eventbroker.fhir.subscription.BackportSubscription;
import org.cmm.eventbroker.fhir.subscription.SubscriptionNotification;
import org.cmm.eventbroker.stack.FhirServer;
import org.cmm.eventbroker.testsupport.FreePorts;
import org.cmm.eventbroker.testsupport.KafkaTopicReader;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.hl7.fhir.r4.model.Subscription;
import org.hl7.fhir.r4.model.UnsignedIntType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Rest-hook delivery that never succeeds: after cmm.fhir.subscription.delivery.max-attempts (3 here) the notification
 * goes untouched to fhir.subscription.dlq and the Subscription on the (real) FHIR server is set to error; an endpoint
 * slower than the Subscription's backport-timeout fails the same way.
 */
class FhirSubscriptionRestHookGiveUpIT {

    private static FhirServer fhirServer;
    private static RestHookEndpoint endpoint;
    private static RuntimeUnderTest env;
    private static RestHookTestSupport kafka;

    @BeforeAll
    static void start() throws Exception {
        fhirServer = new FhirServer("127.0.0.1", FreePorts.next()).start();
        endpoint = new RestHookEndpoint(FreePorts.next());
        env = RuntimeUnderTest.flows("fhir-subscription-rest-hook-delivery").with(Map.of(
                "cmm.fhir.server.base-url", fhirServer.baseUrl(),
                "cmm.fhir.subscription.delivery.initial-backoff-ms", "100",
                "cmm.fhir.subscription.delivery.max-backoff-ms", "200",
                "cmm.fhir.subscription.delivery.max-attempts", "3",
                "cmm.fhir.subscription.rest-hook.timeout-ms", "5000")).start();
        kafka = new RestHookTestSupport(env.bootstrapServers(), fhirServer.baseUrl());
    }

    @AfterAll
    static void stop() throws Exception {
        kafka.close();
        env.close();
        endpoint.close();
        fhirServer.close();
    }

    private static String url(String path) {
        return "http://127.0.0.1:" + endpoint.port() + path;
    }

    @Test
    void lastAttemptDeadLettersTheNotificationUntouchedAndSetsTheSubscriptionToError() throws Exception {
        endpoint.answer("/always-503", 503);
        Subscription s = kafka.create(classic(url("/always-503"), "application/fhir+json"));
        SubscriptionNotification n = event(s, observation("g1", "1", "x"), "created");
        kafka.publish(n);

        ConsumerRecord<String, byte[]> dead = env.topics().awaitRecords("fhir.subscription.dlq",
                r -> RestHookTestSupport.key(s).equals(r.key()), 1).get(0);
        assertArrayEquals(n.toJson(), dead.value(), "dead-lettered untouched");
        assertEquals("event-notification", KafkaTopicReader.header(dead, "fhir_notification_type"));
        String reason = KafkaTopicReader.header(dead, "dlq_reason");
        assertTrue(reason.startsWith("gave up after 3 attempts") && reason.contains("503"), reason);
        String id = s.getIdElement().getIdPart();
        await().atMost(Duration.ofSeconds(10)).until(() -> kafka.read(id).getStatus() == Subscription.SubscriptionStatus.ERROR);
        assertTrue(kafka.read(id).getError().contains("delivery given up"), kafka.read(id).getError());
        assertTrue(endpoint.received("/always-503").isEmpty());
    }

    @Test
    void endpointSlowerThanTheBackportTimeoutCountsAsAFailedAttempt() throws Exception {
        endpoint.hold("/slow");
        try {
            Subscription sub = backport(url("/slow"), "id-only");
            sub.getChannel().addExtension(BackportSubscription.TIMEOUT, new UnsignedIntType(1));
            Subscription s = kafka.create(sub);
            SubscriptionNotification n = event(s, observation("t1", "1", "x"), "created");
            long started = System.nanoTime();
            kafka.publish(n);
            ConsumerRecord<String, byte[]> dead = env.topics().awaitRecords("fhir.subscription.dlq",
                    r -> RestHookTestSupport.key(s).equals(r.key()), 1).get(0);
            long tookMs = (System.nanoTime() - started) / 1_000_000;
            assertArrayEquals(n.toJson(), dead.value());
            assertTrue(KafkaTopicReader.header(dead, "dlq_reason").toLowerCase().contains("timeout")
                    || KafkaTopicReader.header(dead, "dlq_reason").toLowerCase().contains("timed out"),
                    KafkaTopicReader.header(dead, "dlq_reason"));
            assertTrue(tookMs < 15_000, "three 1 s timeouts, not the 5 s default: " + tookMs + " ms");
        } finally {
            endpoint.release("/slow");
        }
    }
}
