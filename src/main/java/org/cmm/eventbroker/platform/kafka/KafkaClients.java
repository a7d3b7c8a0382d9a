package org.cmm.eventbroker.platform.kafka;

import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;

import org.apache.camel.CamelContext;
import org.apache.camel.component.kafka.KafkaComponent;
import org.apache.camel.component.kafka.KafkaConfiguration;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The one place Java code gets Kafka clients from. Its settings are the Camel Kafka component's configuration
 * ({@code camel.component.kafka.*}: brokers, acks, idempotence, timeouts, sizes, TLS and SASL, and
 * {@code additional-properties[...]} for any other client setting), so every {@code kafka:} endpoint, every Kamelet
 * and every producer, consumer and Admin client of the code connect and authenticate the same way, configured once.
 *
 * <p>Inside a runtime, {@link #of(CamelContext)} returns the instance bound in the registry (made from the component's
 * configuration on first use). Tools and tests outside a Camel context use {@link #of(KafkaConfiguration)} or
 * {@link #forBootstrap(String)}.
 */
public final class KafkaClients {

    /** The registry name of the runtime's instance. */
    public static final String REGISTRY_NAME = "cmmKafkaClients";

    private final String bootstrapServers;
    private final Properties producer;
    private final Properties consumer;
    private final Properties common;

    private KafkaClients(KafkaConfiguration configuration) {
        this.bootstrapServers = Objects.requireNonNull(configuration.getBrokers(),
                "camel.component.kafka.brokers is not set (cmm.kafka.bootstrap-servers)");
        this.producer = configuration.createProducerProperties();
        this.producer.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        this.consumer = configuration.createConsumerProperties();
        this.consumer.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        // Camel's consumer defaults that a hand-built consumer must choose itself
        this.consumer.remove(ConsumerConfig.GROUP_ID_CONFIG);
        this.common = new Properties();
        Set<String> adminKeys = AdminClientConfig.configNames();
        this.consumer.forEach((k, v) -> {
            if (adminKeys.contains(String.valueOf(k)) && isConnectionSetting(String.valueOf(k))) {
                common.put(k, v);
            }
        });
        this.common.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    }

    /** The runtime's clients, built once from the Camel Kafka component's configuration. */
    public static KafkaClients of(CamelContext context) {
        KafkaClients bound = context.getRegistry().lookupByNameAndType(REGISTRY_NAME, KafkaClients.class);
        if (bound != null) {
            return bound;
        }
        synchronized (context) {
            bound = context.getRegistry().lookupByNameAndType(REGISTRY_NAME, KafkaClients.class);
            if (bound == null) {
                KafkaComponent component = context.getComponent("kafka", KafkaComponent.class);
                bound = new KafkaClients(component.getConfiguration());
                context.getRegistry().bind(REGISTRY_NAME, KafkaClients.class, bound);
            }
            return bound;
        }
    }

    /** Clients from an explicit configuration (tools started outside the runtime). */
    public static KafkaClients of(KafkaConfiguration configuration) {
        return new KafkaClients(configuration);
    }

    /** Clients with the component's defaults and these brokers: tests and tools against an unsecured broker. */
    public static KafkaClients forBootstrap(String bootstrapServers) {
        KafkaConfiguration configuration = new KafkaConfiguration();
        configuration.setBrokers(bootstrapServers);
        return new KafkaClients(configuration);
    }

    public String bootstrapServers() {
        return bootstrapServers;
    }

    /** Producer settings (bootstrap, acks, idempotence, timeouts, security), a fresh copy. */
    public Properties producerProperties(String clientId) {
        Properties p = copy(producer);
        putClientId(p, clientId);
        return p;
    }

    /** Consumer settings (bootstrap, security), a fresh copy; {@code groupId} may be null for assign-only readers. */
    public Properties consumerProperties(String clientId, String groupId) {
        Properties p = copy(consumer);
        putClientId(p, clientId);
        if (groupId != null) {
            p.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
        }
        return p;
    }

    /** Connection settings every client shares (bootstrap, TLS, SASL): Admin clients, Kafka Streams. */
    public Properties commonProperties(String clientId) {
        Properties p = copy(common);
        putClientId(p, clientId);
        return p;
    }

    public KafkaProducer<String, byte[]> producer(String clientId, Map<String, ?> overrides) {
        Properties p = producerProperties(clientId);
        p.putAll(overrides);
        return new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
    }

    public KafkaConsumer<String, byte[]> consumer(String clientId, String groupId, Map<String, ?> overrides) {
        Properties p = consumerProperties(clientId, groupId);
        p.putAll(overrides);
        return new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer());
    }

    public Admin admin(String clientId, Map<String, ?> overrides) {
        Properties p = commonProperties(clientId);
        p.putAll(overrides);
        return Admin.create(p);
    }

    private static boolean isConnectionSetting(String key) {
        return key.startsWith("security.") || key.startsWith("sasl.") || key.startsWith("ssl.")
                || key.equals(CommonClientConfigs.CLIENT_DNS_LOOKUP_CONFIG)
                || key.equals(CommonClientConfigs.RECONNECT_BACKOFF_MS_CONFIG)
                || key.equals(CommonClientConfigs.RECONNECT_BACKOFF_MAX_MS_CONFIG);
    }

    private static void putClientId(Properties p, String clientId) {
        if (clientId != null && !clientId.isBlank()) {
            p.put(CommonClientConfigs.CLIENT_ID_CONFIG, clientId);
        }
    }

    private static Properties copy(Properties source) {
        Properties p = new Properties();
        p.putAll(source);
        return p;
    }
}
