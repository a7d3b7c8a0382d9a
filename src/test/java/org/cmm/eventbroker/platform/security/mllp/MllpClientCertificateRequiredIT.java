package org.cmm.eventbroker.platform.security.mllp;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import javax.net.ssl.SSLContext;

import ca.uhn.hl7v2.preparser.PreParser;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.impl.DefaultCamelContext;
import org.cmm.eventbroker.platform.mllp.MllpClient;
import org.cmm.eventbroker.platform.mllp.MllpListenerComponent;
import org.cmm.eventbroker.platform.mllp.MllpListenerHeaders;
import org.cmm.eventbroker.platform.security.TlsMaterial;
import org.cmm.eventbroker.platform.security.audit.AuditEvent;
import org.cmm.eventbroker.platform.security.audit.AuditSink;
import org.cmm.eventbroker.testsupport.FreePorts;
import org.cmm.eventbroker.testsupport.Hl7Samples;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * An {@code mllp-listener} whose component requires client certificates ({@code clientAuth=need}), its material bound
 * as {@link TlsMaterial#REGISTRY_NAME}: only senders with a certificate of the trusted CA get past the handshake, and
 * each refusal is audited. A route that accepts everything shows the consumer alone decides.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MllpClientCertificateRequiredIT {

    @TempDir
    static Path dir;

    private TestPki pki;
    private Path client;
    private Path rogueClient;
    private DefaultCamelContext camel;
    private int port;
    private final List<AuditEvent> audit = new CopyOnWriteArrayList<>();

    @BeforeAll
    void start() throws Exception {
        pki = TestPki.create(dir, "trusted");
        Path server = pki.issue("server", "CN=localhost", "ip:127.0.0.1");
        client = pki.issue("lis", "CN=lis,O=Lab", null);
        rogueClient = TestPki.create(dir, "rogue").issue("rogue", "CN=rogue", null);
        port = FreePorts.next();
        camel = new DefaultCamelContext();
        camel.getRegistry().bind(TlsMaterial.REGISTRY_NAME, pki.material(server));
        camel.getRegistry().bind(AuditSink.REGISTRY_NAME, AuditSink.class, (AuditSink) audit::add);
        MllpListenerComponent listener = new MllpListenerComponent();
        listener.setTlsEnabled(true);
        listener.setClientAuth("need");
        listener.setHandshakeTimeoutMs(3000);
        camel.addComponent("mllp-listener", listener);
        camel.addRoutes(new RouteBuilder() {
            @Override
            public void configure() {
                from("mllp-listener:127.0.0.1:" + port).setHeader(MllpListenerHeaders.ACKNOWLEDGEMENT_CODE, constant("AA"));
            }
        });
        camel.start();
    }

    @AfterAll
    void stop() {
        camel.stop();
    }

    @Test
    void aTrustedClientCertificateIsServed() throws Exception {
        assertEquals("AA", send(pki.clientContext(client)));
        await().atMost(Duration.ofSeconds(10)).until(() -> audit.stream().anyMatch(e -> e.granted()
                && e.principal().startsWith("CN=lis")));
    }

    @Test
    void withoutAClientCertificateTheHandshakeFailsAndIsAudited() {
        int before = refused();
        assertThrows(IOException.class, () -> send(pki.clientContext(null)));
        await().atMost(Duration.ofSeconds(10)).until(() -> refused() > before);
    }

    @Test
    void aCertificateOfAnotherCaFailsTheHandshake() {
        int before = refused();
        SSLContext rogue = new TlsMaterial(rogueClient, TestPki.PASSWORD, pki.truststore(), TestPki.PASSWORD)
                .clientContext();
        assertThrows(IOException.class, () -> send(rogue));
        await().atMost(Duration.ofSeconds(10)).until(() -> refused() > before);
        assertTrue(audit.stream().noneMatch(e -> e.granted() && e.principal().contains("rogue")));
    }

    private int refused() {
        return (int) audit.stream().filter(e -> e.kind() == AuditEvent.Kind.AUTHENTICATION && !e.granted()).count();
    }

    private String send(SSLContext tls) throws IOException {
        try (MllpClient c = new MllpClient(tls.getSocketFactory().createSocket("127.0.0.1", port), 10_000)) {
            c.send(Hl7Samples.load("oru-r01.hl7", "CERT-" + System.nanoTime()).getBytes(StandardCharsets.ISO_8859_1));
            return PreParser.getFields(new String(c.readFrame(), StandardCharsets.ISO_8859_1), "MSA-1")[0];
        } catch (ca.uhn.hl7v2.HL7Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
