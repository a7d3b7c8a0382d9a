package org.cmm.eventbroker.fhir;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import ca.uhn.fhir.rest.client.api.IGenericClient;
import com.sun.net.httpserver.HttpServer;
import jakarta.mail.Message;
import jakarta.mail.internet.MimeMessage;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.cmm.eventbroker.stack.FhirServer;
import org.cmm.eventbroker.stack.MailServer;
import org.cmm.eventbroker.testsupport.FreePorts;
import org.cmm.eventbroker.testsupport.LogCapture;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.IdType;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Quantity;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.Subscription;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The whole FHIR subscription path against real peers, nothing written to Kafka by the test: a HAPI FHIR server where
 * clients create Subscriptions and Observations, the runtime's history connector following its {@code _history}, the
 * registration activating the Subscriptions on the server, the matcher, and the rest-hook (JDK HTTP server) and email
 * (GreenMail), SMS (a JDK HTTP server as gateway) and websocket (java.net.http client) deliveries. A subscription with criteria {@code Observation?code=http://loinc.org|8867-4} gets exactly
 * the matching changes, each resource's in order, on each channel.
 */
class FhirSubscriptionsEndToEndIT {

    private static final String HEART_RATE = "8867-4";
    private static final String PATIENT_TEXT = "Heart rate of Mrs Jane Endtoend";

    private static FhirServer fhirServer;
    private static MailServer mail;
    private static RestHookEndpoint endpoint;
    private static RuntimeUnderTest env;
    private static LogCapture logs;
    private static IGenericClient client;
    private static HttpServer smsGateway;
    private static final List<String> smsBodies = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        logs = LogCapture.attach();
        fhirServer = new FhirServer("127.0.0.1", FreePorts.next()).start();
        int smtpPort = FreePorts.next();
        mail = new MailServer("127.0.0.1", smtpPort, FreePorts.next(), "ops@cmm.local").start();
        endpoint = new RestHookEndpoint(FreePorts.next());
        smsGateway = HttpServer.create(new InetSocketAddress("127.0.0.1", FreePorts.next()), 10);
        smsGateway.createContext("/sms", x -> {
            smsBodies.add(new String(x.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            x.sendResponseHeaders(202, -1);
            x.close();
        });
        smsGateway.start();
        env = RuntimeUnderTest.flows("fhir-history-connector", "fhir-subscription-registration", "fhir-subscription-matcher", "fhir-subscription-rest-hook-delivery", "fhir-subscription-websocket-delivery", "fhir-subscription-email-delivery", "fhir-subscription-sms-delivery").with(Map.of(
                "cmm.fhir.server.base-url", fhirServer.baseUrl(),
                "cmm.fhir.history.enabled", "true",
                "cmm.fhir.history.poll-interval-ms", "300",
                "cmm.fhir.history.initial-delay-ms", "100",
                "cmm.fhir.subscription.delivery.initial-backoff-ms", "100",
                "cmm.fhir.subscription.delivery.max-backoff-ms", "500",
                "cmm.fhir.subscription.email.smtp-port", String.valueOf(smtpPort),
                "cmm.fhir.subscription.sms.gateway-url", "http://127.0.0.1:" + smsGateway.getAddress().getPort() + "/sms")).start();
        client = FhirR4.client(fhirServer.baseUrl(), 5_000, 15_000);
    }

    @AfterAll
    static void stop() throws Exception {
        if (env != null) {
            env.close();
        }
        if (endpoint != null) {
            endpoint.close();
        }
        if (smsGateway != null) {
            smsGateway.stop(0);
        }
        if (mail != null) {
            mail.close();
        }
        if (fhirServer != null) {
            fhirServer.close();
        }
        if (logs != null) {
            logs.close();
        }
    }

    @Test
    void subscriptionsCreatedOnTheServerGetExactlyTheMatchingObservationChangesInOrderOnEachChannel() throws Exception {
        String hook = "http://127.0.0.1:" + endpoint.port() + "/e2e-hook";
        Subscription restHook = subscription("e2e-rest-hook", Subscription.SubscriptionChannelType.RESTHOOK, hook);
        restHook.getChannel().setPayload("application/fhir+json");
        Subscription email = subscription("e2e-email", Subscription.SubscriptionChannelType.EMAIL, "mailto:ward9@cmm.local");
        Subscription sms = subscription("e2e-sms", Subscription.SubscriptionChannelType.SMS, "tel:+4915100000009");
        Subscription websocket = subscription("e2e-ws", Subscription.SubscriptionChannelType.WEBSOCKET, null);
        client.update().resource(restHook).execute();
        client.update().resource(email).execute();
        client.update().resource(sms).execute();
        client.update().resource(websocket).execute();
        // a websocket client bound to its subscription (R4: "bind <id>", answered "bound <id>", then "ping <id>")
        List<String> frames = new CopyOnWriteArrayList<>();
        WebSocket ws = HttpClient.newHttpClient().newWebSocketBuilder().buildAsync(URI.create("ws://127.0.0.1:"
                + env.property("cmm.fhir.subscription.websocket.port") + "/fhir/subscriptions/websocket"),
                new WebSocket.Listener() {
                    @Override
                    public CompletionStage<?> onText(WebSocket socket, CharSequence data, boolean last) {
                        frames.add(data.toString());
                        socket.request(1);
                        return null;
                    }
                }).get(10, TimeUnit.SECONDS);
        ws.sendText("bind e2e-ws", true).get(5, TimeUnit.SECONDS);

        // the history connector brings the new Subscriptions to the registration, which activates them on the server
        await().atMost(Duration.ofSeconds(60)).until(() -> status("e2e-rest-hook") == Subscription.SubscriptionStatus.ACTIVE
                && status("e2e-email") == Subscription.SubscriptionStatus.ACTIVE
                && status("e2e-sms") == Subscription.SubscriptionStatus.ACTIVE
                && status("e2e-ws") == Subscription.SubscriptionStatus.ACTIVE);
        // and has put them in the registry of the matcher (a compacted topic)
        await().atMost(Duration.ofSeconds(30)).until(() -> env.topics().readAll("fhir.subscriptions").stream()
                .filter(r -> r.value() != null && "Subscription/e2e-ws".equals(r.key()))
                .anyMatch(r -> new String(r.value()).contains("\"active\"")));

        client.update().resource(observation("e2e-1", HEART_RATE, 72)).execute();
        client.update().resource(observation("e2e-other", "2339-0", 5.4)).execute();
        client.update().resource(observation("e2e-2", HEART_RATE, 80)).execute();
        client.update().resource(observation("e2e-1", HEART_RATE, 75)).execute();

        // the change events themselves, from the history connector
        List<ConsumerRecord<String, byte[]>> created = env.topics().awaitRecords("fhir.observation.created",
                r -> r.key() != null && r.key().startsWith("Observation/e2e-"), 3);
        assertEquals(3, created.size(), "three Observations created");
        List<ConsumerRecord<String, byte[]>> updated = env.topics().awaitRecords("fhir.observation.updated",
                r -> "Observation/e2e-1".equals(r.key()), 1);
        assertEquals(1, updated.size(), "one update");

        // rest-hook: a handshake (empty POST) first, then the three matching changes, each resource PUT to
        // <endpoint>/Observation/<id> (R4: with a payload the endpoint is a service base)
        await().atMost(Duration.ofSeconds(60)).until(() -> nonEmpty(endpoint.received("/e2e-hook")).size() >= 3);
        List<RestHookEndpoint.Received> posts = nonEmpty(endpoint.received("/e2e-hook"));
        assertEquals(3, posts.size(), "exactly the matching changes: " + posts.size());
        assertTrue(posts.stream().allMatch(r -> r.method().equals("PUT") && r.path().startsWith("/e2e-hook/Observation/e2e-")),
                posts.stream().map(r -> r.method() + " " + r.path()).toList().toString());
        List<String> got = new ArrayList<>();
        for (RestHookEndpoint.Received r : posts) {
            Observation o = (Observation) FhirR4.context().newJsonParser().parseResource(r.body());
            got.add(o.getIdElement().getIdPart() + "@" + o.getValueQuantity().getValue().intValue());
        }
        // order is kept per resource (the key of the change events): e2e-1's versions in order; e2e-2's change may
        // come before or after them
        assertEquals(List.of("e2e-1@72", "e2e-1@75"), got.stream().filter(g -> g.startsWith("e2e-1@")).toList());
        assertEquals(List.of("e2e-2@80"), got.stream().filter(g -> g.startsWith("e2e-2@")).toList());

        // email: the same three, by reference only
        await().atMost(Duration.ofSeconds(60)).until(() -> mailsTo("ward9@cmm.local").size() >= 3);
        List<MimeMessage> mails = mailsTo("ward9@cmm.local");
        assertEquals(3, mails.size());
        List<String> subjects = new ArrayList<>();
        for (MimeMessage m : mails) {
            subjects.add(m.getSubject());
        }
        assertEquals(2, subjects.stream().filter(t -> t.contains("Observation/e2e-1 ")).count(), subjects.toString());
        assertEquals(1, subjects.stream().filter(t -> t.contains("Observation/e2e-2 ")).count(), subjects.toString());
        assertEquals(List.of("created", "updated"), subjects.stream().filter(t -> t.contains("Observation/e2e-1 "))
                .map(t -> t.substring(t.lastIndexOf(' ') + 1)).toList(), "e2e-1's changes in order");
        for (MimeMessage m : mails) {
            assertFalse(String.valueOf(m.getContent()).contains(PATIENT_TEXT), "no resource content in the mail");
        }
        // sms: three texts to the tel: number, references only
        await().atMost(Duration.ofSeconds(60)).until(() -> smsBodies.size() >= 3);
        assertEquals(3, smsBodies.size(), smsBodies.toString());
        assertEquals(2, smsBodies.stream().filter(b -> b.contains("Observation/e2e-1 ")).count(), smsBodies.toString());
        assertEquals(1, smsBodies.stream().filter(b -> b.contains("Observation/e2e-2 ")).count(), smsBodies.toString());
        assertTrue(smsBodies.stream().allMatch(b -> b.contains("+4915100000009") && !b.contains(PATIENT_TEXT)));

        // websocket: bound, then one ping per matching change
        await().atMost(Duration.ofSeconds(60)).until(() -> frames.stream().filter(f -> f.startsWith("ping")).count() >= 3);
        assertEquals("bound e2e-ws", frames.get(0));
        assertEquals(List.of("ping e2e-ws", "ping e2e-ws", "ping e2e-ws"), frames.subList(1, frames.size()));
        ws.sendClose(WebSocket.NORMAL_CLOSURE, "done").get(5, TimeUnit.SECONDS);

        assertFalse(endpoint.received("/e2e-hook").stream().anyMatch(r -> r.body().contains("e2e-other")),
                "the other code was not notified");
        assertTrue(logs.lines().stream().noneMatch(l -> l.contains(PATIENT_TEXT)), "no resource content in the logs");
    }

    private static List<RestHookEndpoint.Received> nonEmpty(List<RestHookEndpoint.Received> all) {
        return all.stream().filter(r -> !r.body().isEmpty()).toList();
    }

    private static Subscription.SubscriptionStatus status(String id) {
        return client.read().resource(Subscription.class).withId(id).execute().getStatus();
    }

    private static Subscription subscription(String id, Subscription.SubscriptionChannelType type, String endpointUrl) {
        Subscription s = new Subscription();
        s.setId(new IdType("Subscription", id));
        s.setStatus(Subscription.SubscriptionStatus.REQUESTED);
        s.setReason("end-to-end test");
        s.setCriteria("Observation?code=http://loinc.org|" + HEART_RATE);
        s.getChannel().setType(type);
        if (endpointUrl != null) {
            s.getChannel().setEndpoint(endpointUrl);
        }
        return s;
    }

    private static Observation observation(String id, String loinc, double value) {
        Observation o = new Observation();
        o.setId(new IdType("Observation", id));
        o.setStatus(Observation.ObservationStatus.FINAL);
        o.setCode(new CodeableConcept(new Coding("http://loinc.org", loinc, null)).setText(PATIENT_TEXT));
        o.setSubject(new Reference("Patient/e2e-patient"));
        o.setValue(new Quantity(value));
        return o;
    }

    private static List<MimeMessage> mailsTo(String address) throws Exception {
        List<MimeMessage> found = new ArrayList<>();
        for (MimeMessage m : mail.greenMail().getReceivedMessages()) {
            if (m.getRecipients(Message.RecipientType.TO) != null && Arrays.stream(m.getRecipients(Message.RecipientType.TO))
                    .anyMatch(a -> a.toString().equals(address))) {
                found.add(m);
            }
        }
        return found;
    }
}
