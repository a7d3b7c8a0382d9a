package org.cmm.eventbroker.platform.kafka;

import java.util.HashMap;
import java.util.Map;
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
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigException;
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
 * configuration on first use). Tools and tests outside a Camel context use {@link #of(KafkaConfiguration)},
 * {@link #of(Properties)} (a Kafka client properties file, like Kafka's own {@code --command-config}) or
 * {@link #forBootstrap(String)}.
 *
 * <p>The settings are checked when the instance is made: a wrong value (an unknown {@code security.protocol}, a
 * timeout that is not a number) fails there, naming the Kafka setting, instead of at the first write. A client id
 * set on the component ({@code camel.component.kafka.client-id}) prefixes the id of every client built here
 * ({@code <client-id>-dedup-hl7.dedup}), so a cluster's quotas, ACLs and logs can tell this site's clients apart.
 */
public final class KafkaClients {

    /** The registry name of the runtime's instance. */
    public static final String REGISTRY_NAME = "cmmKafkaClients";

    /** The development placeholder the brokers fall back to when the component has none (embedded broker). */
    static final String BOOTSTRAP_PROPERTY = "cmm.kafka.bootstrap-servers";

    private final String bootstrapServers;
    private final String clientIdPrefix;
    private final Properties producer;
    private final Properties consumer;
    private final Properties common;

    private KafkaClients(KafkaConfiguration configuration) {
        String brokers = configuration.getBrokers();
        if (brokers == null || brokers.isBlank()) {
            throw new IllegalArgumentException("Kafka brokers are not configured: set camel.component.kafka.brokers"
                    + " (" + BOOTSTRAP_PROPERTY + ")");
        }
        this.bootstrapServers = brokers.trim();
        String prefix = configuration.getClientId();
        this.clientIdPrefix = prefix == null || prefix.isBlank() ? null : prefix.trim();
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
        // any other client setting given once (additional-properties) that an Admin client knows: timeouts, ...
        Map<String, Object> additional = configuration.getAdditionalProperties();
        if (additional != null) {
            additional.forEach((k, v) -> {
                if (adminKeys.contains(k) && v != null) {
                    common.put(k, v);
                }
            });
        }
        this.common.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        validate("producer", ProducerConfig.configDef(), producer);
        validate("consumer", ConsumerConfig.configDef(), consumer);
        validate("Admin", AdminClientConfig.configDef(), common);
    }

    /**
     * The runtime's clients, built once from the Camel Kafka component's configuration. When the component has no
     * brokers, {@code cmm.kafka.bootstrap-servers} (where the embedded development broker listens) is used.
     */
    public static KafkaClients of(CamelContext context) {
        KafkaClients bound = context.getRegistry().lookupByNameAndType(REGISTRY_NAME, KafkaClients.class);
        if (bound != null) {
            return bound;
        }
        synchronized (context) {
            bound = context.getRegistry().lookupByNameAndType(REGISTRY_NAME, KafkaClients.class);
            if (bound == null) {
                KafkaComponent component = context.getComponent("kafka", KafkaComponent.class);
                KafkaConfiguration configuration = component.getConfiguration();
                if (configuration.getBrokers() == null || configuration.getBrokers().isBlank()) {
                    configuration = configuration.copy();
                    configuration.setBrokers(context.getPropertiesComponent().resolveProperty(BOOTSTRAP_PROPERTY)
                            .orElse(null));
                }
                bound = new KafkaClients(configuration);
                context.getRegistry().bind(REGISTRY_NAME, KafkaClients.class, bound);
            }
            return bound;
        }
    }

    /** Clients from an explicit configuration (tools started outside the runtime). */
    public static KafkaClients of(KafkaConfiguration configuration) {
        return new KafkaClients(configuration);
    }

    /**
     * Clients from Kafka client properties ({@code bootstrap.servers}, {@code security.protocol}, {@code sasl.*},
     * {@code ssl.*}, any other client setting): what Kafka's own tools read with {@code --command-config}. They are
     * applied over the component's defaults, as {@code camel.component.kafka.additional-properties} would be.
     */
    public static KafkaClients of(Properties clientProperties) {
        KafkaConfiguration configuration = new KafkaConfiguration();
        Map<String, Object> additional = new HashMap<>();
        clientProperties.forEach((k, v) -> additional.put(String.valueOf(k), v));
        Object brokers = additional.remove(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG);
        configuration.setBrokers(brokers == null ? null : String.valueOf(brokers));
        Object securityProtocol = additional.get(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG);
        if (securityProtocol != null) {
            configuration.setSecurityProtocol(String.valueOf(securityProtocol));
        }
        configuration.setAdditionalProperties(additional);
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

    /**
     * Consumer settings (bootstrap, security), a fresh copy; {@code groupId} may be null for assign-only readers
     * (offsets are then never committed: Kafka refuses auto-commit without a group).
     */
    public Properties consumerProperties(String clientId, String groupId) {
        Properties p = copy(consumer);
        putClientId(p, clientId);
        if (groupId != null) {
            p.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
        } else {
            p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        }
        return p;
    }

    /** Connection settings every client shares (bootstrap, TLS, SASL): Admin clients, Kafka Streams. */
    public Properties commonProperties(String clientId) {
        Properties p = copy(common);
        putClientId(p, clientId);
        return p;
    }

    /**
     * Kafka Streams settings: {@code application.id} (also the consumer group, the prefix of the internal changelog
     * and repartition topics and the client id), plus the same connection settings every client shares (bootstrap,
     * TLS, SASL, reconnect back-off). The caller adds the application's own settings (processing guarantee, state
     * folder, standby replicas); the Streams producer, consumer and Admin clients then connect like every other client.
     */
    public Properties streamsProperties(String applicationId) {
        if (applicationId == null || applicationId.isBlank()) {
            throw new IllegalArgumentException("a Kafka Streams application id is required");
        }
        Properties p = commonProperties(applicationId);
        p.put("application.id", applicationId);
        return p;
    }

    /** A producer of String keys and byte[] values; {@code overrides} are this client's own settings (linger, timeouts). */
    public KafkaProducer<String, byte[]> producer(String clientId, Map<String, ?> overrides) {
        Properties p = producerProperties(clientId);
        p.putAll(overrides);
        return new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
    }

    /** A consumer of String keys and byte[] values; {@code groupId} null for an assign-only reader. */
    public KafkaConsumer<String, byte[]> consumer(String clientId, String groupId, Map<String, ?> overrides) {
        Properties p = consumerProperties(clientId, groupId);
        p.putAll(overrides);
        return new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer());
    }

    /**
     * An assign-only reader (no group, nothing committed) for a stream: it returns at most {@code maxPollRecords} records
     * a poll (what its caller holds in memory) and starts over at the earliest retained record when its position was
     * deleted by retention, never skipping to the end. The event API's streams and their shared tail readers use it.
     */
    public KafkaConsumer<String, byte[]> streamReader(String clientId, int maxPollRecords) {
        return consumer(clientId, null, Map.of(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, String.valueOf(maxPollRecords),
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest"));
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

    /** Parses the settings as the client would (no connection, no log of their values), so a wrong one fails now. */
    private static void validate(String client, ConfigDef definition, Properties settings) {
        try {
            definition.parse(settings);
        } catch (ConfigException e) {
            // ConfigException names the setting and hides password values
            throw new IllegalArgumentException("Invalid Kafka " + client + " setting (camel.component.kafka.*): "
                    + e.getMessage(), e);
        }
    }

    private void putClientId(Properties p, String clientId) {
        boolean hasId = clientId != null && !clientId.isBlank();
        if (clientIdPrefix != null) {
            p.put(CommonClientConfigs.CLIENT_ID_CONFIG, hasId ? clientIdPrefix + "-" + clientId : clientIdPrefix);
        } else if (hasId) {
            p.put(CommonClientConfigs.CLIENT_ID_CONFIG, clientId);
        }
    }

    private static Properties copy(Properties source) {
        Properties p = new Properties();
        p.putAll(source);
        return p;
    }
}
