package org.cmm.eventbroker.fhir;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import ca.uhn.fhir.rest.client.api.IGenericClient;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.cmm.eventbroker.fhir.subscription.SubscriptionNotification;
import org.cmm.eventbroker.stack.FhirServer;
import org.cmm.eventbroker.testsupport.FreePorts;
import org.cmm.eventbroker.testsupport.KafkaTopicReader;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.hl7.fhir.r4.model.Subscription;
import org.junit.jupiter.api.Test;

/**
 * The last allowed attempt of a channel delivery (here sms, the gateway answering 503 throughout) dead-letters the
 * notification exactly as it was queued (no gateway request, no credentials) and sets the Subscription to error.
 */
class SubscriptionDeliveryGivenUpIT {

    @Test
    void afterTheLastAttemptTheNotificationIsDeadLetteredUntouchedAndTheSubscriptionIsInError() throws Exception {
        AtomicInteger attempts = new AtomicInteger();
        HttpServer gateway = HttpServer.create(new InetSocketAddress("127.0.0.1", FreePorts.next()), 0);
        gateway.createContext("/sms", exchange -> {
            exchange.getRequestBody().readAllBytes();
            attempts.incrementAndGet();
            exchange.sendResponseHeaders(503, -1);
            exchange.close();
        });
        gateway.start();
        try (FhirServer fhir = new FhirServer("127.0.0.1", FreePorts.next()).start();
             RuntimeUnderTest env = RuntimeUnderTest.flows("fhir-subscription-websocket-delivery", "fhir-subscription-email-delivery", "fhir-subscription-sms-delivery").with(Map.of(
                     "cmm.fhir.server.base-url", fhir.baseUrl(),
                     "cmm.fhir.subscription.delivery.initial-backoff-ms", "100",
                     "cmm.fhir.subscription.delivery.max-backoff-ms", "200",
                     "cmm.fhir.subscription.delivery.max-attempts", "3",
                     "cmm.fhir.subscription.sms.gateway-url", "http://127.0.0.1:" + gateway.getAddress().getPort() + "/sms",
                     "cmm.fhir.subscription.sms.token", "secret-token-7",
                     "cmm.fhir.subscription.websocket.port", String.valueOf(FreePorts.next()))).start()) {
            IGenericClient client = FhirR4.client(fhir.baseUrl(), 5000, 15000);
            Subscription s = new Subscription();
            s.setId("given-up");
            s.setStatus(Subscription.SubscriptionStatus.ACTIVE);
            s.setCriteria("Observation?status=final");
            s.getChannel().setType(Subscription.SubscriptionChannelType.SMS).setEndpoint("tel:+4930999");
            client.update().resource(s).execute();
            SubscriptionNotification n = new SubscriptionNotification(SubscriptionNotification.EVENT_NOTIFICATION,
                    "Subscription/given-up", new ObjectMapper().readTree(FhirR4.context().newJsonParser().encodeResourceToString(s)),
                    "Observation/1/_history/1", "2026-11-26T10:00:00Z", "Observation/1/_history/1", "created", null);
            byte[] value = n.toJson();
            Properties p = new Properties();
            p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, env.bootstrapServers());
            try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer())) {
                ProducerRecord<String, byte[]> r = new ProducerRecord<>("fhir.subscription.sms", "Subscription/given-up", value);
                r.headers().add(FhirEventHeaders.SUBSCRIPTION_ID, "Subscription/given-up".getBytes(StandardCharsets.UTF_8));
                r.headers().add(FhirEventHeaders.NOTIFICATION_TYPE, "event-notification".getBytes(StandardCharsets.UTF_8));
                r.headers().add(FhirEventHeaders.CHANNEL_TYPE, "sms".getBytes(StandardCharsets.UTF_8));
                r.headers().add("ce_id", "Observation/1/_history/1".getBytes(StandardCharsets.UTF_8));
                producer.send(r).get(10, TimeUnit.SECONDS);
            }

            List<ConsumerRecord<String, byte[]>> dead = env.topics().awaitRecords("fhir.subscription.dlq",
                    r -> "Subscription/given-up".equals(r.key()), 1);
            ConsumerRecord<String, byte[]> d = dead.get(0);
            assertArrayEquals(value, d.value(), "dead-lettered as queued");
            assertTrue(KafkaTopicReader.header(d, "dlq_reason").startsWith("gave up after 3 attempts"),
                    KafkaTopicReader.header(d, "dlq_reason"));
            assertEquals("fhir-subscription-sms-delivery", KafkaTopicReader.header(d, "dlq_source"));
            assertEquals("Subscription/given-up", KafkaTopicReader.header(d, FhirEventHeaders.SUBSCRIPTION_ID));
            assertNull(KafkaTopicReader.header(d, "Authorization"), "no gateway header on the dead letter");
            d.headers().forEach(h -> assertTrue(!new String(h.value(), StandardCharsets.UTF_8).contains("secret-token-7"),
                    "the gateway token leaked into header " + h.key()));
            assertEquals(3, attempts.get());
            await().atMost(Duration.ofSeconds(10)).until(() -> client.read().resource(Subscription.class).withId("given-up")
                    .execute().getStatus() == Subscription.SubscriptionStatus.ERROR);
        } finally {
            gateway.stop(0);
        }
    }
}
