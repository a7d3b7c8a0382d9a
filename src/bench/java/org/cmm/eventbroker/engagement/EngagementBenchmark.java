package org.cmm.eventbroker.engagement;

import java.io.BufferedReader;
import java.io.InputStreamReader;
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
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import com.eatthepath.pushy.apns.auth.ApnsVerificationKey;
import com.eatthepath.pushy.apns.server.MockApnsServer;
import com.eatthepath.pushy.apns.server.MockApnsServerBuilder;
import com.eatthepath.pushy.apns.server.ValidatingPushNotificationHandlerFactory;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.HdrHistogram.Histogram;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.cmm.eventbroker.engagement.push.ApnsSender;
import org.cmm.eventbroker.engagement.push.FcmSender;
import org.cmm.eventbroker.engagement.push.PushMessage;
import org.cmm.eventbroker.engagement.push.PushResult;
import org.cmm.eventbroker.engagement.push.PushSender;
import org.cmm.eventbroker.engagement.push.Vapid;
import org.cmm.eventbroker.engagement.push.WebPushSender;
import javax.net.ssl.SSLContext;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.cmm.eventbroker.platform.security.http.KeycloakIssuer;
import org.cmm.eventbroker.platform.security.mllp.TestPki;
import org.cmm.eventbroker.testsupport.FreePorts;
import org.cmm.eventbroker.testsupport.HapiSender;
import org.cmm.eventbroker.testsupport.Hl7Samples;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;

/**
 * The engagement benchmark of issue 16 (not a test; docs/engagement.md): (1) pushes per second from
 * {@code notifications.push.result} to the local push peers, per platform: the npm web-push-testing service (VAPID
 * checked, every message decrypted), Pushy's MockApnsServer (provider token validated) and {@link FcmStandIn} (a
 * stand-in for FCM: OAuth grant and v1 shape checked); a push counts when its {@code accepted} outcome is on the status
 * topic; (2) end-to-end latency from the AA of a lab result (ORU^R01 over MLLP) to the patient's SSE event on
 * {@code /patient/streams/results} (the portal flow's FHIR Bundle, filtered to the token's patient), one result at a
 * time, as a distribution (p50/p99/max). Access control on, tokens from the test realm's Keycloak.
 *
 * <pre>
 * mvn -B -o -q -Pbench -DskipTests test-compile dependency:build-classpath -Dmdep.outputFile=target/bench.cp -Dmdep.includeScope=test
 * mvn -B -o -q dependency:unpack@keycloak-dist   # or any earlier IT run, which unpacks Keycloak into target/keycloak
 * java -Xmx1g -Dbench.notifications=200 -Dbench.devices=5 -Dbench.results=200 \
 *   -cp target/classes:target/test-classes:$(cat target/bench.cp) org.cmm.eventbroker.engagement.EngagementBenchmark
 * </pre>
 */
public final class EngagementBenchmark {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String APNS_TOPIC = "org.cmm.patient-app";
    private static final String TEAM = "TEAMID1234";
    private static final String KEY_ID = "KEYID12345";

