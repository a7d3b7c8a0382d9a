package org.cmm.eventbroker.runtime;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import org.apache.camel.CamelContext;
import org.apache.camel.main.BaseMainSupport;
import org.apache.camel.main.MainListenerSupport;
import org.apache.camel.spi.PropertiesComponent;
import org.apache.camel.support.service.ServiceSupport;
import org.cmm.eventbroker.dev.EmbeddedKafkaBroker;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts the embedded Kafka broker before any route when no bootstrap servers are configured, and points every
 * {@code {{cmm.kafka.bootstrap-servers}}} placeholder at it. The broker is registered as a Camel service, so it stops
 * after the routes that use it.
 */
public class EmbeddedBrokerBootstrap extends MainListenerSupport {

    public static final String BOOTSTRAP_SERVERS = "cmm.kafka.bootstrap-servers";

    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedBrokerBootstrap.class);

    private EmbeddedKafkaBroker broker;

    @Override
    public void beforeConfigure(BaseMainSupport main) {
        CamelContext context = main.getCamelContext();
        PropertiesComponent properties = context.getPropertiesComponent();
        String configured = properties.resolveProperty(BOOTSTRAP_SERVERS).orElse("").trim();
        if (!configured.isEmpty()) {
            LOG.info("Using the Kafka cluster at {} (no embedded broker)", configured);
            return;
        }
        String host = properties.resolveProperty("cmm.kafka.embedded.host").orElse("127.0.0.1");
        int port = Integer.parseInt(properties.resolveProperty("cmm.kafka.embedded.port").orElse("9092"));
        int controllerPort = Integer.parseInt(properties.resolveProperty("cmm.kafka.embedded.controller-port").orElse("9093"));
        Path dataDir = Path.of(properties.resolveProperty("cmm.kafka.embedded.data-dir").orElse("data/kafka"));
        Map<String, String> overrides = new HashMap<>();
        properties.resolveProperty("cmm.kafka.embedded.num-partitions").ifPresent(n -> overrides.put("num.partitions", n));
        broker = new EmbeddedKafkaBroker(host, port, controllerPort, dataDir, overrides);
        try {
            broker.start();
        } catch (Exception e) {
            throw new IllegalStateException("The embedded Kafka broker could not start on " + host + ":" + port
                    + " (is the port taken? set " + BOOTSTRAP_SERVERS + " to use an existing Kafka)", e);
        }
        properties.addOverrideProperty(BOOTSTRAP_SERVERS, broker.bootstrapServers());
        try {
            context.addService(new BrokerService(broker), true, true);
        } catch (Exception e) {
            broker.stop();
            throw new IllegalStateException(e);
        }
    }

    /** The embedded broker, or null when an external Kafka is used. */
    public EmbeddedKafkaBroker broker() {
        return broker;
    }

    /** Stops the broker if Camel never got far enough to stop it. */
    void stopBroker() {
        if (broker != null) {
            broker.stop();
        }
    }

    private static final class BrokerService extends ServiceSupport {
        private final EmbeddedKafkaBroker broker;

        BrokerService(EmbeddedKafkaBroker broker) {
            this.broker = broker;
        }

        @Override
        protected void doStop() {
            broker.stop();
        }
    }
}
