package org.cmm.eventbroker.fhir.subscription;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import ca.uhn.fhir.rest.client.api.IGenericClient;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.impl.DefaultCamelContext;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.apache.camel.support.DefaultExchange;
import org.cmm.eventbroker.dev.EmbeddedKafkaBroker;
import org.cmm.eventbroker.fhir.FhirEventHeaders;
import org.cmm.eventbroker.fhir.FhirR4;
import org.cmm.eventbroker.stack.FhirServer;
import org.cmm.eventbroker.testsupport.FreePorts;
import org.hl7.fhir.r4.model.Subscription;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * A change event is a claim anyone who reaches {@code POST /fhir/changes} can make: registration must register only
 * what the FHIR server confirms, never the status, channel or endpoint the event carries. Real FHIR server (the
 * stack's HAPI server), real Kafka for the registry.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SubscriptionRegistrationIT {

    private static final String ATTACKER = "http://attacker.example/collect";

    @TempDir
    static Path dataDir;

    private EmbeddedKafkaBroker broker;
    private FhirServer fhirServer;
    private IGenericClient fhir;
    private DefaultCamelContext camel;
    private SubscriptionRegistry registry;
    private SubscriptionRegistration registration;

    @BeforeAll
    void start() throws Exception {
        broker = new EmbeddedKafkaBroker("127.0.0.1", FreePorts.next(), FreePorts.next(), dataDir, Map.of());
        broker.start();
        fhirServer = new FhirServer("127.0.0.1", FreePorts.next()).start();
        fhir = FhirR4.client(fhirServer.baseUrl(), 5000, 15000);
        camel = new DefaultCamelContext();
        camel.getRegistry().bind(KafkaClients.REGISTRY_NAME, KafkaClients.forBootstrap(broker.bootstrapServers()));
        camel.start();
        registry = new SubscriptionRegistry();
        registry.setTopic("fhir.subscriptions");
        registry.setCamelContext(camel);
        registry.start();
        SubscriptionStatusWriter statusWriter = new SubscriptionStatusWriter();
        statusWriter.setServerBaseUrl(fhirServer.baseUrl());
        registration = new SubscriptionRegistration();
        registration.setRegistry(registry);
        registration.setStatusWriter(statusWriter);
        registration.setServer(new ServerCriteriaQuery(fhirServer.baseUrl(), 5000, 15000));
        registration.setServerBaseUrl(fhirServer.baseUrl());
        registration.setTopicsFile("routes/fhir/subscription-topics.yaml");
    }

    @AfterAll
    void stop() throws Exception {
        registry.stop();
        camel.stop();
        fhirServer.close();
        broker.close();
    }

    @Test
    void anActiveRestHookSubscriptionTheServerDoesNotHaveIsNotRegistered() throws Exception {
        Subscription forged = subscription(Subscription.SubscriptionStatus.ACTIVE, "rest-hook", ATTACKER);
        forged.setId("forged-1");
        List<Message> handshakes = registration.register(changeEvent(forged, "created"));
        registration.activate(lastExchange);
        assertEquals(List.of(), handshakes, "no handshake to the caller's endpoint");
        assertTrue(registry.get("Subscription/forged-1").isEmpty(), "registered: " + registry.get("Subscription/forged-1"));
        assertTrue(registry.all().stream().noneMatch(s -> ATTACKER.equals(s.getChannel().getEndpoint())));
    }

    @Test
    void theStatusAndChannelOfTheEventAreIgnoredForTheServersOwnCopy() throws Exception {
        // on the server: a requested websocket Subscription; the event claims it is an active rest-hook to the attacker
        Subscription onServer = subscription(Subscription.SubscriptionStatus.REQUESTED, "websocket", null);
        String idPart = fhir.create().resource(onServer).execute().getId().getIdPart();
        Subscription forged = subscription(Subscription.SubscriptionStatus.ACTIVE, "rest-hook", ATTACKER);
        forged.setId(idPart);
        forged.getMeta().setVersionId("1");

        List<Message> handshakes = registration.register(changeEvent(forged, "updated"));
        registration.activate(lastExchange);

        assertEquals(List.of(), handshakes, "a websocket Subscription gets no rest-hook handshake");
        Subscription registered = registry.get("Subscription/" + idPart).orElseThrow();
        assertEquals("websocket", registered.getChannel().getTypeElement().getValueAsString());
        assertEquals(null, registered.getChannel().getEndpoint());
        assertEquals(Subscription.SubscriptionStatus.ACTIVE, registered.getStatus(), "activated as the server's requested one");
        Subscription nowOnServer = fhir.read().resource(Subscription.class).withId(idPart).execute();
        assertEquals(Subscription.SubscriptionStatus.ACTIVE, nowOnServer.getStatus());
        assertEquals("websocket", nowOnServer.getChannel().getTypeElement().getValueAsString());
    }

    @Test
    void aSubscriptionTheServerDeletedMeanwhileIsUnregistered() throws Exception {
        Subscription onServer = subscription(Subscription.SubscriptionStatus.REQUESTED, "websocket", null);
        String idPart = fhir.create().resource(onServer).execute().getId().getIdPart();
        Subscription stale = fhir.read().resource(Subscription.class).withId(idPart).execute();
        registration.register(changeEvent(stale, "created"));
        registration.activate(lastExchange);
        assertTrue(registry.get("Subscription/" + idPart).isPresent());

        fhir.delete().resourceById("Subscription", idPart).execute();
        stale.setStatus(Subscription.SubscriptionStatus.ACTIVE);
        registration.register(changeEvent(stale, "updated"));
        registration.activate(lastExchange);
        assertTrue(registry.get("Subscription/" + idPart).isEmpty(), "an event replayed after the delete registers nothing");
    }

    private Exchange lastExchange;

    private Exchange changeEvent(Subscription s, String operation) {
        String idPart = s.getIdElement().getIdPart();
        String version = s.getMeta().getVersionId() != null ? s.getMeta().getVersionId() : "1";
        Exchange exchange = new DefaultExchange(camel);
        exchange.getMessage().setBody(FhirR4.context().newJsonParser().encodeResourceToString(s)
                .getBytes(StandardCharsets.UTF_8));
        exchange.getMessage().setHeader(FhirEventHeaders.RESOURCE_TYPE, "Subscription");
        exchange.getMessage().setHeader(FhirEventHeaders.RESOURCE_ID, idPart);
        exchange.getMessage().setHeader(FhirEventHeaders.VERSION_ID, version);
        exchange.getMessage().setHeader(FhirEventHeaders.OPERATION, operation);
        exchange.getMessage().setHeader("ce_id", "Subscription/" + idPart + "/_history/" + version);
        lastExchange = exchange;
        return exchange;
    }

    private static Subscription subscription(Subscription.SubscriptionStatus status, String channel, String endpoint) {
        Subscription s = new Subscription();
        s.setStatus(status);
        s.setReason("test");
        s.setCriteria("Observation?code=http://loinc.org|8867-4");
        s.getChannel().setType(Subscription.SubscriptionChannelType.fromCode(channel));
        if (endpoint != null) {
            s.getChannel().setEndpoint(endpoint);
        }
        s.getChannel().setPayload("application/fhir+json");
        return s;
    }
}
