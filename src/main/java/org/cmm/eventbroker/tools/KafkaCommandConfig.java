package org.cmm.eventbroker.tools;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

import org.apache.kafka.clients.CommonClientConfigs;
import org.cmm.eventbroker.platform.kafka.KafkaClients;

/**
 * How the command-line tools reach Kafka: {@code --bootstrap host:port} and, for a secured cluster,
 * {@code --command-config FILE}, a Kafka client properties file as Kafka's own tools read it ({@code security.protocol},
 * {@code sasl.mechanism}, {@code sasl.jaas.config}, {@code ssl.truststore.location}, ...). The file may name the
 * servers itself ({@code bootstrap.servers}); {@code --bootstrap} wins over it. The clients are built by
 * {@link KafkaClients}, as the runtime's are.
 */
final class KafkaCommandConfig {

    static final String DEFAULT_BOOTSTRAP = "127.0.0.1:9092";

    private KafkaCommandConfig() {
    }

    /** {@link #clients} for a tool's main: a wrong setting or an unreadable file prints why and exits 2. */
    static KafkaClients clientsOrExit(String bootstrap, String commandConfigFile) {
        try {
            return clients(bootstrap, commandConfigFile);
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return null;
        }
    }

    /**
     * @param bootstrap         {@code --bootstrap}, or null
     * @param commandConfigFile {@code --command-config}, or null
     */
    static KafkaClients clients(String bootstrap, String commandConfigFile) {
        Properties p = new Properties();
        if (commandConfigFile != null) {
            Path file = Path.of(commandConfigFile);
            try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                p.load(in);
            } catch (IOException e) {
                // the path only: the file holds credentials
                throw new IllegalArgumentException("--command-config " + file + " cannot be read: "
                        + e.getClass().getSimpleName(), e);
            }
        }
        if (bootstrap != null) {
            p.setProperty(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        } else if (p.getProperty(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, "").isBlank()) {
            p.setProperty(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, DEFAULT_BOOTSTRAP);
        }
        return KafkaClients.of(p);
    }
}
