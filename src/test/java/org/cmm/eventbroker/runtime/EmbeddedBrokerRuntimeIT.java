package org.cmm.eventbroker.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import ca.uhn.hl7v2.preparser.PreParser;
import org.cmm.eventbroker.dev.EmbeddedKafkaBroker;
import org.cmm.eventbroker.testsupport.FreePorts;
import org.cmm.eventbroker.testsupport.Hl7Samples;
import org.cmm.eventbroker.testsupport.KafkaTopicReader;
import org.cmm.eventbroker.testsupport.MllpTestClient;
import org.cmm.eventbroker.testsupport.TestPeers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The default a new user gets: no Kafka configured, so the runtime starts its own real broker before the routes,
 * keeps its data in the configured folder, and standard Kafka tools (kcat) can read its topics.
 */
class EmbeddedBrokerRuntimeIT {

    @TempDir
    Path dataDir;

    /** Kafka Streams' state, apart from the broker's log directory and from other test JVMs' data/analytics. */
    @TempDir
    Path stateDir;

    @Test
    void withoutBootstrapServersTheRuntimeStartsARealBrokerThatKcatCanRead() throws Exception {
        int kafkaPort = FreePorts.next();
        int mllpPort = FreePorts.next();
        Map<String, String> props = Map.of(
                "cmm.kafka.bootstrap-servers", "",
                "cmm.kafka.embedded.port", String.valueOf(kafkaPort),
                "cmm.kafka.embedded.controller-port", String.valueOf(FreePorts.next()),
                "cmm.kafka.embedded.data-dir", dataDir.toString(),
                "cmm.analytics.state-dir", stateDir.toString(),
                "cmm.mllp.host", "127.0.0.1",
                "cmm.mllp.port", String.valueOf(mllpPort),
                "camel.main.jmx-enabled", "false",
                "camel.management.port", String.valueOf(FreePorts.next()));
        String id = "EMB" + System.nanoTime();
        try (EventBrokerRuntime runtime = new EventBrokerRuntime(props).start()) {
            EmbeddedKafkaBroker broker = runtime.embeddedBroker();
            assertNotNull(broker, "an embedded broker was started");
            assertEquals("127.0.0.1:" + kafkaPort, runtime.bootstrapServers());
            assertTrue(Files.exists(dataDir.resolve("meta.properties")), "broker data lives in the configured folder");

            try (MllpTestClient client = new MllpTestClient(mllpPort)) {
                String ack = client.sendAndReceive(Hl7Samples.load("adt-a01.hl7", id));
                assertEquals("AA", PreParser.getFields(ack, "MSA-1")[0]);
            }
            new KafkaTopicReader(runtime.bootstrapServers()).awaitRecords("hl7.adt.a01", KafkaTopicReader.controlId(id), 1);

            String kcat = TestPeers.require("kcat").toString();
            Process p = new ProcessBuilder(kcat, "-b", runtime.bootstrapServers(), "-C", "-t", "hl7.adt.a01",
                    "-o", "beginning", "-e", "-q", "-f", "%k %s\\n").redirectErrorStream(true).start();
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "kcat finished");
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
            assertTrue(out.contains(id), "kcat read the message from the embedded broker: " + out.length() + " chars");
            assertTrue(out.startsWith("MRN100001 "), "with the patient key");
        }
    }

    @Test
    void anExternalBootstrapMeansNoEmbeddedBroker() throws Exception {
        try (EmbeddedKafkaBroker external = new EmbeddedKafkaBroker("127.0.0.1", FreePorts.next(), FreePorts.next(),
                dataDir, Map.of())) {
            external.start();
            Map<String, String> props = Map.of(
                    "cmm.kafka.bootstrap-servers", external.bootstrapServers(),
                    "cmm.analytics.state-dir", stateDir.toString(),
                    "cmm.mllp.host", "127.0.0.1",
                    "cmm.mllp.port", String.valueOf(FreePorts.next()),
                    "camel.main.jmx-enabled", "false",
                    "camel.management.port", String.valueOf(FreePorts.next()));
            try (EventBrokerRuntime runtime = new EventBrokerRuntime(props).start()) {
                assertEquals(null, runtime.embeddedBroker());
                assertEquals(external.bootstrapServers(), runtime.bootstrapServers());
                assertFalse(runtime.camelContext().getRoutes().isEmpty());
            }
        }
    }
}
