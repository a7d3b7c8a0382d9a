package org.cmm.eventbroker.fhir;

import java.nio.charset.StandardCharsets;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import ca.uhn.fhir.rest.client.api.IGenericClient;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.cmm.eventbroker.fhir.subscription.BackportSubscription;
import org.cmm.eventbroker.fhir.subscription.SubscriptionNotification;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Subscription;
import org.hl7.fhir.r4.model.UnsignedIntType;

/**
 * What the matcher would do, done by hand: Subscriptions created on the real FHIR server, and notification records
 * written to fhir.subscription.rest-hook with a plain KafkaProducer exactly as docs/fhir/events-and-subscriptions.md
 * describes them.
 */
final class RestHookTestSupport implements AutoCloseable {

    static final String TOPIC = "fhir.subscription.rest-hook";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final KafkaProducer<String, byte[]> producer;
    private final IGenericClient fhir;

    RestHookTestSupport(String bootstrapServers, String fhirBaseUrl) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        producer = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
        fhir = FhirR4.client(fhirBaseUrl, 5000, 15000);
    }

    IGenericClient fhir() {
        return fhir;
    }

    /** A classic R4 rest-hook Subscription (active) to the endpoint, with headers and payload type (null: none). */
    static Subscription classic(String endpoint, String payload, String... headers) {
        Subscription s = new Subscription();
        s.setStatus(Subscription.SubscriptionStatus.ACTIVE);
        s.setReason("test");
        s.setCriteria("Observation?code=http://loinc.org|8867-4");
        s.getChannel().setType(Subscription.SubscriptionChannelType.RESTHOOK).setEndpoint(endpoint).setPayload(payload);
        for (String h : headers) {
            s.getChannel().addHeader(h);
        }
        return s;
    }

    /** A topic-based (backport) rest-hook Subscription with the payload content. */
    static Subscription backport(String endpoint, String content) {
        Subscription s = classic(endpoint, "application/fhir+json");
        s.getMeta().addProfile(BackportSubscription.PROFILE);
        s.setCriteria("http://example.org/SubscriptionTopic/observations");
        s.getChannel().getPayloadElement().addExtension(BackportSubscription.PAYLOAD_CONTENT,
                new org.hl7.fhir.r4.model.CodeType(content));
        return s;
    }

    static Subscription withHeartbeat(Subscription s, int seconds) {
        s.getChannel().addExtension(BackportSubscription.HEARTBEAT_PERIOD, new UnsignedIntType(seconds));
        return s;
    }

    /** Creates it on the FHIR server; returns it with its server id. */
    Subscription create(Subscription s) {
        String id = fhir.create().resource(s).execute().getId().getIdPart();
        s.setId(id);
        return s;
    }

    Subscription read(String id) {
        return fhir.read().resource(Subscription.class).withId(id).execute();
    }

    static JsonNode json(org.hl7.fhir.r4.model.Resource r) throws Exception {
        return JSON.readTree(FhirR4.context().newJsonParser().encodeResourceToString(r));
    }

    static Observation observation(String id, String version, String value) {
        Observation o = new Observation();
        o.setId(id);
        o.getMeta().setVersionId(version);
        o.setStatus(Observation.ObservationStatus.FINAL);
        o.getCode().addCoding().setSystem("http://loinc.org").setCode("8867-4");
        o.getCode().setText(value);
        return o;
    }

    /** An event notification of the resource's change for the subscription. */
    static SubscriptionNotification event(Subscription s, Observation o, String operation) throws Exception {
        String focus = "Observation/" + o.getIdElement().getIdPart() + "/_history/" + o.getMeta().getVersionId();
        return new SubscriptionNotification(SubscriptionNotification.EVENT_NOTIFICATION, key(s), json(s), focus,
                "2026-11-26T10:00:00Z", focus, operation, "deleted".equals(operation) ? null : json(o));
    }

    static SubscriptionNotification handshake(Subscription s) throws Exception {
        return new SubscriptionNotification(SubscriptionNotification.HANDSHAKE, key(s), json(s), null, null, null, null,
                null);
    }

    static String key(Subscription s) {
        return "Subscription/" + s.getIdElement().getIdPart();
    }

    /** Writes the notification as the matcher does; returns its metadata (offset). */
    RecordMetadata publish(SubscriptionNotification n) throws Exception {
        return publish(n.subscriptionId(), n.toJson(), n.type(), n.eventId());
    }

    RecordMetadata publish(String key, byte[] value, String type, String ceId) throws Exception {
        ProducerRecord<String, byte[]> r = new ProducerRecord<>(TOPIC, key, value);
        r.headers().add("fhir_subscription_id", key.getBytes(StandardCharsets.UTF_8));
        r.headers().add("fhir_notification_type", type.getBytes(StandardCharsets.UTF_8));
        r.headers().add("fhir_channel_type", "rest-hook".getBytes(StandardCharsets.UTF_8));
        r.headers().add("ce_id", (ceId != null ? ceId : UUID.randomUUID().toString()).getBytes(StandardCharsets.UTF_8));
        return producer.send(r).get(10, TimeUnit.SECONDS);
    }

    /** Registers the subscription on fhir.subscriptions as the registration route would (key, R4 JSON). */
    void register(Subscription s) throws Exception {
        byte[] value = FhirR4.context().newJsonParser().encodeResourceToString(s).getBytes(StandardCharsets.UTF_8);
        producer.send(new ProducerRecord<>("fhir.subscriptions", key(s), value)).get(10, TimeUnit.SECONDS);
    }

    @Override
    public void close() {
        producer.close();
    }
}
