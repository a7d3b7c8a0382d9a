package org.cmm.eventbroker.platform.security.mllp;

import static org.awaitility.Awaitility.await;
import static org.cmm.eventbroker.testsupport.KafkaTopicReader.controlId;
import static org.cmm.eventbroker.testsupport.KafkaTopicReader.header;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Predicate;

import javax.net.ssl.SSLContext;

import ca.uhn.hl7v2.DefaultHapiContext;
import ca.uhn.hl7v2.HapiContext;
import ca.uhn.hl7v2.model.Message;
import ca.uhn.hl7v2.preparser.PreParser;
import ca.uhn.hl7v2.validation.impl.ValidationContextFactory;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.cmm.eventbroker.platform.mllp.MllpClient;
import org.cmm.eventbroker.platform.security.TlsMaterial;
import org.cmm.eventbroker.platform.security.audit.AuditEvent;
import org.cmm.eventbroker.platform.security.audit.AuditSink;
import org.cmm.eventbroker.testsupport.Hl7Samples;
import org.cmm.eventbroker.testsupport.LogCapture;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.cmm.eventbroker.testsupport.ScriptedHl7Peer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The EHR listener (routes/ehr/hl7-mllp-inbound) with MLLP over TLS switched on for every listener
 * ({@code cmm.mllp.tls.enabled}, material from {@code cmm.security.tls.*}), client certificates wanted and one
 * certificate restricted to EPIC/GENHOSP. Real peers: the runtime with its Kafka broker, HAPI's TLS client, raw
 * sockets for what HAPI would never send. Security decisions are read from an audit sink bound in the registry.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MllpOverTlsIT {

    private static final String EPIC_SUBJECT = "CN=epic-interface,O=General Hospital";
    private static final String PATIENT_MARKER = "ZEBEDEE";

    @TempDir
    static Path dir;

    private TestPki pki;
    private Path epicClient;
    private Path rogueClient;
    private TestPki rogue;
    private RuntimeUnderTest env;
    private LogCapture logs;
    private final List<AuditEvent> audit = new CopyOnWriteArrayList<>();

    @BeforeAll
    void start() throws Exception {
        pki = TestPki.create(dir, "trusted");
        Path server = pki.issue("server", "CN=localhost,O=CMM Event Broker", "ip:127.0.0.1,dns:localhost");
        epicClient = pki.issue("epic", EPIC_SUBJECT, null);
        rogue = TestPki.create(dir, "rogue");
        rogueClient = rogue.issue("rogue-client", "CN=rogue,O=Elsewhere", null);
        Path restrictions = Files.writeString(dir.resolve("senders.txt"),
                "# certificate subject | MSH-3 | MSH-4\n" + EPIC_SUBJECT + " | EPIC | GENHOSP\n");
        logs = LogCapture.attach();
        env = new RuntimeUnderTest(Map.of(
                "cmm.mllp.tls.enabled", "true",
                "cmm.mllp.tls.client-auth", "want",
                "cmm.mllp.tls.sender-restrictions-file", restrictions.toString(),
                "cmm.mllp.tls.handshake-timeout-ms", "3000",
                "cmm.security.tls.keystore", server.toString(),
                "cmm.security.tls.keystore-password", TestPki.PASSWORD,
                "cmm.security.tls.truststore", pki.truststore().toString(),
                "cmm.security.tls.truststore-password", TestPki.PASSWORD));
        env.runtime().camelContext().getRegistry().bind(AuditSink.REGISTRY_NAME, AuditSink.class,
                (AuditSink) audit::add);
    }

    @AfterAll
    void stop() throws Exception {
        if (env != null) {
            env.close();
        }
        if (logs != null) {
            logs.close();
        }
    }

    @Test
    void hapisTlsClientWithoutACertificateIsAcknowledgedAndPublished() throws Exception {
        String id = newControlId();
        assertEquals("AA", sendWithHapi(pki.clientContext(null), Hl7Samples.load("adt-a01.hl7", id)));
        assertEquals(1, env.topics().awaitRecords("hl7.adt.a01", controlId(id), 1).size());
        awaitAudit(e -> e.kind() == AuditEvent.Kind.AUTHENTICATION && e.granted() && "ANONYMOUS".equals(e.principal())
                && "no client certificate".equals(e.reason()) && "mllp".equals(e.source()));
    }

    @Test
    void aClientCertificateIsAuditedAndMaySendAsItsOwnApplication() throws Exception {
        String id = newControlId();
        assertEquals("AA", sendWithHapi(pki.clientContext(epicClient), Hl7Samples.load("adt-a01.hl7", id)));
        ConsumerRecord<String, byte[]> r = env.topics().awaitRecords("hl7.adt.a01", controlId(id), 1).get(0);
        assertEquals("EPIC", header(r, "hl7_sending_application"));
        awaitAudit(e -> e.kind() == AuditEvent.Kind.AUTHENTICATION && e.granted()
                && e.principal().contains("CN=epic-interface") && "SSL".equals(e.operation()));
    }

    @Test
    void aCertificateRestrictedToEpicSendingAsAnotherApplicationGetsArAndTheMessageIsDeadLetteredUntouched()
            throws Exception {
        String refusedId = newControlId();
        String acceptedId = newControlId();
        byte[] forged = Hl7Samples.load("adt-a01.hl7", refusedId).replace("|EPIC|GENHOSP|", "|CERNER|GENHOSP|")
                .getBytes(StandardCharsets.ISO_8859_1);
        try (MllpClient client = new MllpClient(pki.clientContext(epicClient).getSocketFactory()
                .createSocket("127.0.0.1", env.mllpPort()), 15_000)) {
            client.send(forged);
            String ack = new String(client.readFrame(), StandardCharsets.ISO_8859_1);
            assertEquals("AR", PreParser.getFields(ack, "MSA-1")[0]);
            assertTrue(ack.contains("not allowed for the client certificate"), ack);
            // the same connection goes on serving the certificate's own application
            client.send(Hl7Samples.load("adt-a01.hl7", acceptedId).getBytes(StandardCharsets.ISO_8859_1));
            assertEquals("AA", PreParser.getFields(new String(client.readFrame(), StandardCharsets.ISO_8859_1), "MSA-1")[0]);
        }
        ConsumerRecord<String, byte[]> dead = env.topics().awaitRecords("hl7.dlq",
                r -> new String(r.value(), StandardCharsets.ISO_8859_1).contains(refusedId), 1).get(0);
        assertArrayEquals(forged, dead.value(), "dead-lettered exactly as received");
        assertTrue(header(dead, "dlq_reason").contains("CERNER^GENHOSP"), header(dead, "dlq_reason"));
        env.topics().awaitRecords("hl7.adt.a01", controlId(acceptedId), 1);
        assertEquals(List.of(), env.topics().readAll("hl7.adt.a01").stream().filter(controlId(refusedId)).toList(),
                "a refused message is never published");
        awaitAudit(e -> e.kind() == AuditEvent.Kind.AUTHORIZATION && !e.granted()
                && e.principal().contains("CN=epic-interface") && "CERNER^GENHOSP".equals(e.resourceName()));
    }

    @Test
    void aPlainTcpSenderOnTheTlsPortGetsNoAckAndNothingIsPublished() throws Exception {
        String plainId = newControlId();
        try (MllpClient plain = new MllpClient("127.0.0.1", env.mllpPort(), 10_000)) {
            plain.send(Hl7Samples.load("adt-a01.hl7", plainId).getBytes(StandardCharsets.ISO_8859_1));
            assertThrows(IOException.class, plain::readFrame, "no ACK: the connection is closed");
        }
        awaitAudit(e -> e.kind() == AuditEvent.Kind.AUTHENTICATION && !e.granted()
                && e.reason() != null && e.reason().startsWith("TLS handshake failed") && "127.0.0.1".equals(e.clientAddress()));
        String witness = newControlId();
        assertEquals("AA", sendWithHapi(pki.clientContext(null), Hl7Samples.load("adt-a01.hl7", witness)));
        env.topics().awaitRecords("hl7.adt.a01", controlId(witness), 1);
        assertEquals(List.of(), env.topics().readAll("hl7.adt.a01").stream().filter(controlId(plainId)).toList());
    }

    @Test
    void handshakeGarbageIsRefusedAuditedAndTheListenerKeepsServing() throws Exception {
        int before = failedHandshakes();
        for (byte[] garbage : List.of(new byte[] {0x16, 0x03, 0x01, 0x7f, (byte) 0xff, 1, 2, 3, 4, 5},
                "GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII), new byte[0])) {
            try (Socket raw = new Socket("127.0.0.1", env.mllpPort())) {
                raw.setSoTimeout(10_000);
                OutputStream out = raw.getOutputStream();
                out.write(garbage);
                out.flush();
                // garbage: refused at once; nothing at all: refused when the handshake timeout passes
                assertTrue(raw.getInputStream().readAllBytes().length >= 0);
            } catch (IOException reset) {
                // a reset is a refusal too
            }
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> failedHandshakes() >= before + 3);
        String id = newControlId();
        assertEquals("AA", sendWithHapi(pki.clientContext(null), Hl7Samples.load("adt-a01.hl7", id)));
    }

    @Test
    void aCertificateFromAnotherCaIsNeverTakenForAnIdentity() throws Exception {
        // client certificates are wanted, not needed: an untrusted one counts as none (anonymous, restricted by
        // nothing), never as the identity it claims; MllpClientCertificateRequiredIT shows "need" refusing it
        String id = newControlId();
        // the rogue client trusts the broker's CA, so only the broker's check of the rogue certificate decides
        SSLContext rogueTrustingTheBroker = new TlsMaterial(rogueClient, TestPki.PASSWORD, pki.truststore(),
                TestPki.PASSWORD).clientContext();
        try (MllpClient client = new MllpClient(rogueTrustingTheBroker.getSocketFactory()
                .createSocket("127.0.0.1", env.mllpPort()), 10_000)) {
            client.send(Hl7Samples.load("adt-a01.hl7", id).getBytes(StandardCharsets.ISO_8859_1));
            assertEquals("AA", PreParser.getFields(new String(client.readFrame(), StandardCharsets.ISO_8859_1), "MSA-1")[0]);
        }
        env.topics().awaitRecords("hl7.adt.a01", controlId(id), 1);
        assertTrue(audit.stream().noneMatch(e -> e.principal().contains("CN=rogue")), audit.toString());
    }

    @Test
    void noPatientDataInTheLogs() throws Exception {
        hapisTlsClientWithoutACertificateIsAcknowledgedAndPublished();
        assertEquals(List.of(), logs.linesContaining(List.of(PATIENT_MARKER)));
    }

    private int failedHandshakes() {
        return (int) audit.stream().filter(e -> e.kind() == AuditEvent.Kind.AUTHENTICATION && !e.granted()).count();
    }

    private void awaitAudit(Predicate<AuditEvent> wanted) {
        await().atMost(Duration.ofSeconds(30)).until(() -> audit.stream().anyMatch(wanted));
    }

    /** HAPI's own TLS client ({@code newClient(host, port, true)}) over the given context; returns MSA-1. */
    private String sendWithHapi(SSLContext tls, String er7) throws Exception {
        ExecutorService executor = Executors.newCachedThreadPool();
        try (HapiContext hapi = new DefaultHapiContext()) {
            hapi.setExecutorService(executor);
            hapi.setValidationContext(ValidationContextFactory.noValidation());
            hapi.setSocketFactory(ScriptedHl7Peer.tlsSockets(tls));
            Message message = hapi.getPipeParser().parse(er7);
            Message ack = hapi.newClient("127.0.0.1", env.mllpPort(), true).getInitiator().sendAndReceive(message);
            return PreParser.getFields(ack.encode(), "MSA-1")[0];
        } finally {
            executor.shutdownNow();
        }
    }

    private static String newControlId() {
        return "T" + UUID.randomUUID().toString().replace("-", "").substring(0, 16);
    }
}
