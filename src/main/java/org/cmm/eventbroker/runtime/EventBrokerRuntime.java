package org.cmm.eventbroker.runtime;

import java.util.Map;

import org.apache.camel.CamelContext;
import org.apache.camel.main.Main;
import org.cmm.eventbroker.dev.EmbeddedKafkaBroker;

/**
 * One runtime instance: Camel Main plus, when needed, its embedded broker. Tests start it in-process with property
 * overrides (ports, folders, an external bootstrap) exactly as the launcher does.
 */
public final class EventBrokerRuntime implements AutoCloseable {

    private final EmbeddedBrokerBootstrap bootstrap = new EmbeddedBrokerBootstrap();
    private final Main main = EventBrokerMain.newMain(bootstrap);

    public EventBrokerRuntime() {
    }

    public EventBrokerRuntime(Map<String, String> overrides) {
        overrides.forEach(main::addOverrideProperty);
    }

    /** Runs until the JVM is asked to stop (Ctrl+C, SIGTERM). */
    public void run(String... args) throws Exception {
        try {
            main.run(args);
        } finally {
            bootstrap.stopBroker();
        }
    }

    /** Starts and returns once every route is started. */
    public EventBrokerRuntime start() throws Exception {
        try {
            main.start();
        } catch (Exception | Error e) {
            bootstrap.stopBroker();
            throw e;
        }
        return this;
    }

    public CamelContext camelContext() {
        return main.getCamelContext();
    }

    /** The embedded broker, or null when the runtime was pointed at an existing Kafka. */
    public EmbeddedKafkaBroker embeddedBroker() {
        return bootstrap.broker();
    }

    /** The Kafka bootstrap servers in use. */
    public String bootstrapServers() {
        return camelContext().resolvePropertyPlaceholders("{{" + EmbeddedBrokerBootstrap.BOOTSTRAP_SERVERS + "}}");
    }

    @Override
    public void close() {
        try {
            main.stop();
        } finally {
            bootstrap.stopBroker();
        }
    }
}
