package org.cmm.eventbroker.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The dead-letter tools reach a secured cluster with a Kafka client properties file, as Kafka's own tools do. */
class KafkaCommandConfigTest {

    @TempDir
    Path dir;

    @Test
    void theSecuritySettingsOfTheCommandConfigFileReachEveryClientOfTheTool() throws Exception {
        Path file = dir.resolve("client.properties");
        Files.writeString(file, """
                bootstrap.servers=kafka-1.example:9093
                security.protocol=SASL_SSL
                sasl.mechanism=SCRAM-SHA-512
                sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="ops" password="s3cret";
                ssl.truststore.location=/etc/kafka/truststore.p12
                """);
        KafkaClients clients = KafkaCommandConfig.clients(null, file.toString());

        assertEquals("kafka-1.example:9093", clients.bootstrapServers());
        for (Properties p : new Properties[] {clients.producerProperties("t"), clients.consumerProperties("t", null),
                clients.commonProperties("t")}) {
            assertEquals("SASL_SSL", p.get("security.protocol"), p.toString());
            assertEquals("SCRAM-SHA-512", p.get("sasl.mechanism"));
            assertEquals("/etc/kafka/truststore.p12", p.get("ssl.truststore.location"));
            assertTrue(String.valueOf(p.get("sasl.jaas.config")).contains("ScramLoginModule"));
            assertEquals("kafka-1.example:9093", p.get("bootstrap.servers"));
        }
    }

    @Test
    void bootstrapOnTheCommandLineWinsOverTheFileAndWithoutEitherTheLocalBrokerIsUsed() throws Exception {
        Path file = dir.resolve("client.properties");
        Files.writeString(file, "bootstrap.servers=kafka-1.example:9093\nsecurity.protocol=SSL\n");

        KafkaClients both = KafkaCommandConfig.clients("10.0.0.5:9093", file.toString());
        assertEquals("10.0.0.5:9093", both.bootstrapServers());
        assertEquals("SSL", both.commonProperties(null).get("security.protocol"));

        KafkaClients neither = KafkaCommandConfig.clients(null, null);
        assertEquals(KafkaCommandConfig.DEFAULT_BOOTSTRAP, neither.bootstrapServers());
        assertEquals("PLAINTEXT", neither.commonProperties(null).get("security.protocol"));
    }

    @Test
    void anUnreadableFileOrAWrongSettingFailsClearlyWithoutPrintingTheFile() throws Exception {
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> KafkaCommandConfig.clients(null, dir.resolve("absent.properties").toString()));
        assertTrue(missing.getMessage().contains("--command-config"), missing.getMessage());

        Path file = dir.resolve("wrong.properties");
        Files.writeString(file, "security.protocol=SASL_TLS\nsasl.jaas.config=secret-value\n");
        IllegalArgumentException wrong = assertThrows(IllegalArgumentException.class,
                () -> KafkaCommandConfig.clients("127.0.0.1:9092", file.toString()));
        assertTrue(wrong.getMessage().contains("security.protocol"), wrong.getMessage());
        assertFalse(wrong.getMessage().contains("secret-value"), wrong.getMessage());
    }
}