    private EngagementBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int notifications = Integer.getInteger("bench.notifications", 200);
        int devices = Integer.getInteger("bench.devices", 5);
        int results = Integer.getInteger("bench.results", 200);
        Path dir = Files.createTempDirectory("engagement-bench");
        KeycloakIssuer keycloak = KeycloakIssuer.shared();
        try (WebPushTestingService webPush = new WebPushTestingService()) {
            String[] vapid = Vapid.generateKeys();
            TestPki pki = TestPki.create(dir, "bench-peers");
            Path peerStore = pki.issue("peers", "CN=localhost", "ip:127.0.0.1,dns:localhost");
            KeyStore ks = KeyStore.getInstance("PKCS12");
            try (var in = Files.newInputStream(peerStore)) {
                ks.load(in, TestPki.PASSWORD.toCharArray());
            }
            Certificate[] chain = ks.getCertificateChain("peers");
            PrivateKey peerKey = (PrivateKey) ks.getKey("peers", TestPki.PASSWORD.toCharArray());
            KeyPairGenerator ec = KeyPairGenerator.getInstance("EC");
            ec.initialize(new ECGenParameterSpec("secp256r1"));
            KeyPair apnsKey = ec.generateKeyPair();
            Path p8 = dir.resolve("AuthKey.p8");
            Files.writeString(p8, pem(apnsKey.getPrivate().getEncoded()));
            ApnsVerificationKey verification = new ApnsVerificationKey(KEY_ID, TEAM, (ECPublicKey) apnsKey.getPublic());
            Set<String> apnsTokens = new HashSet<>();
            for (int i = 0; i < devices; i++) {
                byte[] b = new byte[32];
                Arrays.fill(b, (byte) (0x20 + i));
                apnsTokens.add(HexFormat.of().formatHex(b));
            }
            MockApnsServer apns = new MockApnsServerBuilder()
                    .setServerCredentials(Arrays.copyOf(chain, chain.length, X509Certificate[].class), peerKey, null)
                    .setHandlerFactory(new ValidatingPushNotificationHandlerFactory(Map.of(APNS_TOPIC, apnsTokens),
                            Map.of(), Map.of(KEY_ID, verification), Map.of(verification, Set.of(APNS_TOPIC))))
                    .build();
            int apnsPort = FreePorts.next();
            apns.start(apnsPort).get();
            KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
            rsa.initialize(2048);
            KeyPair account = rsa.generateKeyPair();
            String email = "push@cmm-bench.iam.gserviceaccount.com";
            FcmStandIn fcm = new FcmStandIn(FreePorts.next(), pki.material(peerStore).serverContext(),
                    (RSAPublicKey) account.getPublic(), email, "cmm-bench");
            Path serviceAccount = dir.resolve("service-account.json");
            Files.writeString(serviceAccount, JSON.createObjectNode().put("type", "service_account")
                    .put("project_id", "cmm-bench").put("private_key_id", "k1")
                    .put("private_key", pem(account.getPrivate().getEncoded()))
                    .put("client_email", email).put("token_uri", fcm.baseUri() + "/token").toString());
            Path bindings = dir.resolve("kafka-role-bindings.conf");
            Files.writeString(bindings, "# none: the bench reads through the patient streams\n");

            Map<String, String> p = new HashMap<>();
            p.put("cmm.access.enabled", "true");
            p.put("cmm.security.oidc.issuer", keycloak.issuer());
            p.put("cmm.kafka.security.role-bindings", bindings.toString());
            p.put("cmm.engagement.devices.max-per-recipient", String.valueOf(Math.max(10, devices)));
            p.put("cmm.engagement.devices.allow-http-endpoints", "true");
            p.put("cmm.engagement.devices.webpush-hosts", "localhost");
            p.put("cmm.engagement.push.rate-limit.max", "1000000000");
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
            try (RuntimeUnderTest env = RuntimeUnderTest.flows("push-device-registration", "push-notification-delivery",
                    "lab-results-mllp-inbound", "patient-portal-results", "realtime-streams", "event-api").with(p).start()) {
                HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
                String base = "http://127.0.0.1:" + env.httpPort();
                // one patient per platform, each with `devices` devices
                String webPushToken = keycloak.clientToken("patient-app-2");
                List<DeviceRegistration> webPushDevices = new ArrayList<>();
                List<DeviceRegistration> apnsDevices = new ArrayList<>();
                List<DeviceRegistration> fcmDevices = new ArrayList<>();
                for (int i = 0; i < devices; i++) {
                    WebPushTestingService.Subscription s = webPush.subscribe(vapid[0]);
                    webPushDevices.add(new DeviceRegistration("bench-wp-" + i, PushPlatform.WEBPUSH,
                            Recipient.of("patient", "MRN90002").orElseThrow(), null, s.endpoint(), s.p256dh(), s.auth(),
                            java.time.Instant.now().toString()));
                    register(http, base, webPushToken, JSON.createObjectNode().put("platform", "webpush")
                            .put("patientId", "MRN90002").set("subscription", JSON.createObjectNode()
                                    .put("endpoint", s.endpoint()).set("keys", JSON.createObjectNode()
                                            .put("p256dh", s.p256dh()).put("auth", s.auth()))).toString());
                }
                String apnsOwner = keycloak.clientToken("patient-app-3");
                for (String t : apnsTokens) {
                    apnsDevices.add(new DeviceRegistration("bench-apns-" + t.substring(0, 8), PushPlatform.APNS,
                            Recipient.of("patient", "MRN90003").orElseThrow(), t, null, null, null,
                            java.time.Instant.now().toString()));
                    register(http, base, apnsOwner, "{\"platform\":\"apns\",\"token\":\"" + t
                            + "\",\"patientId\":\"MRN90003\"}");
                }
                String fcmOwner = keycloak.clientToken("patient-app-4");
                for (int i = 0; i < devices; i++) {
                    fcmDevices.add(new DeviceRegistration("bench-fcm-" + i, PushPlatform.FCM,
                            Recipient.of("patient", "MRN90004").orElseThrow(), "bench-fcm-token-" + i
                                    + "-abcdefghijklmnop", null, null, null, java.time.Instant.now().toString()));
                    register(http, base, fcmOwner, "{\"platform\":\"fcm\",\"token\":\"bench-fcm-token-" + i
                            + "-abcdefghijklmnop\",\"patientId\":\"MRN90004\"}");
                }
                try (org.apache.kafka.clients.admin.Admin admin = KafkaClients.forBootstrap(env.bootstrapServers())
                        .admin("engagement-bench", Map.of())) {
                    // the status topic exists before the bench reads it from its end
                    // (and the portal topic: a patient stream of a topic that does not exist yet answers 404)
                    admin.createTopics(List.of(new org.apache.kafka.clients.admin.NewTopic("notifications.push.status",
                            1, (short) 1), new org.apache.kafka.clients.admin.NewTopic("patient.portal.results", 1,
                            (short) 1))).all().get(30, TimeUnit.SECONDS);
                } catch (java.util.concurrent.ExecutionException e) {
                    // already created by the service
                }
                KafkaProducer<String, byte[]> producer = KafkaClients.forBootstrap(env.bootstrapServers())
                        .producer("engagement-bench", Map.of());
                System.out.printf("Pushes to the local peers: %d notifications x %d devices per platform%n",
                        notifications, devices);
                pushes(env, producer, "webpush", "MRN90002", notifications, devices);
                pushes(env, producer, "apns", "MRN90003", notifications, devices);
                pushes(env, producer, "fcm", "MRN90004", notifications, devices);
                // the baseline, same run: the runtime's own sender classes called directly in a plain loop (one
                // notification to each device in turn, as one recipient's lane sends), against the same peers
                System.out.printf("Baseline: the same senders called directly, no Kafka, no service: %d x %d per platform%n",
                        notifications, devices);
                SSLContext clientTls = pki.material(peerStore).clientContext();
                Duration timeout = Duration.ofSeconds(10);
                try (PushSender w = new WebPushSender(new Vapid(vapid[0], vapid[1], "mailto:bench@cmm.example"), clientTls,
                        timeout, 3600)) {
                    direct("webpush", w, webPushDevices, notifications);
                }
                try (PushSender a = new ApnsSender("127.0.0.1", apnsPort, p8.toFile(), TEAM, KEY_ID, APNS_TOPIC,
                        new X509Certificate[] {(X509Certificate) chain[chain.length - 1]}, timeout)) {
                    direct("apns", a, apnsDevices, notifications);
                }
                try (PushSender f = new FcmSender(serviceAccount, fcm.baseUri(), "", clientTls, timeout)) {
                    direct("fcm", f, fcmDevices, notifications);
                }
                latency(http, base, keycloak.clientToken("patient-app-1"), env.labResultsPort(), results);
                producer.close(Duration.ofSeconds(5));
            } finally {
                apns.shutdown().get();
                fcm.close();
            }
        }
    }

    private static void register(HttpClient http, String base, String token, String body) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/engagement/devices"))
                .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 201 && r.statusCode() != 200) {
            throw new IllegalStateException("registration refused: " + r.statusCode() + " " + r.body());
        }
    }

    /** Notifications for one patient whose devices are all on one platform; pushes/s from the first send to the last accepted. */
    private static void pushes(RuntimeUnderTest env, KafkaProducer<String, byte[]> producer, String platform,
            String patient, int notifications, int devices) throws Exception {
        String run = platform + "-" + System.nanoTime();
        try (KafkaConsumer<String, byte[]> status = KafkaClients.forBootstrap(env.bootstrapServers())
                .consumer("engagement-bench-status", null, Map.of("auto.offset.reset", "latest"))) {
            List<TopicPartition> parts = status.partitionsFor("notifications.push.status").stream()
                    .map(i -> new TopicPartition(i.topic(), i.partition())).toList();
            status.assign(parts);
            status.seekToEnd(parts);
            parts.forEach(status::position);
            long start = System.currentTimeMillis();
            for (int n = 0; n < notifications; n++) {
                producer.send(new ProducerRecord<>("notifications.push.result", "patient/" + patient,
                        ("{\"notificationId\":\"" + run + "-" + n + "\",\"recipient\":\"patient/" + patient + "\"}")
                                .getBytes(StandardCharsets.UTF_8)));
            }
            producer.flush();
            int expected = notifications * devices;
            int accepted = 0;
            int other = 0;
            long last = start;
            long deadline = System.currentTimeMillis() + Math.max(120_000, expected * 200L);
            while (accepted + other < expected && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, byte[]> r : status.poll(Duration.ofMillis(500))) {
                    if (!r.key().startsWith(run)) {
                        continue;
                    }
                    JsonNode s = JSON.readTree(r.value());
                    if ("accepted".equals(s.path("outcome").asText())) {
                        accepted++;
                        last = Math.max(last, r.timestamp());
                    } else if (!"retry".equals(s.path("outcome").asText())) {
                        other++;
                    }
                }
            }
            double seconds = Math.max(1, last - start) / 1000.0;
            System.out.printf("  %-8s %6d accepted of %d (%d other outcomes) in %.2f s: %.1f pushes/s%n", platform,
                    accepted, expected, other, seconds, accepted / seconds);
        }
    }

    /** The baseline: the sender itself in a plain loop; pushes/s of accepted outcomes. */
    private static void direct(String platform, PushSender sender, List<DeviceRegistration> devices, int notifications)
            throws Exception {
        int accepted = 0;
        int other = 0;
        long start = System.nanoTime();
        for (int n = 0; n < notifications; n++) {
            PushMessage message = new PushMessage("direct-" + platform + "-" + n, "result", "New result",
                    "You have a new result", "https://portal.example/results");
            for (DeviceRegistration d : devices) {
                if (sender.send(d, message).outcome() == PushResult.Outcome.ACCEPTED) {
                    accepted++;
                } else {
                    other++;
                }
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf("  %-8s %6d accepted of %d (%d other outcomes) in %.2f s: %.1f pushes/s%n", platform, accepted,
                accepted + other, other, seconds, accepted / seconds);
    }

    /** One lab result at a time: AA received -> the patient's SSE event received, in ms. */
    private static void latency(HttpClient http, String base, String token, int labPort, int results)
            throws Exception {
        HttpResponse<java.io.InputStream> stream = http.send(HttpRequest.newBuilder(URI.create(base
                + "/patient/streams/results")).header("Authorization", "Bearer " + token).GET().build(),
                HttpResponse.BodyHandlers.ofInputStream());
        if (stream.statusCode() != 200) {
            throw new IllegalStateException("patient stream refused: " + stream.statusCode());
        }
        BlockingQueue<Long> arrivals = new LinkedBlockingQueue<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader lines = new BufferedReader(new InputStreamReader(stream.body(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = lines.readLine()) != null) {
                    if (line.startsWith("data: ")) {
                        arrivals.add(System.nanoTime());
                    }
                }
            } catch (java.io.IOException e) {
                // closed at the end
            }
        }, "bench-sse");
        reader.setDaemon(true);
        reader.start();
        Histogram ms = new Histogram(3_600_000L, 3);
        List<Long> lost = new ArrayList<>();
        try (HapiSender lis = new HapiSender(labPort)) {
            for (int i = 0; i < results; i++) {
                String message = Hl7Samples.load("oru-r01-normal.hl7", "BENCH-" + i).replace("MRN100004", "MRN90001");
                String ack = lis.send(lis.parse(message));
                long acked = System.nanoTime();
                if (!"AA".equals(ack)) {
                    throw new IllegalStateException("result " + i + " answered " + ack);
                }
                Long arrived = arrivals.poll(60, TimeUnit.SECONDS);
                if (arrived == null) {
                    lost.add((long) i);
                    continue;
                }
                ms.recordValue(Math.max(0, TimeUnit.NANOSECONDS.toMillis(arrived - acked)));
            }
        }
        stream.body().close();
        System.out.printf("Lab result AA -> patient SSE event, one at a time, %d results: p50 %d ms, p99 %d ms, "
                + "max %d ms; not arrived within 60 s: %d%n", results, ms.getValueAtPercentile(50),
                ms.getValueAtPercentile(99), ms.getMaxValue(), lost.size());
    }

    private static String pem(byte[] der) {
        return "-----BEGIN PRIVATE KEY-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                .encodeToString(der) + "\n-----END PRIVATE KEY-----\n";
    }
}
