package org.cmm.eventbroker.platform.mllp;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;

import org.apache.camel.Exchange;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.impl.DefaultCamelContext;
import org.cmm.eventbroker.platform.delivery.DeliveryFailedException;
import org.cmm.eventbroker.platform.security.TlsMaterial;
import org.cmm.eventbroker.platform.security.mllp.TestPki;
import org.cmm.eventbroker.testsupport.FreePorts;
import org.cmm.eventbroker.testsupport.Hl7Samples;
import org.cmm.eventbroker.testsupport.ScriptedHl7Peer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The outbound {@code mllp-sender} with TLS switched on at the component: it speaks TLS to a real HAPI MLLP server
 * over TLS (ScriptedHl7Peer) and verifies the peer against the truststore of {@link TlsMaterial}: a peer whose
 * certificate another CA signed, or that names another host, is never sent the message.
 */
class MllpSenderTlsIT {

    @TempDir
    Path dir;

    @Test
    void sendsOverTlsToATrustedPeerAndRefusesAnUntrustedOne() throws Exception {
        TestPki pki = TestPki.create(dir, "trusted");
        Path peerKey = pki.issue("lis", "CN=lis.example.org", "ip:127.0.0.1,dns:localhost");
        Path brokerKey = pki.issue("broker", "CN=broker", null);
        TestPki other = TestPki.create(dir, "other");
        Path impostorKey = other.issue("impostor", "CN=lis.example.org", "ip:127.0.0.1");
        Path wrongHostKey = pki.issue("wronghost", "CN=elsewhere", "dns:elsewhere.example.org");

        try (ScriptedHl7Peer lis = new ScriptedHl7Peer(FreePorts.next()).tls(pki.material(peerKey).serverContext()).start();
             ScriptedHl7Peer impostor = new ScriptedHl7Peer(FreePorts.next())
                     .tls(other.material(impostorKey).serverContext()).start();
             ScriptedHl7Peer wrongHost = new ScriptedHl7Peer(FreePorts.next())
                     .tls(pki.material(wrongHostKey).serverContext()).start();
             ScriptedHl7Peer plain = new ScriptedHl7Peer(FreePorts.next()).start()) {
            DefaultCamelContext camel = new DefaultCamelContext();
            camel.getRegistry().bind(TlsMaterial.REGISTRY_NAME, pki.material(brokerKey));
            MllpSenderComponent sender = new MllpSenderComponent();
            sender.setTlsEnabled(true);
            camel.addComponent("mllp-sender", sender);
            camel.start();
            try {
                ProducerTemplate template = camel.createProducerTemplate();
                String message = Hl7Samples.load("orm-o01.hl7", "TLS-OUT-1");
                Exchange sent = template.send("mllp-sender:127.0.0.1:" + lis.port() + "?connectTimeoutMs=5000",
                        e -> e.getMessage().setBody(message));
                assertEquals(null, sent.getException());
                assertEquals("AA", sent.getMessage().getHeader(MllpSenderProducer.ACK_CODE));
                await().atMost(Duration.ofSeconds(10)).until(() -> lis.firstArrivals().contains("TLS-OUT-1"));

                for (ScriptedHl7Peer refused : new ScriptedHl7Peer[] {impostor, wrongHost, plain}) {
                    Exchange failed = template.send("mllp-sender:127.0.0.1:" + refused.port()
                            + "?connectTimeoutMs=5000&ackTimeoutMs=5000", e -> e.getMessage().setBody(message));
                    assertInstanceOf(DeliveryFailedException.class, failed.getException());
                    assertTrue(failed.getException().getMessage().contains("TLS handshake"),
                            failed.getException().getMessage());
                    assertEquals(0, refused.received().size(), "nothing reached a peer that failed verification");
                }
            } finally {
                camel.stop();
            }
        }
    }
}
