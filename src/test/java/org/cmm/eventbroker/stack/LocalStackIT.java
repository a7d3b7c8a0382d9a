package org.cmm.eventbroker.stack;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.DataInputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;

import jakarta.mail.Folder;
import jakarta.mail.Message;
import jakarta.mail.Session;
import jakarta.mail.Store;
import jakarta.mail.Transport;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeMessage;
import ca.uhn.fhir.rest.client.api.IGenericClient;
import org.cmm.eventbroker.fhir.FhirR4;
import org.cmm.eventbroker.dev.EmbeddedKafkaBroker;
import org.cmm.eventbroker.testsupport.FreePorts;
import org.cmm.eventbroker.testsupport.HapiSender;
import org.cmm.eventbroker.testsupport.Hl7Samples;
import org.cmm.eventbroker.testsupport.OrderMessages;
import org.cmm.eventbroker.testsupport.TestPeers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.IdType;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Subscription;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The local stack as a developer starts it (mvn -Pstack verify), on free loopback ports and temporary folders: every
 * peer answers its real protocol (FHIR REST, S3 with the AWS SDK v2, SMTP and IMAP, MQTT, MLLP, Hawtio's page), and
 * the runtime started inside it delivers a lab order to the LIS stand-in. The MQTT check is skipped where mosquitto is
 * not installed.
 */
class LocalStackIT {

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private static Path folder;
    private static Path postgresFolder;
    private static LocalStack stack;
    private static final Map<String, String> SETTINGS = new HashMap<>();

    @BeforeAll
    static void startTheStack() throws Exception {
        folder = Files.createTempDirectory("cmm-local-stack");
        for (String key : new String[] {"cmm.stack.fhir.port", "cmm.stack.s3.port", "cmm.stack.smtp.port",
                "cmm.stack.imap.port", "cmm.stack.mqtt.port", "cmm.stack.hawtio.port", "cmm.lab.lis.port",
                "cmm.pharmacy.system.port", "cmm.ehr.mllp.port", "cmm.mllp.port", "cmm.lab.results.port",
                "cmm.pharmacy.dispensing.port", "camel.server.port", "camel.management.port", "cmm.fhir.subscription.websocket.port",
                "cmm.kafka.embedded.port", "cmm.kafka.embedded.controller-port"}) {
            SETTINGS.put(key, String.valueOf(FreePorts.next()));
        }
        SETTINGS.put("cmm.stack.s3.data-dir", folder.resolve("s3").toString());
        SETTINGS.put("cmm.stack.work-dir", folder.resolve("stack").toString());
        SETTINGS.put("cmm.kafka.embedded.data-dir", folder.resolve("kafka").toString());
        SETTINGS.put("camel.main.jmx-enabled", "false");
        // the warehouse's PostgreSQL (issue 14): a folder of its own, so the postgres user can reach it when CI is root
        postgresFolder = Files.createTempDirectory("cmm-local-stack-postgres");
        SETTINGS.put("cmm.stack.postgres.data-dir", postgresFolder.toString());
        SETTINGS.put("cmm.stack.postgres.port", String.valueOf(FreePorts.next()));
        stack = new LocalStack(SETTINGS).start();
    }

    @AfterAll
    static void stopTheStack() throws Exception {
        if (stack != null) {
            stack.close();
        }
        EmbeddedKafkaBroker.deleteDataDir(folder);
        if (postgresFolder != null) {
            EmbeddedKafkaBroker.deleteDataDir(postgresFolder);
        }
    }

    @Test
    void anHl7MessageSentToTheRuntimeIsLoadedIntoTheStacksWarehouse() throws Exception {
        TestPeers.require("postgresql");
        assertNotNull(stack.warehouse(), "the stack starts PostgreSQL where it is installed");
        try (HapiSender sender = new HapiSender(Integer.parseInt(SETTINGS.get("cmm.mllp.port")))) {
            assertEquals("AA", sender.send(sender.parse(Hl7Samples.load("adt-a01.hl7", "STACK-WAREHOUSE-1"))));
        }
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).ignoreExceptions().until(() -> {
            try (java.sql.Connection c = java.sql.DriverManager.getConnection(stack.warehouse().jdbcUrl(),
                    stack.warehouse().user(), "");
                    java.sql.ResultSet rs = c.createStatement().executeQuery("SELECT count(*) FROM fact_encounter_event"
                            + " WHERE kafka_topic = 'hl7.adt.a01' AND trigger_event = 'A01'")) {
                rs.next();
                return rs.getInt(1) == 1;
            }
        });
    }

    @Test
    void fhirServerAnswersWithItsCapabilityStatementAndStoresAPatient() throws Exception {
        HttpResponse<String> metadata = get(stack.fhir().baseUrl() + "/metadata");
        assertEquals(200, metadata.statusCode());
        assertTrue(metadata.body().contains("\"resourceType\":\"CapabilityStatement\""), metadata.body());
        for (String type : new String[] {"Patient", "Observation", "ServiceRequest", "MedicationRequest",
                "Subscription", "Encounter"}) {
            assertTrue(metadata.body().contains("\"type\":\"" + type + "\""), type + " is served");
        }
        HttpResponse<String> created = HTTP.send(HttpRequest.newBuilder(URI.create(stack.fhir().baseUrl() + "/Patient"))
                .header("Content-Type", "application/fhir+json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"Test\"}]}"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(201, created.statusCode());
        String location = created.headers().firstValue("Location").orElseThrow();
        assertEquals(200, get(location).statusCode());
    }

    @Test
    void s3StoreKeepsAnObjectInTheDataLakeBucketForTheAwsSdk() {
        try (S3Client s3 = S3Client.builder()
                .endpointOverride(URI.create(stack.s3().endpoint()))
                .region(Region.US_EAST_1)
                .forcePathStyle(true)
                .credentialsProvider(StaticCredentialsProvider.create(
                        AwsBasicCredentials.create("cmm-local", "cmm-local-secret")))
                .build()) {
            byte[] content = "{\"check\":\"local stack\"}".getBytes(StandardCharsets.UTF_8);
            s3.putObject(b -> b.bucket("cmm-data-lake").key("checks/object.json").contentType("application/json"),
                    RequestBody.fromBytes(content));
            byte[] read = s3.getObjectAsBytes(b -> b.bucket("cmm-data-lake").key("checks/object.json")).asByteArray();
            assertArrayEquals(content, read);
        }
    }

    @Test
    void mailSentOverSmtpCanBeReadOverImap() throws Exception {
        Properties smtp = new Properties();
        smtp.put("mail.smtp.host", "127.0.0.1");
        smtp.put("mail.smtp.port", SETTINGS.get("cmm.stack.smtp.port"));
        MimeMessage mail = new MimeMessage(Session.getInstance(smtp));
        mail.setFrom(new InternetAddress("broker@cmm.local"));
        mail.setRecipient(Message.RecipientType.TO, new InternetAddress("ops@cmm.local"));
        mail.setSubject("local stack check");
        mail.setText("check");
        Transport.send(mail);

        Store imap = Session.getInstance(new Properties()).getStore("imap");
        imap.connect("127.0.0.1", Integer.parseInt(SETTINGS.get("cmm.stack.imap.port")), "ops@cmm.local", "ops@cmm.local");
        try {
            await().atMost(Duration.ofSeconds(10)).until(() -> {
                Folder inbox = imap.getFolder("INBOX");
                inbox.open(Folder.READ_ONLY);
                try {
                    for (Message m : inbox.getMessages()) {
                        if ("local stack check".equals(m.getSubject())) {
                            return true;
                        }
                    }
                    return false;
                } finally {
                    inbox.close(false);
                }
            });
        } finally {
            imap.close();
        }
    }

    @Test
    void mqttBrokerAcceptsAConnection() throws Exception {
        TestPeers.require("mosquitto");
        assertTrue(stack.mqtt() != null, "the stack started mosquitto");
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", Integer.parseInt(SETTINGS.get("cmm.stack.mqtt.port"))), 5000);
            socket.setSoTimeout(5000);
            // MQTT 3.1.1 CONNECT, clean session, keep-alive 60 s, client id "cmm"
            byte[] connect = {0x10, 15, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 60, 0, 3, 'c', 'm', 'm'};
            OutputStream out = socket.getOutputStream();
            out.write(connect);
            out.flush();
            byte[] connack = new byte[4];
            new DataInputStream(socket.getInputStream()).readFully(connack);
            assertArrayEquals(new byte[] {0x20, 2, 0, 0}, connack, "CONNACK, connection accepted");
        }
    }

    @Test
    void eachHl7StandInAnswersAa() throws Exception {
        assertEquals(3, stack.standIns().size());
        for (Hl7StandInPeer peer : stack.standIns().values()) {
            try (HapiSender sender = new HapiSender(peer.port())) {
                String message = OrderMessages.labOrder("STACK-" + peer.name(), "STACK-P1");
                assertEquals("AA", sender.send(sender.parse(message)), peer.name());
            }
        }
    }

    @Test
    void anHl7MessageSentToTheRuntimeLandsInTheStacksDataLake() throws Exception {
        try (HapiSender sender = new HapiSender(Integer.parseInt(SETTINGS.get("cmm.mllp.port")))) {
            assertEquals("AA", sender.send(sender.parse(Hl7Samples.load("adt-a01.hl7", "STACK-LAKE-1"))));
        }
        try (S3Client s3 = S3Client.builder()
                .endpointOverride(URI.create(stack.s3().endpoint()))
                .forcePathStyle(true)
                .region(Region.US_EAST_1)
                .credentialsProvider(StaticCredentialsProvider.create(
                        AwsBasicCredentials.create("cmm-local", "cmm-local-secret")))
                .build()) {
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).until(() -> s3
                    .listObjectsV2(b -> b.bucket("cmm-data-lake").prefix("events/topic=hl7.adt.a01/")).contents()
                    .stream().anyMatch(o -> o.key().endsWith(".parquet")));
        }
    }

    @Test
    void theRuntimeInsideTheStackDeliversALabOrderToTheLisStandIn() throws Exception {
        Hl7StandInPeer lis = stack.standIns().get("LIS");
        long before = lis.received();
        try (OrderMessages orders = new OrderMessages(stack.runtime().bootstrapServers())) {
            orders.publish("lab.orders.chemistry", "STACK-P2", OrderMessages.labOrder("STACK-ORDER-1", "STACK-P2"));
        }
        await().atMost(Duration.ofSeconds(60)).until(() -> lis.received() > before);
        HttpResponse<String> ready = get("http://127.0.0.1:" + SETTINGS.get("camel.management.port")
                + "/observe/health/ready");
        assertEquals(200, ready.statusCode(), ready.body());
    }

    @Test
    void aSubscriptionCreatedOnTheStacksFhirServerIsActivatedAndMailsItsMatchesThroughTheStacksSmtpServer() {
        IGenericClient fhir = FhirR4.client(stack.fhir().baseUrl(), 5_000, 15_000);
        Subscription s = new Subscription();
        s.setId(new IdType("Subscription", "stack-mail"));
        s.setStatus(Subscription.SubscriptionStatus.REQUESTED);
        s.setReason("local stack");
        s.setCriteria("Observation?code=http://loinc.org|8867-4");
        s.getChannel().setType(Subscription.SubscriptionChannelType.EMAIL).setEndpoint("mailto:stack-ward@cmm.local");
        fhir.update().resource(s).execute();
        // the runtime follows the server's _history (cmm.fhir.history.enabled in the stack) and activates it there
        await().atMost(Duration.ofSeconds(60)).until(() -> fhir.read().resource(Subscription.class).withId("stack-mail")
                .execute().getStatus() == Subscription.SubscriptionStatus.ACTIVE);
        // the matcher knows it once the active version came back through the history: an Observation may miss it
        // before that, so a new version is written until a mail arrives
        Observation o = new Observation();
        o.setId(new IdType("Observation", "stack-hr"));
        o.setStatus(Observation.ObservationStatus.FINAL);
        o.setCode(new CodeableConcept(new Coding("http://loinc.org", "8867-4", null)));
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(3)).until(() -> {
            fhir.update().resource(o).execute();
            return Arrays.stream(stack.mail().greenMail().getReceivedMessages()).anyMatch(m -> {
                try {
                    return m.getSubject().contains("Observation/stack-hr");
                } catch (jakarta.mail.MessagingException e) {
                    return false;
                }
            });
        });
    }

    @Test
    void hawtioPageIsServedAndPointsAtTheRuntime() throws Exception {
        String base = "http://127.0.0.1:" + SETTINGS.get("cmm.stack.hawtio.port");
        HttpResponse<String> connect = get(base + "/");
        assertEquals(200, connect.statusCode());
        assertTrue(connect.body().contains("port: " + SETTINGS.get("camel.management.port")), connect.body());
        assertEquals(200, get(base + "/hawtio/").statusCode());
    }

    @Test
    void theTableListsEveryService() {
        String table = stack.table();
        for (String expected : new String[] {stack.fhir().baseUrl(), stack.s3().endpoint(),
                "smtp://127.0.0.1:" + SETTINGS.get("cmm.stack.smtp.port"), "MQTT broker", "LIS stand-in",
                "Pharmacy stand-in", "EHR stand-in", "Hawtio", stack.runtime().bootstrapServers()}) {
            assertTrue(table.contains(expected), expected + " in\n" + table);
        }
    }

    private static HttpResponse<String> get(String url) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
