package org.cmm.eventbroker.testsupport;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import ca.uhn.hl7v2.preparser.PreParser;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.cmm.eventbroker.platform.kafka.TopicsToEnd;
import org.cmm.eventbroker.runtime.EventBrokerRuntime;
import org.cmm.eventbroker.runtime.FlowSelection;

/**
 * The runtime pointed at an external Kafka cluster through {@code cmm.kafka.bootstrap-servers}, as in production (no
 * embedded broker), with some flows, its listeners on free loopback ports. For the fault tests, whose brokers are
 * child JVMs ({@link ChildKafkaCluster}) or behind a {@link TcpProxy}.
 */
public final class ExternalKafkaRuntime implements AutoCloseable {

    private final int mllpPort = FreePorts.next();
    private final EventBrokerRuntime runtime;

    public ExternalKafkaRuntime(String bootstrapServers, Map<String, String> properties, String... flows) throws Exception {
        Map<String, String> p = new HashMap<>();
        p.put(FlowSelection.FLOWS, String.join(",", flows));
        p.put("cmm.kafka.bootstrap-servers", bootstrapServers);
        p.put("cmm.mllp.host", "127.0.0.1");
        p.put("cmm.mllp.port", String.valueOf(mllpPort));
        p.put("camel.main.jmx-enabled", "false");
        p.put("camel.management.host", "127.0.0.1");
        p.put("camel.management.port", String.valueOf(FreePorts.next()));
        p.put("camel.server.host", "127.0.0.1");
        p.put("camel.server.port", String.valueOf(FreePorts.next()));
        // its own Kafka Streams state directory, not the working directory's data/analytics other test JVMs use
        p.put("cmm.analytics.state-dir", Files.createTempDirectory("cmm-analytics").toString());
        p.putAll(properties);
        runtime = new EventBrokerRuntime(p).start();
    }

    public int mllpPort() {
        return mllpPort;
    }

    /**
     * How many times each control id (MSH-10) is on a topic, as a {@code read_committed} consumer sees it (what
     * every downstream reader gets), read to the end offsets of now.
     */
    public static Map<String, Integer> copiesByControlId(String bootstrapServers, String topic) {
        Map<String, Integer> copies = new HashMap<>();
        try (KafkaConsumer<String, byte[]> consumer = KafkaClients.forBootstrap(bootstrapServers).consumer(
                "copies-check", null, Map.of(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"))) {
            TopicsToEnd.read(consumer, List.of(topic), 0, Duration.ofSeconds(60), r -> {
                try {
                    String id = PreParser.getFields(new String(r.value(), StandardCharsets.ISO_8859_1), "MSH-10")[0];
                    copies.merge(id, 1, Integer::sum);
                } catch (ca.uhn.hl7v2.HL7Exception unreadable) {
                    copies.merge("unreadable", 1, Integer::sum);
                }
            });
        }
        return copies;
    }

    @Override
    public void close() {
        runtime.close();
    }
}
