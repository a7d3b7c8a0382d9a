package org.cmm.eventbroker.platform.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import org.apache.camel.CamelContext;
import org.apache.camel.main.Main;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.cmm.eventbroker.dev.EmbeddedKafkaBroker;
import org.cmm.eventbroker.testsupport.FreePorts;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kafka is configured once, as the Camel Kafka component's configuration ({@code camel.component.kafka.*}, bound by
 * Camel Main as in the runtime), and every producer, consumer and Admin client that {@link KafkaClients} builds uses
 * it: against a real broker, a client id prefix shows in what the broker knows of the group's member and in each
 * client's own metrics, and a security protocol the broker does not speak stops all three from reaching it.
 */
class KafkaClientsIT {

    @TempDir
    static Path dataDir;

    private static EmbeddedKafkaBroker broker;
    private final List<Main> mains = new ArrayList<>();

    @BeforeAll
    static void startBroker() throws Exception {
        broker = new EmbeddedKafkaBroker("127.0.0.1", FreePorts.next(), FreePorts.next(), dataDir, Map.of());
        broker.start();
    }

    @AfterAll
    static void stopBroker() {
        if (broker != null) {
            broker.stop();
        }
    }

    @AfterEach
    void stopCamel() {
        mains.forEach(Main::stop);
    }

    /** A Camel Main context (no routes, not the project's application.properties) with these properties. */
    private CamelContext camel(Map<String, String> properties) throws Exception {
        Main main = new Main();
        main.setDefaultPropertyPlaceholderLocation("false");
        properties.forEach(main::addInitialProperty);
        mains.add(main);
        main.start();
        return main.getCamelContext();
    }

    private static Set<String> clientIds(Map<MetricName, ? extends Metric> metrics) {
        return metrics.keySet().stream().map(m -> m.tags().get("client-id")).filter(id -> id != null)
                .collect(Collectors.toSet());
    }

    @Test
    void settingsSetOnceAsCamelComponentKafkaReachAProducerAConsumerAndAnAdminClient() throws Exception {
        CamelContext context = camel(Map.of(
                "camel.component.kafka.brokers", broker.bootstrapServers(),
                "camel.component.kafka.client-id", "site-a",
                "camel.component.kafka.security-protocol", "PLAINTEXT",
                "camel.component.kafka.additional-properties[request.timeout.ms]", "7000"));
        KafkaClients clients = KafkaClients.of(context);
        assertSame(clients, KafkaClients.of(context), "one instance per CamelContext");
        assertEquals(broker.bootstrapServers(), clients.bootstrapServers());

        // the setting given once as an additional property is in every kind of client's settings
        assertEquals("7000", String.valueOf(clients.producerProperties("p").get("request.timeout.ms")));
        assertEquals("7000", String.valueOf(clients.consumerProperties("c", "g").get("request.timeout.ms")));
        assertEquals("7000", String.valueOf(clients.commonProperties("a").get("request.timeout.ms")));

        String topic = "kafka-clients.settings";
        String group = "kafka-clients-it";
        try (Admin admin = clients.admin("admin", Map.of());
             KafkaProducer<String, byte[]> producer = clients.producer("writer", Map.of());
             KafkaConsumer<String, byte[]> consumer = clients.consumer("reader", group,
                     Map.of(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest"))) {
            admin.createTopics(List.of(new NewTopic(topic, Optional.of(1), Optional.empty()))).all()
                    .get(30, TimeUnit.SECONDS);
            long offset = producer.send(new ProducerRecord<>(topic, "k", "v".getBytes(StandardCharsets.UTF_8)))
                    .get(30, TimeUnit.SECONDS).offset();
            assertEquals(0, offset);

            consumer.subscribe(List.of(topic));
            List<ConsumerRecord<String, byte[]>> read = new ArrayList<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (read.isEmpty() && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(200)).forEach(read::add);
            }
            assertEquals(1, read.size(), "the consumer read what the producer wrote");
            assertEquals("k", read.get(0).key());

            // what the broker knows of the consumer: its client id carries the component's prefix
            ConsumerGroupDescription description = admin.describeConsumerGroups(List.of(group)).all()
                    .get(30, TimeUnit.SECONDS).get(group);
            assertEquals(Set.of("site-a-reader"), description.members().stream().map(MemberDescription::clientId)
                    .collect(Collectors.toSet()));
            assertEquals(Set.of("site-a-writer"), clientIds(producer.metrics()));
            assertEquals(Set.of("site-a-admin"), clientIds(admin.metrics()));
        }
    }

    @Test
    void aSecurityProtocolSetOnceIsTheOneEveryClientSpeaks() throws Exception {
        // the broker listens in PLAINTEXT; clients told to speak TLS cannot talk to it, whichever kind they are
        CamelContext context = camel(Map.of(
                "camel.component.kafka.brokers", broker.bootstrapServers(),
                "camel.component.kafka.security-protocol", "SSL",
                "camel.component.kafka.additional-properties[max.block.ms]", "2000",
                "camel.component.kafka.additional-properties[default.api.timeout.ms]", "2000",
                "camel.component.kafka.additional-properties[request.timeout.ms]", "2000"));
        KafkaClients clients = KafkaClients.of(context);
        assertEquals("SSL", clients.commonProperties("a").get("security.protocol"));

        try (Admin admin = clients.admin("tls-admin", Map.of())) {
            ExecutionException e = assertThrows(ExecutionException.class,
                    () -> admin.describeCluster().nodes().get(20, TimeUnit.SECONDS));
            assertTrue(e.getCause() instanceof org.apache.kafka.common.errors.TimeoutException, e.toString());
        }
        try (KafkaProducer<String, byte[]> producer = clients.producer("tls-writer", Map.of())) {
            ExecutionException e = assertThrows(ExecutionException.class,
                    () -> producer.send(new ProducerRecord<>("kafka-clients.tls", "k", new byte[] {1}))
                            .get(20, TimeUnit.SECONDS));
            assertTrue(e.getCause() instanceof org.apache.kafka.common.errors.TimeoutException, e.toString());
        }
        try (KafkaConsumer<String, byte[]> consumer = clients.consumer("tls-reader", null, Map.of())) {
            assertThrows(org.apache.kafka.common.errors.TimeoutException.class,
                    () -> consumer.partitionsFor("kafka-clients.tls", Duration.ofSeconds(2)));
        }
    }

    @Test
    void anUnknownSecurityProtocolFailsWhenTheClientsAreMadeNamingTheSetting() throws Exception {
        CamelContext context = camel(Map.of(
                "camel.component.kafka.brokers", broker.bootstrapServers(),
                "camel.component.kafka.security-protocol", "TLS13"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> KafkaClients.of(context));
        assertTrue(e.getMessage().contains("security.protocol") && e.getMessage().contains("TLS13"), e.getMessage());
        assertTrue(e.getMessage().contains("camel.component.kafka"), e.getMessage());
    }

    @Test
    void withoutComponentBrokersTheDevelopmentBootstrapPropertyIsUsedAndWithoutEitherTheErrorNamesTheSetting()
            throws Exception {
        CamelContext fallback = camel(Map.of("cmm.kafka.bootstrap-servers", broker.bootstrapServers()));
        assertEquals(broker.bootstrapServers(), KafkaClients.of(fallback).bootstrapServers());

        CamelContext none = camel(Map.of());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> KafkaClients.of(none));
        assertTrue(e.getMessage().contains("camel.component.kafka.brokers"), e.getMessage());
    }
}
