package org.cmm.eventbroker.fhir;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import ca.uhn.fhir.rest.client.api.IGenericClient;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import jakarta.mail.BodyPart;
import jakarta.mail.Message;
import jakarta.mail.Multipart;
import jakarta.mail.internet.MimeMessage;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.cmm.eventbroker.fhir.subscription.SubscriptionNotification;
import org.cmm.eventbroker.stack.FhirServer;
import org.cmm.eventbroker.stack.MailServer;
import org.cmm.eventbroker.testsupport.FreePorts;
import org.cmm.eventbroker.testsupport.KafkaTopicReader;
import org.cmm.eventbroker.testsupport.LogCapture;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.hl7.fhir.r4.model.Extension;
import org.hl7.fhir.r4.model.IntegerType;
import org.hl7.fhir.r4.model.Subscription;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Websocket, email and sms delivery of FHIR Subscription notifications against real peers: GreenMail over SMTP, a JDK
 * HTTP server as the SMS gateway, a java.net.http websocket client, and a HAPI FHIR server holding the Subscriptions
 * (where failures are recorded). The notification records are written the way the matcher writes them.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SubscriptionChannelsIT {

    /** A patient name in every resource body: it must never reach a log, a mail without payload or a text message. */
    private static final String PATIENT_NAME = "Quaxelwort";
    private static final String DLQ = "fhir.subscription.dlq";
    private static final ObjectMapper JSON = new ObjectMapper();

    private FhirServer fhir;
    private IGenericClient fhirClient;
    private int smtpPort;
    private int imapPort;
    private MailServer mail;
    private HttpServer gateway;
    private final List<String> gatewayBodies = new CopyOnWriteArrayList<>();
    private final List<String> gatewayAuth = new CopyOnWriteArrayList<>();
    private final AtomicInteger gatewayStatus = new AtomicInteger(200);
    private int websocketPort;
    private RuntimeUnderTest env;
    private KafkaProducer<String, byte[]> producer;
    private LogCapture logs;

    @BeforeAll
    void start() throws Exception {
        logs = LogCapture.attach();
        fhir = new FhirServer("127.0.0.1", FreePorts.next()).start();
        fhirClient = FhirR4.client(fhir.baseUrl(), 5000, 15000);
        smtpPort = FreePorts.next();
        imapPort = FreePorts.next();
        mail = new MailServer("127.0.0.1", smtpPort, imapPort, "ops@cmm.local").start();
        gateway = HttpServer.create(new InetSocketAddress("127.0.0.1", FreePorts.next()), 0);
        gateway.createContext("/sms", exchange -> {
            String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            int status = gatewayStatus.get();
            if (status / 100 == 2) {
                gatewayBodies.add(body);
                gatewayAuth.add(String.valueOf(exchange.getRequestHeaders().getFirst("X-Api-Key")));
            }
            exchange.sendResponseHeaders(status, -1);
            exchange.close();
        });
        gateway.start();
        websocketPort = FreePorts.next();
        Map<String, String> props = new HashMap<>();
        props.put("cmm.fhir.server.base-url", fhir.baseUrl());
        props.put("cmm.fhir.subscription.delivery.initial-backoff-ms", "200");
        props.put("cmm.fhir.subscription.delivery.max-backoff-ms", "1000");
        props.put("cmm.fhir.subscription.email.smtp-port", String.valueOf(smtpPort));
        props.put("cmm.fhir.subscription.email.timeout-ms", "2000");
        props.put("cmm.fhir.subscription.sms.gateway-url", "http://127.0.0.1:" + gateway.getAddress().getPort() + "/sms");
        props.put("cmm.fhir.subscription.sms.token-header", "X-Api-Key");
        props.put("cmm.fhir.subscription.sms.token", "gateway-token-1");
        props.put("cmm.fhir.subscription.websocket.host", "127.0.0.1");
        props.put("cmm.fhir.subscription.websocket.port", String.valueOf(websocketPort));
        props.put("cmm.fhir.subscription.websocket.resource-content", "true");
        env = RuntimeUnderTest.flows("fhir-subscription-websocket-delivery", "fhir-subscription-email-delivery", "fhir-subscription-sms-delivery").with(props).start();
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, env.bootstrapServers());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        producer = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
    }

    @AfterAll
    void stop() throws Exception {
        try {
            assertEquals(List.of(), logs.linesContaining(List.of(PATIENT_NAME)), "patient data in the logs");
        } finally {
            logs.close();
            producer.close();
            env.close();
            gateway.stop(0);
            mail.close();
            fhir.close();
        }
    }

    // ---- email

    @Test
    void mailsCarryTheTemplateInOrderAndTheResourceOnlyWhenTheSubscriptionAsksForIt() throws Exception {
        Subscription plain = subscription("mail-plain", "email", "mailto:ward7@cmm.local", null);
        Subscription withPayload = subscription("mail-payload", "email", "mailto:lab@cmm.local", "application/fhir+json");
        for (int i = 1; i <= 4; i++) {
            publish("email", event(plain, "Observation/o" + i + "/_history/1", "created"));
        }
        publish("email", event(withPayload, "Observation/p1/_history/2", "updated"));

        await().atMost(Duration.ofSeconds(30)).until(() -> mailsTo("ward7@cmm.local").size() == 4
                && mailsTo("lab@cmm.local").size() == 1);
        List<MimeMessage> plainMails = mailsTo("ward7@cmm.local");
        for (int i = 0; i < 4; i++) {
            MimeMessage m = plainMails.get(i);
            assertEquals("FHIR Subscription Subscription/mail-plain: Observation/o" + (i + 1) + " created", m.getSubject());
            String text = text(m);
            assertTrue(text.startsWith("Observation/o" + (i + 1) + " was created at 2026-11-26T10:00:0"), text);
            assertFalse(text.contains(PATIENT_NAME), "resource content in a mail without payload");
            assertFalse(m.getContent() instanceof Multipart, "an attachment although no payload was asked for");
            assertEquals("fhir-subscriptions@cmm.local", m.getFrom()[0].toString());
        }
        MimeMessage payloadMail = mailsTo("lab@cmm.local").get(0);
        assertTrue(payloadMail.getContent() instanceof Multipart, "the resource attached");
        Multipart parts = (Multipart) payloadMail.getContent();
        BodyPart attachment = null;
        for (int i = 0; i < parts.getCount(); i++) {
            if ("Observation-p1.json".equals(parts.getBodyPart(i).getFileName())) {
                attachment = parts.getBodyPart(i);
            }
        }
        assertNotNull(attachment, "attachment Observation-p1.json");
        assertTrue(read(attachment.getInputStream()).contains(PATIENT_NAME));
    }

    @Test
    void mailsQueuedWhileTheSmtpServerIsDownArriveInOrderAndTheFailureIsOnTheSubscription() throws Exception {
        Subscription s = subscription("mail-outage", "email", "mailto:outage@cmm.local", null);
        mail.close();
        try {
            for (int i = 1; i <= 5; i++) {
                publish("email", event(s, "Observation/out" + i, "updated"));
            }
            await().atMost(Duration.ofSeconds(30)).until(() -> errorCount("mail-outage") >= 2);
            Subscription failing = read("mail-outage");
            assertTrue(failing.hasError() && !failing.getError().isBlank(), "Subscription.error set while SMTP is down");
            assertEquals(Subscription.SubscriptionStatus.ACTIVE, failing.getStatus());
        } finally {
            mail = new MailServer("127.0.0.1", smtpPort, imapPort, "ops@cmm.local").start();
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> mailsTo("outage@cmm.local").size() == 5);
        List<String> subjects = new ArrayList<>();
        for (MimeMessage m : mailsTo("outage@cmm.local")) {
            subjects.add(m.getSubject());
        }
        assertEquals(List.of(1, 2, 3, 4, 5).stream()
                .map(i -> "FHIR Subscription Subscription/mail-outage: Observation/out" + i + " updated").toList(), subjects);
        await().atMost(Duration.ofSeconds(10)).until(() -> !read("mail-outage").hasError());
    }

    // ---- sms

    @Test
    void textMessagesGoToTheGatewayInOrderWithoutResourceContentEvenWhenThePayloadIsAsked() throws Exception {
        Subscription s = subscription("sms-1", "sms", "tel:+49-151-1234567", "application/fhir+json");
        for (int i = 1; i <= 3; i++) {
            publish("sms", event(s, "Observation/s" + i + "/_history/1", i == 3 ? "deleted" : "created"));
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> gatewayRequestsFor("Subscription/sms-1").size() == 3);
        List<JsonNode> requests = gatewayRequestsFor("Subscription/sms-1");
        for (int i = 0; i < 3; i++) {
            JsonNode r = requests.get(i);
            assertEquals("+491511234567", r.path("to").asText());
            assertEquals("FHIR Observation/s" + (i + 1) + " " + (i == 2 ? "deleted" : "created")
                    + " (Subscription Subscription/sms-1)", r.path("text").asText());
            assertFalse(r.toString().contains(PATIENT_NAME));
        }
        assertTrue(gatewayAuth.contains("gateway-token-1"), "the gateway token was sent");
    }

    @Test
    void textMessagesQueuedWhileTheGatewayAnswers503ArriveInOrderAndTheFailureIsOnTheSubscription() throws Exception {
        Subscription s = subscription("sms-outage", "sms", "tel:+4930123456", null);
        gatewayStatus.set(503);
        try {
            for (int i = 1; i <= 4; i++) {
                publish("sms", event(s, "Observation/g" + i, "updated"));
            }
            await().atMost(Duration.ofSeconds(30)).until(() -> errorCount("sms-outage") >= 2);
            assertTrue(read("sms-outage").getError().contains("503"), read("sms-outage").getError());
        } finally {
            gatewayStatus.set(200);
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> gatewayRequestsFor("Subscription/sms-outage").size() == 4);
        assertEquals(List.of("g1", "g2", "g3", "g4"), gatewayRequestsFor("Subscription/sms-outage").stream()
                .map(r -> r.path("text").asText().replaceAll(".*Observation/(g\\d).*", "$1")).toList());
        await().atMost(Duration.ofSeconds(10)).until(() -> !read("sms-outage").hasError());
    }

    // ---- websocket

    @Test
    void aWebsocketClientThatBindsLateGetsEveryQueuedNotificationThenTheNextOnes() throws Exception {
        Subscription s = subscription("ws-1", "websocket", null, null);
        publish("websocket", event(s, "Observation/w1", "created"));
        publish("websocket", event(s, "Observation/w2", "updated"));
        // nobody bound: failed attempts are recorded on the Subscription and retried
        await().atMost(Duration.ofSeconds(30)).until(() -> errorCount("ws-1") >= 1);
        assertTrue(read("ws-1").getError().contains("no websocket client bound"), read("ws-1").getError());

        List<String> frames = new CopyOnWriteArrayList<>();
        WebSocket ws = connect(frames);
        try {
            ws.sendText("bind Subscription/ws-1", true).get(5, TimeUnit.SECONDS);
            await().atMost(Duration.ofSeconds(30)).until(() -> frames.size() >= 3);
            assertEquals(List.of("bound ws-1", "ping ws-1", "ping ws-1"), frames.subList(0, 3));
            publish("websocket", event(s, "Observation/w3", "updated"));
            await().atMost(Duration.ofSeconds(30)).until(() -> frames.size() >= 4);
            // exactly one ping per notification
            await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(5)).until(() -> frames.size() == 4);
            assertEquals("ping ws-1", frames.get(3));
            await().atMost(Duration.ofSeconds(10)).until(() -> !read("ws-1").hasError());
        } finally {
            ws.sendClose(WebSocket.NORMAL_CLOSURE, "done").get(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void aClosedWebsocketIsForgottenSoItsNotificationsWaitForTheNextClient() throws Exception {
        Subscription s = subscription("ws-2", "websocket", null, null);
        List<String> first = new CopyOnWriteArrayList<>();
        WebSocket ws = connect(first);
        ws.sendText("bind ws-2", true).get(5, TimeUnit.SECONDS);
        await().atMost(Duration.ofSeconds(10)).until(() -> first.contains("bound ws-2"));
        ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(5, TimeUnit.SECONDS);
        await().atMost(Duration.ofSeconds(10)).until(ws::isInputClosed);

        publish("websocket", event(s, "Observation/x1", "created"));
        await().atMost(Duration.ofSeconds(30)).until(() -> errorCount("ws-2") >= 1);
        List<String> second = new CopyOnWriteArrayList<>();
        WebSocket again = connect(second);
        try {
            again.sendText("bind ws-2", true).get(5, TimeUnit.SECONDS);
            await().atMost(Duration.ofSeconds(30)).until(() -> second.equals(List.of("bound ws-2", "ping ws-2")));
        } finally {
            again.sendClose(WebSocket.NORMAL_CLOSURE, "done").get(5, TimeUnit.SECONDS);
        }
        assertEquals(List.of("bound ws-2"), first);
    }

    @Test
    void aBackportSubscriptionsWebsocketClientGetsTheNotificationBundleButNoResourceWithoutAccessControl() throws Exception {
        Subscription full = backport(subscription("bp-full", "websocket", null, "application/fhir+json"), "full-resource");
        Subscription idOnly = backport(subscription("bp-id", "websocket", null, "application/fhir+json"), "id-only");
        List<String> frames = new CopyOnWriteArrayList<>();
        WebSocket ws = connect(frames);
        try {
            ws.sendText("bind bp-full", true).get(5, TimeUnit.SECONDS);
            ws.sendText("bind bp-id", true).get(5, TimeUnit.SECONDS);
            await().atMost(Duration.ofSeconds(10)).until(() -> frames.size() == 2);
            publish("websocket", event(full, "Observation/bf1/_history/3", "updated"));
            await().atMost(Duration.ofSeconds(30)).until(() -> frames.size() == 3);
            publish("websocket", event(idOnly, "Observation/bi1/_history/1", "created"));
            await().atMost(Duration.ofSeconds(30)).until(() -> frames.size() == 4);
        } finally {
            ws.sendClose(WebSocket.NORMAL_CLOSURE, "done").get(5, TimeUnit.SECONDS);
        }
        JsonNode fullBundle = JSON.readTree(frames.get(2));
        assertEquals("Bundle", fullBundle.path("resourceType").asText());
        assertEquals("history", fullBundle.path("type").asText());
        JsonNode status = fullBundle.path("entry").get(0).path("resource");
        assertEquals("Parameters", status.path("resourceType").asText());
        assertTrue(status.toString().contains("\"Subscription/bp-full\""), status.toString());
        assertTrue(status.toString().contains("\"Observation/bf1\""), "the focus: " + status);
        assertEquals(fhir.baseUrl() + "/Observation/bf1", fullBundle.path("entry").get(1).path("fullUrl").asText());
        // resource-content is on, but without access control no bound client proved it may read the Subscription:
        // the bundle stays id-only (with access control on: WebsocketSubscriptionAccessTest, HttpAccessIT)
        assertTrue(fullBundle.path("entry").get(1).path("resource").isMissingNode(), frames.get(2));
        assertFalse(frames.get(2).contains(PATIENT_NAME));
        JsonNode idBundle = JSON.readTree(frames.get(3));
        assertEquals(fhir.baseUrl() + "/Observation/bi1", idBundle.path("entry").get(1).path("fullUrl").asText());
        assertTrue(idBundle.path("entry").get(1).path("resource").isMissingNode(), "id-only carries no resource");
        assertFalse(frames.get(3).contains(PATIENT_NAME));
    }

    // ---- records that can never be delivered

    @Test
    void unreadableRecordsAndEndpointsOfTheWrongSchemeGoUntouchedToTheDeadLetterTopicWithAReason() throws Exception {
        byte[] garbage = ("{not json " + PATIENT_NAME).getBytes(StandardCharsets.UTF_8);
        send("email", "Subscription/bad-1", garbage, "bad-json");
        Subscription telForMail = subscription("bad-mail", "email", "tel:+4930111", null);
        byte[] telForMailRecord = event(telForMail, "Observation/b1", "created").toJson();
        send("email", "Subscription/bad-mail", telForMailRecord, "bad-mail");
        Subscription mailForSms = subscription("bad-sms", "sms", "mailto:x@cmm.local", null);
        byte[] mailForSmsRecord = event(mailForSms, "Observation/b2", "created").toJson();
        send("sms", "Subscription/bad-sms", mailForSmsRecord, "bad-sms");
        Subscription httpForWs = subscription("bad-ws", "websocket", "http://example.org/hook", null);
        byte[] httpForWsRecord = event(httpForWs, "Observation/b3", "created").toJson();
        send("websocket", "Subscription/bad-ws", httpForWsRecord, "bad-ws");
        // and a good one behind the bad one of the same channel still goes out
        Subscription good = subscription("after-bad", "email", "mailto:afterbad@cmm.local", null);
        publish("email", event(good, "Observation/ok1", "created"));

        List<ConsumerRecord<String, byte[]>> dead = env.topics().awaitRecords(DLQ,
                r -> r.key() != null && r.key().matches("Subscription/bad-.*"), 4);
        Map<String, ConsumerRecord<String, byte[]>> byKey = new HashMap<>();
        dead.forEach(r -> byKey.put(r.key(), r));
        assertArrayEquals(garbage, byKey.get("Subscription/bad-1").value());
        assertTrue(reason(byKey.get("Subscription/bad-1")).contains("not a subscription notification"));
        assertArrayEquals(telForMailRecord, byKey.get("Subscription/bad-mail").value());
        assertTrue(reason(byKey.get("Subscription/bad-mail")).contains("mailto:"), reason(byKey.get("Subscription/bad-mail")));
        assertArrayEquals(mailForSmsRecord, byKey.get("Subscription/bad-sms").value());
        assertTrue(reason(byKey.get("Subscription/bad-sms")).contains("tel:"), reason(byKey.get("Subscription/bad-sms")));
        assertArrayEquals(httpForWsRecord, byKey.get("Subscription/bad-ws").value());
        assertTrue(reason(byKey.get("Subscription/bad-ws")).contains("ws:"), reason(byKey.get("Subscription/bad-ws")));
        assertEquals("bad-mail", KafkaTopicReader.header(byKey.get("Subscription/bad-mail"), "ce_id"));
        await().atMost(Duration.ofSeconds(30)).until(() -> mailsTo("afterbad@cmm.local").size() == 1);
    }

    // ---- helpers

    private static String reason(ConsumerRecord<String, byte[]> r) {
        return String.valueOf(KafkaTopicReader.header(r, "dlq_reason"));
    }

    private Subscription subscription(String id, String channelType, String endpoint, String payload) {
        Subscription s = new Subscription();
        s.setId(id);
        s.setStatus(Subscription.SubscriptionStatus.ACTIVE);
        s.setReason("test");
        s.setCriteria("Observation?code=http://loinc.org|1234-5");
        s.getChannel().setType(Subscription.SubscriptionChannelType.fromCode(channelType));
        if (endpoint != null) {
            s.getChannel().setEndpoint(endpoint);
        }
        if (payload != null) {
            s.getChannel().setPayload(payload);
        }
        fhirClient.update().resource(s).execute();
        return s;
    }

    private Subscription backport(Subscription s, String payloadContent) {
        s.getMeta().addProfile("http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription");
        s.setCriteria("http://example.org/SubscriptionTopic/observations");
        s.getChannel().getPayloadElement().addExtension(
                "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content",
                new org.hl7.fhir.r4.model.CodeType(payloadContent));
        fhirClient.update().resource(s).execute();
        return s;
    }

    private Subscription read(String id) {
        return fhirClient.read().resource(Subscription.class).withId(id).execute();
    }

    private int errorCount(String id) {
        Extension e = read(id).getExtensionByUrl(FhirEventHeaders.ERROR_COUNT_EXTENSION);
        return e != null && e.getValue() instanceof IntegerType i ? i.getValue() : 0;
    }

    private static final AtomicInteger SECONDS = new AtomicInteger();

    private SubscriptionNotification event(Subscription s, String focus, String operation) throws IOException {
        JsonNode subscription = JSON.readTree(FhirR4.context().newJsonParser().encodeResourceToString(s));
        String reference = focus.contains("/_history/") ? focus.substring(0, focus.indexOf("/_history/")) : focus;
        JsonNode resource = "deleted".equals(operation) ? null : JSON.readTree("""
                {"resourceType":"Observation","id":"%s","status":"final",
                 "subject":{"reference":"Patient/p1","display":"%s"}}"""
                .formatted(reference.substring(reference.indexOf('/') + 1), PATIENT_NAME));
        String time = "2026-11-26T10:00:0" + (SECONDS.getAndIncrement() % 10) + "Z";
        return new SubscriptionNotification(SubscriptionNotification.EVENT_NOTIFICATION,
                "Subscription/" + s.getIdElement().getIdPart(), subscription, focus, time, focus, operation, resource);
    }

    private void publish(String channel, SubscriptionNotification n) throws Exception {
        send(channel, n.subscriptionId(), n.toJson(), n.eventId());
    }

    private void send(String channel, String key, byte[] value, String ceId) throws Exception {
        ProducerRecord<String, byte[]> r = new ProducerRecord<>("fhir.subscription." + channel, key, value);
        r.headers().add(FhirEventHeaders.SUBSCRIPTION_ID, key.getBytes(StandardCharsets.UTF_8));
        r.headers().add(FhirEventHeaders.NOTIFICATION_TYPE, SubscriptionNotification.EVENT_NOTIFICATION.getBytes(StandardCharsets.UTF_8));
        r.headers().add(FhirEventHeaders.CHANNEL_TYPE, channel.getBytes(StandardCharsets.UTF_8));
        r.headers().add("ce_id", ceId.getBytes(StandardCharsets.UTF_8));
        producer.send(r).get(10, TimeUnit.SECONDS);
    }

    private List<MimeMessage> mailsTo(String address) throws Exception {
        List<MimeMessage> found = new ArrayList<>();
        for (MimeMessage m : mail.greenMail().getReceivedMessages()) {
            if (m.getRecipients(Message.RecipientType.TO) != null && Arrays.stream(m.getRecipients(Message.RecipientType.TO))
                    .anyMatch(a -> a.toString().equals(address))) {
                found.add(m);
            }
        }
        return found;
    }

    private static String text(MimeMessage m) throws Exception {
        Object content = m.getContent();
        return content instanceof String s ? s : String.valueOf(content);
    }

    private static String read(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        in.transferTo(out);
        return out.toString(StandardCharsets.UTF_8);
    }

    private List<JsonNode> gatewayRequestsFor(String subscriptionId) throws IOException {
        List<JsonNode> found = new ArrayList<>();
        for (String body : gatewayBodies) {
            JsonNode r = JSON.readTree(body);
            if (r.path("text").asText().contains("(Subscription " + subscriptionId + ")")) {
                found.add(r);
            }
        }
        return found;
    }

    private WebSocket connect(List<String> frames) throws Exception {
        URI uri = URI.create("ws://127.0.0.1:" + websocketPort + "/fhir/subscriptions/websocket");
        return HttpClient.newHttpClient().newWebSocketBuilder().buildAsync(uri, new WebSocket.Listener() {
            private final StringBuilder partial = new StringBuilder();

            @Override
            public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
                partial.append(data);
                if (last) {
                    frames.add(partial.toString());
                    partial.setLength(0);
                }
                webSocket.request(1);
                return null;
            }
        }).get(10, TimeUnit.SECONDS);
    }
}
