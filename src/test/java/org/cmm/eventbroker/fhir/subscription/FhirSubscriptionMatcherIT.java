package org.cmm.eventbroker.fhir.subscription;

import static org.awaitility.Awaitility.await;
import static org.cmm.eventbroker.testsupport.KafkaTopicReader.header;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import ca.uhn.fhir.rest.client.api.IGenericClient;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.cmm.eventbroker.fhir.FhirEventHeaders;
import org.cmm.eventbroker.fhir.FhirR4;
import org.cmm.eventbroker.stack.FhirServer;
import org.cmm.eventbroker.testsupport.FreePorts;
import org.cmm.eventbroker.testsupport.LogCapture;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Quantity;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.Resource;
import org.hl7.fhir.r4.model.Subscription;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Flows 2 and 3 against a real FHIR server and a real Kafka: change records are written onto fhir.resource.changed by
 * the test exactly as the documented intake/connector writes them (the server's own Subscriptions are created on the
 * server first, so the registration can set their status there). Notifications are read from
 * fhir.subscription.<channel>. Witness subscriptions (every Observation, every Patient, over websocket) prove a change
 * was processed before asserting that another subscription got nothing.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FhirSubscriptionMatcherIT {

    private static final String HEART_RATE = "8867-4";
    private static final String BODY_TEMPERATURE = "8310-5";
    private static final String LOINC = "http://loinc.org";
    private static final String TOPIC = "http://cmm.org/fhir/SubscriptionTopic/observation-changed";
    private static final ObjectMapper JSON = new ObjectMapper();

    private FhirServer fhirServer;
    private RuntimeUnderTest env;
    private IGenericClient fhir;
    private KafkaProducer<String, byte[]> producer;
    private String heartRateSub;
    private String observationWitness;
    private String patientWitness;
    private int version = 1;
    private LogCapture logs;
    private static final String NOTE_MARKER = "NOTE-PHI-7731";
    private static final String NAME_MARKER = "Zyxwarowski";

    // the subscribers' rest-hook endpoint: answers every request 200, so the delivery route (loaded with the others)
    // delivers the handshakes and writes nothing on the Subscriptions (a refused handshake would record an error)
    private HttpServer hook;

    @BeforeAll
    void start() throws Exception {
        logs = LogCapture.attach();
        hook = HttpServer.create(new InetSocketAddress("127.0.0.1", FreePorts.next()), 10);
        hook.createContext("/", x -> {
            x.getRequestBody().readAllBytes();
            x.sendResponseHeaders(200, -1);
            x.close();
        });
        hook.start();
        fhirServer = new FhirServer("127.0.0.1", FreePorts.next()).start();
        env = RuntimeUnderTest.flows("fhir-subscription-registration", "fhir-subscription-matcher", "fhir-subscription-rest-hook-delivery").with(Map.of(
                "cmm.fhir.server.base-url", fhirServer.baseUrl(),
                "cmm.fhir.subscription.processing.initial-backoff-ms", "200",
                "cmm.fhir.subscription.processing.max-backoff-ms", "1000")).start();
        fhir = FhirR4.client(fhirServer.baseUrl(), 5000, 15000);
        // the notification topics exist before the flows run, as on a production cluster (a topic auto-created by the
        // first write can take longer than the producer's delivery timeout to get a leader on the embedded broker)
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, env.bootstrapServers()))) {
            admin.createTopics(List.of("rest-hook", "websocket", "email", "sms").stream()
                    .map(c -> new NewTopic("fhir.subscription." + c, Optional.empty(), Optional.empty())).toList())
                    .all().get(30, TimeUnit.SECONDS);
        }
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, env.bootstrapServers());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        producer = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
        observationWitness = registerActive(subscription("Observation", "websocket", null));
        patientWitness = registerActive(subscription("Patient", "websocket", null));
    }

    @AfterAll
    void stop() throws Exception {
        producer.close();
        logs.close();
        env.close();
        fhirServer.close();
        hook.stop(0);
    }

    @Test
    @Order(1)
    void requestedRestHookSubscriptionIsActivatedOnTheServerAfterItsHandshakeWasQueued() throws Exception {
        Subscription s = subscription("Observation?code=" + LOINC + "|" + HEART_RATE, "rest-hook",
                "http://127.0.0.1:" + hook.getAddress().getPort() + "/hook");
        String id = createOnServerAndPublish(s);
        await().atMost(Duration.ofSeconds(30)).until(() -> serverStatus(id) == Subscription.SubscriptionStatus.ACTIVE);
        // the handshake was written before the status was set: it is on the topic now
        List<ConsumerRecord<String, byte[]>> handshakes = notifications("rest-hook", id).stream()
                .filter(r -> SubscriptionNotification.HANDSHAKE.equals(header(r, FhirEventHeaders.NOTIFICATION_TYPE)))
                .toList();
        assertEquals(1, handshakes.size());
        SubscriptionNotification handshake = SubscriptionNotification.fromJson(handshakes.get(0).value());
        assertEquals(id, handshake.subscriptionId());
        assertEquals("active", handshake.subscription().get("status").asText());
        assertNull(handshake.eventId());
        assertEquals("rest-hook", header(handshakes.get(0), FhirEventHeaders.CHANNEL_TYPE));

        // the server's active version comes back as a change event: registered, and no further write (no loop)
        Subscription active = readSubscription(id);
        publishChange(active, "updated");
        awaitRegistered(id, active.getMeta().getVersionId());
        assertEquals(active.getMeta().getVersionId(), readSubscription(id).getMeta().getVersionId());
        heartRateSub = id;
    }

    @Test
    @Order(2)
    void onlyObservationsWithTheSubscribedCodeAreNotified() throws Exception {
        publishChange(observation("hr-1", LOINC, HEART_RATE, "p1", null), "created");
        publishChange(observation("temp-1", LOINC, BODY_TEMPERATURE, "p1", null), "created");
        publishChange(observation("hr-snomed", "http://snomed.info/sct", HEART_RATE, "p1", null), "created");
        Patient patient = new Patient();
        patient.setId("p1");
        patient.addName().setFamily(NAME_MARKER);
        publishChange(patient, "created");
        publishChange(observation("hr-1", LOINC, HEART_RATE, "p1", null), "updated");
        awaitWitnessed(observationWitness, "Observation/hr-1", "Observation/temp-1", "Observation/hr-snomed");
        awaitWitnessed(patientWitness, "Patient/p1");

        List<SubscriptionNotification> got = events("rest-hook", heartRateSub);
        assertEquals(List.of("created", "updated"), got.stream().map(SubscriptionNotification::operation).toList());
        assertTrue(got.stream().allMatch(n -> n.focus().startsWith("Observation/hr-1/_history/")), got.toString());
        SubscriptionNotification first = got.get(0);
        assertEquals(HEART_RATE, first.resource().at("/code/coding/0/code").asText());
        assertEquals("active", first.subscription().get("status").asText());
        assertNotNull(first.eventTime());
        ConsumerRecord<String, byte[]> record = notifications("rest-hook", heartRateSub).stream()
                .filter(r -> SubscriptionNotification.EVENT_NOTIFICATION.equals(header(r, FhirEventHeaders.NOTIFICATION_TYPE)))
                .findFirst().orElseThrow();
        assertEquals(first.eventId(), header(record, "ce_id"));
        assertEquals(heartRateSub, header(record, FhirEventHeaders.SUBSCRIPTION_ID));
        assertNull(header(record, FhirEventHeaders.RESOURCE_TYPE), "change-event headers are not copied");
    }

    @Test
    @Order(3)
    void invalidSubscriptionsAreSetToErrorWithTheReasonAndNeverMatched() throws Exception {
        String message = createOnServerAndPublish(subscription("Observation?code=" + HEART_RATE, "message", "http://127.0.0.1:9/m"));
        String badCriteria = createOnServerAndPublish(subscription("Observation/123", "rest-hook", "http://127.0.0.1:9/hook"));
        String noEndpoint = createOnServerAndPublish(subscription("Observation?code=" + HEART_RATE, "rest-hook", null));
        // the test server serves no CarePlan: it answers the criteria probe 404
        String serverRejects = createOnServerAndPublish(subscription("CarePlan?date=ge2020-01-01", "rest-hook", "http://127.0.0.1:9/hook"));
        Subscription ended = subscription("Observation?code=" + LOINC + "|" + HEART_RATE, "websocket", null);
        ended.setEnd(java.util.Date.from(Instant.now().minus(Duration.ofDays(1))));
        String endedSub = registerActive(ended);
        Map<String, String> reasons = Map.of(message, "unsupported channel type 'message'",
                badCriteria, "not a resource-type search", noEndpoint, "channel.endpoint missing",
                serverRejects, "criteria not supported by the FHIR server");
        for (Map.Entry<String, String> e : reasons.entrySet()) {
            await().atMost(Duration.ofSeconds(30)).until(() -> serverStatus(e.getKey()) == Subscription.SubscriptionStatus.ERROR);
            String error = readSubscription(e.getKey()).getError();
            assertTrue(error != null && error.contains(e.getValue()), e.getKey() + ": " + error);
        }
        // their error versions come back as change events: registered as error, the server is not written again
        for (String id : reasons.keySet()) {
            Subscription errored = readSubscription(id);
            publishChange(errored, "updated");
            awaitRegistered(id, errored.getMeta().getVersionId());
            assertEquals(errored.getMeta().getVersionId(), readSubscription(id).getMeta().getVersionId(), id);
        }
        publishChange(observation("hr-2", LOINC, HEART_RATE, "p1", null), "created");
        awaitWitnessed(observationWitness, "Observation/hr-2");
        for (String id : reasons.keySet()) {
            assertEquals(List.of(), allNotifications(id), id);
        }
        assertEquals(List.of(), allNotifications(endedSub), "a subscription whose end is past is not matched");
    }

    @Test
    @Order(4)
    void criteriaTheMatcherCannotEvaluateAreAnsweredByTheServer() throws Exception {
        String id = registerActive(subscription("Observation?code=" + LOINC + "|" + HEART_RATE + "&value-quantity=gt100",
                "email", "mailto:ward@example.org"));
        String high = fhir.create().resource(observation(null, LOINC, HEART_RATE, "p2", 120)).execute().getId().getIdPart();
        String normal = fhir.create().resource(observation(null, LOINC, HEART_RATE, "p2", 80)).execute().getId().getIdPart();
        publishChange(fhir.read().resource(Observation.class).withId(high).execute(), "created");
        publishChange(fhir.read().resource(Observation.class).withId(normal).execute(), "created");
        awaitWitnessed(observationWitness, "Observation/" + high, "Observation/" + normal);
        List<SubscriptionNotification> got = events("email", id);
        assertEquals(1, got.size(), got.toString());
        assertTrue(got.get(0).focus().startsWith("Observation/" + high + "/_history/"), got.get(0).focus());
    }

    @Test
    @Order(5)
    void criteriaTheServerRejectsWhenMatchingSetTheSubscriptionToErrorAndTheFlowGoesOn() throws Exception {
        // the probe at registration finds no resource, so the test server only fails on the unsupported prefix
        // ("sa") once a real Observation with a value is tested: as a server that fails on data it cannot compare
        String id = registerActive(subscription("Observation?value-quantity=sa100", "websocket", null));
        String obs = fhir.create().resource(observation(null, LOINC, HEART_RATE, "p3", 130)).execute().getId().getIdPart();
        publishChange(fhir.read().resource(Observation.class).withId(obs).execute(), "created");
        await().atMost(Duration.ofSeconds(30)).until(() -> serverStatus(id) == Subscription.SubscriptionStatus.ERROR);
        assertTrue(readSubscription(id).getError().contains("criteria not supported by the FHIR server (HTTP 400"),
                readSubscription(id).getError());
        awaitWitnessed(observationWitness, "Observation/" + obs);
        assertEquals(List.of(), allNotifications(id));
        // known as error at once (before its change event comes back): a later change does not ask or write again
        String errorVersion = readSubscription(id).getMeta().getVersionId();
        String next = fhir.create().resource(observation(null, LOINC, HEART_RATE, "p3", 140)).execute().getId().getIdPart();
        publishChange(fhir.read().resource(Observation.class).withId(next).execute(), "created");
        awaitWitnessed(observationWitness, "Observation/" + next);
        assertEquals(errorVersion, readSubscription(id).getMeta().getVersionId());
        assertEquals(List.of(), allNotifications(id));
    }

    @Test
    @Order(6)
    void deletesNotifyTopicSubscriptionsWithADeleteTriggerOnly() throws Exception {
        Subscription topic = subscription(TOPIC, "sms", "tel:+41440000000");
        topic.getMeta().addProfile(SubscriptionValidator.BACKPORT_PROFILE);
        String topicSub = registerActive(topic);
        publishDelete("Observation", "hr-1");
        await().atMost(Duration.ofSeconds(30)).until(() -> events("sms", topicSub).size() >= 1);
        SubscriptionNotification deleted = events("sms", topicSub).get(0);
        assertEquals("deleted", deleted.operation());
        assertTrue(deleted.resource() == null || deleted.resource().isNull(), "no resource for a delete");
        assertTrue(deleted.focus().startsWith("Observation/hr-1"));
        assertEquals(List.of(), events("websocket", observationWitness).stream()
                .filter(n -> "deleted".equals(n.operation())).toList(), "an R4 criteria subscription gets no deletes");
        assertTrue(events("rest-hook", heartRateSub).stream().noneMatch(n -> "deleted".equals(n.operation())));
    }

    @Test
    @Order(7)
    void aDeletedSubscriptionGetsNoMoreNotifications() throws Exception {
        String id = registerActive(subscription("Observation?code=" + HEART_RATE, "websocket", null));
        publishChange(observation("hr-3", LOINC, HEART_RATE, "p1", null), "created");
        await().atMost(Duration.ofSeconds(30)).until(() -> events("websocket", id).size() == 1);
        fhir.delete().resourceById("Subscription", id.substring("Subscription/".length())).execute();
        publishDelete("Subscription", id.substring("Subscription/".length()));
        await().atMost(Duration.ofSeconds(30)).until(() -> registryRecords(id).stream().anyMatch(r -> r.value() == null));
        publishChange(observation("hr-4", LOINC, HEART_RATE, "p1", null), "created");
        awaitWitnessed(observationWitness, "Observation/hr-4");
        assertEquals(1, events("websocket", id).size());
    }

    @Test
    @Order(8)
    void anUnreadableChangeRecordIsDeadLetteredAndTheFlowGoesOn() throws Exception {
        ProducerRecord<String, byte[]> bad = new ProducerRecord<>("fhir.resource.changed", "Observation/broken",
                "{not json".getBytes(StandardCharsets.UTF_8));
        addHeaders(bad, "Observation", "broken", "1", "created");
        producer.send(bad).get(10, TimeUnit.SECONDS);
        List<ConsumerRecord<String, byte[]>> dead = env.topics().awaitRecords("fhir.dlq",
                r -> "Observation/broken".equals(r.key()), 1);
        assertTrue(header(dead.get(0), "dlq_reason").contains("not FHIR R4 JSON"), header(dead.get(0), "dlq_reason"));
        assertEquals("{not json", new String(dead.get(0).value(), StandardCharsets.UTF_8));
        publishChange(observation("hr-5", LOINC, HEART_RATE, "p1", null), "created");
        awaitWitnessed(observationWitness, "Observation/hr-5");
    }

    @Test
    @Order(9)
    void afterARestartTheActiveSubscriptionsAreKnownAndNothingIsMatchedTwice() throws Exception {
        int before = events("rest-hook", heartRateSub).size();
        env.stopRuntime();
        env.startRuntime();
        publishChange(observation("hr-6", LOINC, HEART_RATE, "p1", null), "created");
        await().atMost(Duration.ofSeconds(60)).until(() -> events("rest-hook", heartRateSub).size() > before);
        awaitWitnessed(observationWitness, "Observation/hr-6");
        List<SubscriptionNotification> all = events("rest-hook", heartRateSub);
        assertEquals(before + 1, all.size(), all.toString());
        Set<String> eventIds = all.stream().map(SubscriptionNotification::eventId).collect(Collectors.toSet());
        assertEquals(all.size(), eventIds.size(), "every change notified once");
        List<SubscriptionNotification> witness = events("websocket", observationWitness);
        assertEquals(witness.size(), witness.stream().map(SubscriptionNotification::eventId).distinct().count(),
                "witness: every change notified once");
    }

    @Test
    @Order(10)
    void noResourceContentReachesTheLogs() {
        assertTrue(logs.lines().stream().anyMatch(l -> l.contains("activated")), "the flows logged");
        assertEquals(List.of(), logs.linesContaining(List.of(NOTE_MARKER, NAME_MARKER)));
    }

    // --- helpers

    private static Subscription subscription(String criteria, String channel, String endpoint) {
        Subscription s = new Subscription();
        s.setStatus(Subscription.SubscriptionStatus.REQUESTED);
        s.setReason("test");
        s.setCriteria(criteria);
        s.getChannel().getTypeElement().setValueAsString(channel);
        s.getChannel().setEndpoint(endpoint).setPayload("application/fhir+json");
        return s;
    }

    private static Observation observation(String id, String system, String code, String patient, Integer value) {
        Observation o = new Observation();
        if (id != null) {
            o.setId(id);
        }
        o.setStatus(Observation.ObservationStatus.FINAL);
        o.setCode(new CodeableConcept().addCoding(new Coding(system, code, null)));
        o.setSubject(new Reference("Patient/" + patient));
        o.addNote().setText(NOTE_MARKER);
        if (value != null) {
            o.setValue(new Quantity().setValue(BigDecimal.valueOf(value)).setUnit("/min"));
        }
        return o;
    }

    /** Creates the Subscription on the server, publishes its change event, waits until it is active. */
    private String registerActive(Subscription s) throws Exception {
        String id = createOnServerAndPublish(s);
        await().atMost(Duration.ofSeconds(30)).until(() -> registryRecords(id).stream()
                .anyMatch(r -> r.value() != null && new String(r.value(), StandardCharsets.UTF_8).contains("\"active\"")));
        return id;
    }

    private String createOnServerAndPublish(Subscription s) throws Exception {
        String idPart = fhir.create().resource(s).execute().getId().getIdPart();
        publishChange(readSubscription("Subscription/" + idPart), "created");
        return "Subscription/" + idPart;
    }

    private Subscription readSubscription(String id) {
        return fhir.read().resource(Subscription.class).withId(id.substring("Subscription/".length())).execute();
    }

    private Subscription.SubscriptionStatus serverStatus(String id) {
        return readSubscription(id).getStatus();
    }

    private void publishChange(Resource r, String operation) throws Exception {
        String type = r.fhirType();
        String idPart = r.getIdElement().getIdPart();
        String v = r.getMeta().getVersionId() != null ? r.getMeta().getVersionId() : String.valueOf(version++);
        r.getMeta().setVersionId(v);
        byte[] json = FhirR4.context().newJsonParser().encodeResourceToString(r).getBytes(StandardCharsets.UTF_8);
        ProducerRecord<String, byte[]> record = new ProducerRecord<>("fhir.resource.changed", type + "/" + idPart, json);
        addHeaders(record, type, idPart, v, operation);
        producer.send(record).get(10, TimeUnit.SECONDS);
    }

    private void publishDelete(String type, String idPart) throws Exception {
        String v = String.valueOf(version++);
        byte[] stub = ("{\"resourceType\":\"" + type + "\",\"id\":\"" + idPart + "\",\"meta\":{\"versionId\":\"" + v + "\"}}")
                .getBytes(StandardCharsets.UTF_8);
        ProducerRecord<String, byte[]> record = new ProducerRecord<>("fhir.resource.changed", type + "/" + idPart, stub);
        addHeaders(record, type, idPart, v, "deleted");
        producer.send(record).get(10, TimeUnit.SECONDS);
    }

    private static void addHeaders(ProducerRecord<String, byte[]> record, String type, String idPart, String v, String op) {
        String key = type + "/" + idPart;
        Map<String, String> h = Map.ofEntries(Map.entry("ce_specversion", "1.0"),
                Map.entry("ce_id", key + "/_history/" + v), Map.entry("ce_source", "cmm-event-broker/fhir-changes"),
                Map.entry("ce_type", "fhir." + type.toLowerCase() + "." + op), Map.entry("ce_time", Instant.now().toString()),
                Map.entry("ce_subject", key), Map.entry("content-type", "application/fhir+json"),
                Map.entry(FhirEventHeaders.RESOURCE_TYPE, type), Map.entry(FhirEventHeaders.RESOURCE_ID, idPart),
                Map.entry(FhirEventHeaders.VERSION_ID, v), Map.entry(FhirEventHeaders.OPERATION, op));
        h.forEach((k, value) -> record.headers().add(k, value.getBytes(StandardCharsets.UTF_8)));
    }

    private void awaitRegistered(String id, String versionId) {
        await().atMost(Duration.ofSeconds(30)).until(() -> registryRecords(id).stream().anyMatch(r -> r.value() != null
                && versionId.equals(readTree(r.value()).at("/meta/versionId").asText())));
    }

    private void awaitWitnessed(String witness, String... resources) {
        String channel = "websocket";
        await().atMost(Duration.ofSeconds(30)).until(() -> {
            Set<String> seen = events(channel, witness).stream().map(n -> n.focus().replaceFirst("/_history/.*", ""))
                    .collect(Collectors.toSet());
            return seen.containsAll(List.of(resources));
        });
    }

    private List<ConsumerRecord<String, byte[]>> registryRecords(String id) {
        return read("fhir.subscriptions").stream().filter(r -> id.equals(r.key())).toList();
    }

    private List<ConsumerRecord<String, byte[]>> notifications(String channel, String subscriptionId) {
        return read("fhir.subscription." + channel).stream().filter(r -> subscriptionId.equals(r.key())).toList();
    }

    private List<SubscriptionNotification> events(String channel, String subscriptionId) {
        return notifications(channel, subscriptionId).stream()
                .filter(r -> SubscriptionNotification.EVENT_NOTIFICATION.equals(header(r, FhirEventHeaders.NOTIFICATION_TYPE)))
                .map(r -> SubscriptionNotification.fromJson(r.value())).toList();
    }

    private List<ConsumerRecord<String, byte[]>> allNotifications(String subscriptionId) {
        List<ConsumerRecord<String, byte[]>> all = new ArrayList<>();
        for (String channel : List.of("rest-hook", "websocket", "email", "sms")) {
            all.addAll(notifications(channel, subscriptionId));
        }
        return all;
    }

    /** The topic's records, none when it does not exist yet. */
    private List<ConsumerRecord<String, byte[]>> read(String topic) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, env.bootstrapServers());
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer())) {
            if (!c.listTopics(Duration.ofSeconds(10)).containsKey(topic)) {
                return List.of();
            }
        }
        return env.topics().readAll(topic);
    }

    private static JsonNode readTree(byte[] json) {
        try {
            return JSON.readTree(json);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
