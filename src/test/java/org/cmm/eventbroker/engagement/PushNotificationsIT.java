package org.cmm.eventbroker.engagement;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

import com.eatthepath.pushy.apns.ApnsPushNotification;
import com.eatthepath.pushy.apns.auth.ApnsVerificationKey;
import com.eatthepath.pushy.apns.server.MockApnsServer;
import com.eatthepath.pushy.apns.server.MockApnsServerBuilder;
import com.eatthepath.pushy.apns.server.ParsingMockApnsServerListenerAdapter;
import com.eatthepath.pushy.apns.server.RejectionReason;
import com.eatthepath.pushy.apns.server.ValidatingPushNotificationHandlerFactory;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.cmm.eventbroker.engagement.push.Vapid;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.cmm.eventbroker.platform.security.mllp.TestPki;
import org.cmm.eventbroker.testsupport.FreePorts;
import org.cmm.eventbroker.testsupport.HapiSender;
import org.cmm.eventbroker.testsupport.Hl7Samples;
import org.cmm.eventbroker.fhir.FhirR4;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Appointment;
import org.hl7.fhir.r4.model.DiagnosticReport;
import org.hl7.fhir.r4.model.MedicationDispense;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Quantity;
import org.cmm.eventbroker.testsupport.KafkaTopicReader;
import org.cmm.eventbroker.testsupport.LogCapture;
import org.cmm.eventbroker.testsupport.PayloadSchemaCheck;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The device registration API and the push notification service against real push peers on loopback: the npm
 * web-push-testing service (checks VAPID, decrypts each message), Pushy's MockApnsServer with its token-validating
 * handler (checks the provider token JWT, the topic and the device token), and {@link FcmStandIn} (a stand-in: checks
 * the OAuth2 grant, the bearer token and the v1 message shape). One runtime with the two engagement flows.
 */
class PushNotificationsIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String STATUS = "notifications.push.status";
    private static final String APNS_TOPIC = "org.cmm.patient-app";
    private static final String TEAM = "TEAMID1234";
    private static final String KEY_ID = "KEYID12345";
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final long RELEASE_DELAY_MS = 4_000;

    @TempDir
    static Path dir;

    private static RuntimeUnderTest env;
    private static LogCapture logs;
    private static WebPushTestingService webPush;
    private static MockApnsServer apns;
    private static FcmStandIn fcm;
    private static KafkaProducer<String, byte[]> producer;
    private static String vapidPublic;
    private static final String APNS_TOKEN = HexFormat.of().formatHex(bytes(32, 1));
    private static final String APNS_EXPIRED = HexFormat.of().formatHex(bytes(32, 2));
    private static final List<ApnsPushNotification> apnsAccepted = new CopyOnWriteArrayList<>();
    private static final List<String> apnsRejected = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        logs = LogCapture.attach();
        webPush = new WebPushTestingService();
        String[] vapid = Vapid.generateKeys();
        vapidPublic = vapid[0];

        TestPki pki = TestPki.create(dir, "push-peers");
        Path peerStore = pki.issue("peers", "CN=localhost", "ip:127.0.0.1,dns:localhost");
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (var in = Files.newInputStream(peerStore)) {
            ks.load(in, TestPki.PASSWORD.toCharArray());
        }
        Certificate[] chain = ks.getCertificateChain("peers");
        PrivateKey peerKey = (PrivateKey) ks.getKey("peers", TestPki.PASSWORD.toCharArray());

        // APNs: the team's signing key (.p8) for the broker, its public half for the mock server's validating handler
        KeyPairGenerator ec = KeyPairGenerator.getInstance("EC");
        ec.initialize(new ECGenParameterSpec("secp256r1"));
        KeyPair apnsKey = ec.generateKeyPair();
        Path p8 = dir.resolve("AuthKey.p8");
        Files.writeString(p8, pem("PRIVATE KEY", apnsKey.getPrivate().getEncoded()));
        ApnsVerificationKey verification = new ApnsVerificationKey(KEY_ID, TEAM, (ECPublicKey) apnsKey.getPublic());
        apns = new MockApnsServerBuilder()
                .setServerCredentials(Arrays.copyOf(chain, chain.length, X509Certificate[].class), peerKey, null)
                .setHandlerFactory(new ValidatingPushNotificationHandlerFactory(
                        Map.of(APNS_TOPIC, Set.of(APNS_TOKEN, APNS_EXPIRED)),
                        Map.of(APNS_EXPIRED, Instant.now().minusSeconds(60)),
                        Map.of(KEY_ID, verification), Map.of(verification, Set.of(APNS_TOPIC))))
                .setListener(new ParsingMockApnsServerListenerAdapter() {
                    @Override
                    public void handlePushNotificationAccepted(ApnsPushNotification n) {
                        apnsAccepted.add(n);
                    }

                    @Override
                    public void handlePushNotificationRejected(ApnsPushNotification n, RejectionReason reason,
                            Instant deviceTokenExpiration) {
                        apnsRejected.add(reason.name());
                    }
                }).build();
        int apnsPort = FreePorts.next();
        apns.start(apnsPort).get();

        // FCM: a service account key for the broker, its public half for the stand-in
        KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
        rsa.initialize(2048);
        KeyPair account = rsa.generateKeyPair();
        String email = "push@cmm-test.iam.gserviceaccount.com";
        fcm = new FcmStandIn(FreePorts.next(), pki.material(peerStore).serverContext(),
                (RSAPublicKey) account.getPublic(), email, "cmm-test");
        Path serviceAccount = dir.resolve("service-account.json");
        Files.writeString(serviceAccount, JSON.createObjectNode().put("type", "service_account")
                .put("project_id", "cmm-test").put("private_key_id", "k1")
                .put("private_key", pem("PRIVATE KEY", account.getPrivate().getEncoded()))
                .put("client_email", email).put("token_uri", fcm.baseUri() + "/token").toString());

        Map<String, String> p = new HashMap<>();
        p.put("cmm.delivery.initial-backoff-ms", "200");
        p.put("cmm.delivery.max-backoff-ms", "400");
        p.put("cmm.engagement.push.max-attempts", "3");
        p.put("cmm.engagement.push.timeout-ms", "5000");
        p.put("cmm.engagement.devices.topic", "engagement.push.devices.it");
        p.put("cmm.engagement.devices.allow-http-endpoints", "true");
        p.put("cmm.engagement.devices.webpush-hosts", "localhost");
        p.put("cmm.engagement.webpush.vapid-public-key", vapid[0]);
        p.put("cmm.engagement.webpush.vapid-private-key", vapid[1]);
        p.put("cmm.engagement.apns.host", "127.0.0.1");
        p.put("cmm.engagement.apns.port", String.valueOf(apnsPort));
        p.put("cmm.engagement.apns.signing-key", p8.toString());
        p.put("cmm.engagement.apns.team-id", TEAM);
        p.put("cmm.engagement.apns.key-id", KEY_ID);
        p.put("cmm.engagement.apns.topic", APNS_TOPIC);
        p.put("cmm.engagement.fcm.service-account", serviceAccount.toString());
        p.put("cmm.engagement.fcm.base-uri", fcm.baseUri());
        p.put("cmm.security.tls.truststore", pki.truststore().toString());
        p.put("cmm.security.tls.truststore-password", TestPki.PASSWORD);
        p.put("cmm.engagement.portal.results.held-classes", "critical");
        p.put("cmm.engagement.portal.results.release-delay-ms", String.valueOf(RELEASE_DELAY_MS));
        env = RuntimeUnderTest.flows("push-device-registration", "push-notification-delivery",
                "lab-results-mllp-inbound", "patient-portal-results", "patient-portal-medications",
                "patient-portal-appointments").with(p).start();
        producer = KafkaClients.forBootstrap(env.bootstrapServers()).producer("push-it", Map.of());
    }

    @AfterAll
    static void stop() throws Exception {
        if (producer != null) {
            producer.close();
        }
        if (env != null) {
            env.close();
        }
        if (apns != null) {
            apns.shutdown().get();
        }
        if (fcm != null) {
            fcm.close();
        }
        if (webPush != null) {
            webPush.close();
        }
        if (logs != null) {
            logs.close();
        }
    }

    @Test
    void aWebPushReachesTheSubscriptionEncryptedAndSignedWithoutPatientData() throws Exception {
        WebPushTestingService.Subscription s = webPush.subscribe(vapidPublic);
        HttpResponse<String> registered = register(webPushBody(s, "patientId", "P-WEB-1"));
        assertEquals(201, registered.statusCode(), registered.body());
        String deviceId = JSON.readTree(registered.body()).path("id").asText();

        notify("result", "n-web-1", "patient/P-WEB-1", "\"observation\":\"Potassium 6.1 mmol/L\"");

        await().atMost(Duration.ofSeconds(30)).until(() -> !webPush.messages(s).isEmpty());
        JsonNode message = webPush.messages(s).get(0);
        assertEquals("n-web-1", message.path("notificationId").asText());
        assertEquals("New result", message.path("title").asText());
        assertEquals("You have a new result", message.path("body").asText());
        assertEquals("/portal/results?notification=n-web-1", message.path("url").asText());
        assertFalse(message.toString().contains("P-WEB-1"), "no patient id in the push");
        assertFalse(message.toString().contains("Potassium"), "no clinical content in the push");
        JsonNode status = status("n-web-1", deviceId);
        assertEquals("accepted", status.path("outcome").asText());
        assertEquals(201, status.path("status").asInt());
    }

    @Test
    void anExpiredWebPushSubscriptionIsRemoved() throws Exception {
        WebPushTestingService.Subscription s = webPush.subscribe(vapidPublic);
        HttpResponse<String> registered = register(webPushBody(s, "patientId", "P-WEB-GONE"));
        assertEquals(201, registered.statusCode(), registered.body());
        String deviceId = JSON.readTree(registered.body()).path("id").asText();
        webPush.expire(s);

        notify("appointment", "n-web-gone", "patient/P-WEB-GONE", "");

        JsonNode status = status("n-web-gone", deviceId);
        assertEquals("invalid-token", status.path("outcome").asText());
        assertEquals(410, status.path("status").asInt());
        assertEquals(404, delete(deviceId).statusCode(), "the device is no longer registered");
    }

    @Test
    void apnsPushesCarryAValidProviderTokenAndAnUnregisteredTokenIsRemoved() throws Exception {
        HttpResponse<String> ok = register("{\"platform\":\"apns\",\"token\":\"" + APNS_TOKEN + "\",\"staffId\":\"nurse-7\"}");
        assertEquals(201, ok.statusCode(), ok.body());
        HttpResponse<String> expired = register("{\"platform\":\"apns\",\"token\":\"" + APNS_EXPIRED
                + "\",\"staffId\":\"nurse-8\"}");
        String expiredId = JSON.readTree(expired.body()).path("id").asText();

        notify("medication", "n-apns-1", "staff/nurse-7", "");
        notify("medication", "n-apns-2", "staff/nurse-8", "");

        await().atMost(Duration.ofSeconds(30)).until(() -> apnsAccepted.stream()
                .anyMatch(n -> n.getPayload().contains("n-apns-1")));
        ApnsPushNotification n = apnsAccepted.stream().filter(a -> a.getPayload().contains("n-apns-1")).findFirst()
                .orElseThrow();
        assertEquals(APNS_TOKEN, n.getToken());
        assertEquals(APNS_TOPIC, n.getTopic());
        JsonNode payload = JSON.readTree(n.getPayload());
        assertEquals("You have a medication update", payload.path("aps").path("alert").path("body").asText());
        assertEquals("/portal/medications?notification=n-apns-1", payload.path("url").asText());

        JsonNode gone = status("n-apns-2", expiredId);
        assertEquals("invalid-token", gone.path("outcome").asText());
        assertEquals("Unregistered", gone.path("reason").asText());
        assertTrue(apnsRejected.contains("UNREGISTERED"), "MockApnsServer rejected: " + apnsRejected);
        assertEquals(404, delete(expiredId).statusCode(), "the expired APNs token is no longer registered");
    }

    @Test
    void fcmPushesUseAServiceAccountTokenAndTheV1ShapeAndUnregisteredTokensAreRemoved() throws Exception {
        String token = "fcm-token-" + "a".repeat(40);
        String gone = "fcm-token-" + "b".repeat(40);
        fcm.unregister(gone);
        assertEquals(201, register("{\"platform\":\"fcm\",\"token\":\"" + token + "\",\"patientId\":\"P-FCM-1\"}")
                .statusCode());
        String goneId = JSON.readTree(register("{\"platform\":\"fcm\",\"token\":\"" + gone
                + "\",\"patientId\":\"P-FCM-2\"}").body()).path("id").asText();

        notify("appointment", "n-fcm-1", "patient/P-FCM-1", "");
        notify("appointment", "n-fcm-2", "patient/P-FCM-2", "");

        await().atMost(Duration.ofSeconds(30)).until(() -> fcm.accepted.stream()
                .anyMatch(m -> m.path("data").path("notificationId").asText().equals("n-fcm-1")));
        JsonNode m = fcm.accepted.stream().filter(a -> a.path("data").path("notificationId").asText().equals("n-fcm-1"))
                .findFirst().orElseThrow();
        assertEquals(token, m.path("token").asText());
        assertEquals("Appointment update", m.path("notification").path("title").asText());
        assertEquals("invalid-token", status("n-fcm-2", goneId).path("outcome").asText());
        assertEquals(404, delete(goneId).statusCode());
        assertTrue(fcm.refused.isEmpty(), "the stand-in refused: " + fcm.refused);
    }

    @Test
    void eachPatientsPushesReachOnlyThatPatientsDevices() throws Exception {
        int patients = 8;
        List<WebPushTestingService.Subscription> subs = new ArrayList<>();
        for (int i = 0; i < patients; i++) {
            WebPushTestingService.Subscription s = webPush.subscribe(vapidPublic);
            subs.add(s);
            assertEquals(201, register(webPushBody(s, "patientId", "P-ISO-" + i)).statusCode());
        }
        // interleaved: round r sends one notification to every patient
        for (int r = 0; r < 3; r++) {
            for (int i = 0; i < patients; i++) {
                notify(r % 2 == 0 ? "result" : "medication", "n-iso-" + i + "-" + r, "patient/P-ISO-" + i, "");
            }
        }
        for (int i = 0; i < patients; i++) {
            WebPushTestingService.Subscription s = subs.get(i);
            await().atMost(Duration.ofSeconds(30)).until(() -> webPush.messages(s).size() >= 3);
            for (JsonNode m : webPush.messages(s)) {
                assertTrue(m.path("notificationId").asText().startsWith("n-iso-" + i + "-"),
                        "patient " + i + " received " + m.path("notificationId").asText());
            }
            assertEquals(3, webPush.messages(s).size());
        }
    }

    @Test
    void aLabResultReachesThePortalAsFhirAndThePatientsBrowserAndHeldClassesWaitForTheirRelease() throws Exception {
        WebPushTestingService.Subscription normalPatient = webPush.subscribe(vapidPublic);
        assertEquals(201, register(webPushBody(normalPatient, "patientId", "MRN100004")).statusCode());
        WebPushTestingService.Subscription criticalPatient = webPush.subscribe(vapidPublic);
        assertEquals(201, register(webPushBody(criticalPatient, "patientId", "MRN100002")).statusCode());
        long criticalSent;
        try (HapiSender lis = new HapiSender(env.labResultsPort())) {
            assertEquals("AA", lis.send(lis.parse(Hl7Samples.load("oru-r01-normal.hl7", "PORTAL-N1"))));
            criticalSent = System.currentTimeMillis();
            assertEquals("AA", lis.send(lis.parse(Hl7Samples.load("oru-r01.hl7", "PORTAL-C1"))));
        }

        // a normal result: on the portal topic as FHIR R4, keyed by patient, and a push without its content
        ConsumerRecord<String, byte[]> normal = env.topics().awaitRecords("patient.portal.results",
                r -> "MRN100004".equals(r.key()), 1).get(0);
        Bundle bundle = FhirR4.context().newJsonParser().parseResource(Bundle.class,
                new String(normal.value(), StandardCharsets.UTF_8));
        DiagnosticReport report = (DiagnosticReport) bundle.getEntry().get(0).getResource();
        assertEquals("Patient/MRN100004", report.getSubject().getReference());
        assertEquals(3, report.getResult().size());
        Observation glucose = (Observation) bundle.getEntry().get(1).getResource();
        assertEquals("2345-7", glucose.getCode().getCodingFirstRep().getCode());
        assertEquals(0, ((Quantity) glucose.getValue()).getValue().compareTo(new java.math.BigDecimal("88")));
        assertEquals("mg/dL", ((Quantity) glucose.getValue()).getUnit());
        await().atMost(Duration.ofSeconds(30)).until(() -> !webPush.messages(normalPatient).isEmpty());
        JsonNode push = webPush.messages(normalPatient).get(0);
        assertEquals("You have a new result", push.path("body").asText());
        assertFalse(push.toString().contains("MRN100004") || push.toString().contains("Glucose"), push.toString());

        // a critical result is held back: released only after the configured delay, then pushed
        List<ConsumerRecord<String, byte[]>> held = env.topics().awaitRecords("engagement.portal.held",
                r -> "MRN100002".equals(r.key()), 1);
        assertTrue(Long.parseLong(KafkaTopicReader.header(held.get(0), "portal_release_at"))
                >= criticalSent + RELEASE_DELAY_MS);
        ConsumerRecord<String, byte[]> released = env.topics().awaitRecords("patient.portal.results",
                r -> "MRN100002".equals(r.key()), 1).get(0);
        assertTrue(released.timestamp() >= criticalSent + RELEASE_DELAY_MS,
                "released " + (released.timestamp() - criticalSent) + " ms after the result");
        await().atMost(Duration.ofSeconds(30)).until(() -> !webPush.messages(criticalPatient).isEmpty());
        assertEquals(1, webPush.messages(normalPatient).size(), "the other patient got no second push");
        assertEquals(List.of(), logs.linesContaining(List.of("MRN100004", "MRN100002", "Glucose", "Potassium",
                normalPatient.p256dh(), normalPatient.auth())), "no patient id, result or push key in the log");
    }

    @Test
    void dispensesAndAppointmentsReachThePortalAsFhirAndRaiseTheirPushes() throws Exception {
        WebPushTestingService.Subscription s = webPush.subscribe(vapidPublic);
        assertEquals(201, register(webPushBody(s, "patientId", "MRN100008")).statusCode());
        producer.send(new ProducerRecord<>("pharmacy.dispensing.refill", "MRN100008",
                Hl7Samples.load("rds-o13-new.hl7", "PORTAL-RX1").getBytes(StandardCharsets.ISO_8859_1))).get();
        producer.send(new ProducerRecord<>("hl7.siu.s15", "MRN100008", Hl7Samples.load("siu-s12.hl7", "PORTAL-S1")
                .replace("SIU^S12^SIU_S12", "SIU^S15^SIU_S15").replace("MRN100004", "MRN100008")
                .getBytes(StandardCharsets.ISO_8859_1))).get();

        ConsumerRecord<String, byte[]> rx = env.topics().awaitRecords("patient.portal.medications",
                r -> "MRN100008".equals(r.key()), 1).get(0);
        MedicationDispense dispense = (MedicationDispense) FhirR4.context().newJsonParser().parseResource(Bundle.class,
                new String(rx.value(), StandardCharsets.UTF_8)).getEntryFirstRep().getResource();
        assertEquals("00071015523", dispense.getMedicationCodeableConcept().getCodingFirstRep().getCode());
        assertEquals("RF", dispense.getType().getCodingFirstRep().getCode());
        assertEquals(0, dispense.getQuantity().getValue().compareTo(new java.math.BigDecimal("60")));
        assertEquals("Patient/MRN100008", dispense.getSubject().getReference());

        ConsumerRecord<String, byte[]> apt = env.topics().awaitRecords("patient.portal.appointments",
                r -> "MRN100008".equals(r.key()), 1).get(0);
        Appointment appointment = (Appointment) FhirR4.context().newJsonParser().parseResource(Bundle.class,
                new String(apt.value(), StandardCharsets.UTF_8)).getEntryFirstRep().getResource();
        assertEquals(Appointment.AppointmentStatus.CANCELLED, appointment.getStatus());
        assertEquals("APT5001", appointment.getIdentifierFirstRep().getValue());
        assertEquals(30, appointment.getMinutesDuration());
        assertEquals("Patient/MRN100008", appointment.getParticipantFirstRep().getActor().getReference());

        await().atMost(Duration.ofSeconds(30)).until(() -> webPush.messages(s).size() >= 2);
        assertEquals(Set.of("medication", "appointment"), Set.copyOf(webPush.messages(s).stream()
                .map(m -> m.path("type").asText()).toList()));

        // the push notification events the portal publisher wrote are valid under the registered payload schema
        for (String type : List.of("medication", "appointment")) {
            ConsumerRecord<String, byte[]> event = env.topics().awaitRecords("notifications.push." + type,
                    r -> "patient/MRN100008".equals(r.key()), 1).get(0);
            ObjectNode notification = PayloadSchemaCheck.parse(event.value());
            assertEquals("patient.portal." + (type.equals("medication") ? "medications" : "appointments"),
                    notification.path("portalTopic").asText());
            PayloadSchemaCheck.of("cmm.notification.push.v1")
                    .valid(notification)
                    .invalidAfter(notification, n -> n.remove("notificationId"), "notificationId is always written");
        }
    }

    @Test
    void badRegistrationsAreRefusedWithTheReason() throws Exception {
        WebPushTestingService.Subscription s = webPush.subscribe(vapidPublic);
        assertRefused("{\"platform\":\"sms\",\"token\":\"x\",\"patientId\":\"P1\"}", "platform must be webpush, apns or fcm");
        assertRefused("{\"platform\":\"apns\",\"token\":\"not-hex\",\"patientId\":\"P1\"}", "token must be an APNs device token (hex)");
        assertRefused("{\"platform\":\"apns\",\"token\":\"" + APNS_TOKEN + "\",\"patientId\":\"P1\",\"staffId\":\"S1\"}",
                "exactly one of patientId and staffId is required");
        assertRefused(webPushBody(s, "patientId", "P1").replace("localhost", "evil.example.org"),
                "subscription.endpoint is not on an allowed push service");
        assertRefused(webPushBody(s, "patientId", "P1").replace(s.p256dh(), "BAAA" + s.p256dh().substring(4)),
                "subscription.keys.p256dh is not a P-256 public key");
        assertRefused("not json", "body is not JSON");
    }

    @Test
    void malformedNotificationsAreDeadLetteredWithTheReason() throws Exception {
        producer.send(new ProducerRecord<>("notifications.push.result", "k-bad-1",
                "{\"notificationId\":\"n-bad-1\",\"recipient\":\"P1\"}".getBytes(StandardCharsets.UTF_8))).get();
        producer.send(new ProducerRecord<>("notifications.push.result", "k-bad-2",
                "garbage".getBytes(StandardCharsets.UTF_8))).get();
        producer.send(new ProducerRecord<>("notifications.push.result", "k-bad-3",
                "{\"recipient\":\"patient/P1\"}".getBytes(StandardCharsets.UTF_8))).get();
        producer.send(new ProducerRecord<>("notifications.push.result", "k-bad-4",
                "[\"patient/P1\"]".getBytes(StandardCharsets.UTF_8))).get();
        producer.send(new ProducerRecord<>("notifications.push.result", "k-bad-5",
                "{\"notificationId\":\"n-bad-5\"}".getBytes(StandardCharsets.UTF_8))).get();
        List<ConsumerRecord<String, byte[]>> dead = env.topics().awaitRecords("delivery.dlq",
                r -> r.key() != null && r.key().startsWith("k-bad-"), 5);
        Map<String, String> reasons = new HashMap<>();
        dead.forEach(r -> reasons.put(r.key(), KafkaTopicReader.header(r, "dlq_reason")));
        assertEquals("recipient must be patient/<id> or staff/<id>", reasons.get("k-bad-1"));
        assertEquals("notification record is not JSON", reasons.get("k-bad-2"));
        assertEquals("notification without notificationId (and without ce_id)", reasons.get("k-bad-3"));
        assertEquals("notification record is not a JSON object", reasons.get("k-bad-4"));
        assertEquals("notification without a recipient", reasons.get("k-bad-5"));
    }

    @Test
    void aNotificationForAnUnknownPatientReachesNoDeviceAndIsReportedAsSuch() throws Exception {
        WebPushTestingService.Subscription someone = webPush.subscribe(vapidPublic);
        assertEquals(201, register(webPushBody(someone, "patientId", "MRN100020")).statusCode());
        notify("result", "n-unknown-1", "patient/MRN-NOBODY-1", "");
        JsonNode s = JSON.readTree(env.topics().awaitRecords(STATUS, x -> "n-unknown-1".equals(x.key()), 1).get(0)
                .value());
        assertEquals("no-device", s.path("outcome").asText());
        assertFalse(s.has("recipient"), "the status names no recipient");
        assertTrue(env.topics().readAll("delivery.dlq").stream().noneMatch(r -> "patient/MRN-NOBODY-1".equals(r.key())),
                "an unknown patient is not an error");
        assertTrue(webPush.messages(someone).isEmpty(), "nobody else got it");
    }

    private static void assertRefused(String body, String reason) throws Exception {
        HttpResponse<String> r = register(body);
        assertEquals(400, r.statusCode(), r.body());
        assertEquals(reason, JSON.readTree(r.body()).path("error").asText());
    }

    private static JsonNode status(String notificationId, String deviceId) throws Exception {
        ConsumerRecord<String, byte[]> r = env.topics().awaitRecords(STATUS, x -> notificationId.equals(x.key())
                && new String(x.value(), StandardCharsets.UTF_8).contains(deviceId), 1).get(0);
        return JSON.readTree(r.value());
    }

    private static void notify(String type, String id, String recipient, String extra) throws Exception {
        String json = "{\"notificationId\":\"" + id + "\",\"recipient\":\"" + recipient + "\""
                + (extra.isEmpty() ? "" : "," + extra) + "}";
        producer.send(new ProducerRecord<>("notifications.push." + type, recipient,
                json.getBytes(StandardCharsets.UTF_8))).get();
    }

    private static String webPushBody(WebPushTestingService.Subscription s, String field, String id) {
        return JSON.createObjectNode().put("platform", "webpush").put(field, id).set("subscription",
                JSON.createObjectNode().put("endpoint", s.endpoint()).set("keys",
                        JSON.createObjectNode().put("p256dh", s.p256dh()).put("auth", s.auth()))).toString();
    }

    private static HttpResponse<String> register(String body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + env.httpPort() + "/engagement/devices"))
                .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> delete(String deviceId) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + env.httpPort()
                + "/engagement/devices/" + deviceId)).timeout(Duration.ofSeconds(30)).DELETE().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                .encodeToString(der) + "\n-----END " + type + "-----\n";
    }

    private static byte[] bytes(int n, int seed) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) (0x10 + seed));
        b[0] = (byte) seed;
        return b;
    }
}
