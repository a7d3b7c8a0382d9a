package org.cmm.eventbroker.testsupport;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import org.cmm.eventbroker.dev.EmbeddedKafkaBroker;
import org.cmm.eventbroker.runtime.EventBrokerRuntime;
import org.cmm.eventbroker.runtime.FlowSelection;

/**
 * A real Kafka broker on free loopback ports plus the runtime pointed at it, each in its own temporary folder, so
 * test classes never share state. Tests can stop and restart either part.
 *
 * <p>Most tests exercise one flow: {@link #flows(String...)} starts only those flows' route files (plus the
 * routeConfigurations, direct: routes and beans they declare they need, and the platform pieces; see
 * {@link org.cmm.eventbroker.runtime.Flows}), which starts in a fraction of the time of all routes. The constructors
 * start every route: keep that for the few whole-runtime tests.
 */
public final class RuntimeUnderTest implements AutoCloseable {

    private final Path folder;
    private final EmbeddedKafkaBroker broker;
    private final boolean ownsBroker;
    private final int mllpPort = FreePorts.next();
    private final int managementPort = FreePorts.next();
    private final int httpPort = FreePorts.next();
    private final int labResultsPort = FreePorts.next();
    private final int dispensingPort = FreePorts.next();
    private final int deviceAlertsPcdPort = FreePorts.next();
    private final int devicePcdPort = FreePorts.next();
    private final Map<String, String> overrides = new HashMap<>();
    private EventBrokerRuntime runtime;

    public RuntimeUnderTest() throws Exception {
        this(Map.of());
    }

    public RuntimeUnderTest(Map<String, String> extraProperties) throws Exception {
        this(null, extraProperties);
    }

    /**
     * A runtime against a broker another instance owns (scale-out tests: several instances, one cluster), or its own
     * broker when {@code sharedBroker} is null. A shared broker is left running on close.
     */
    public RuntimeUnderTest(EmbeddedKafkaBroker sharedBroker, Map<String, String> extraProperties) throws Exception {
        folder = Files.createTempDirectory("cmm-runtime-test");
        ownsBroker = sharedBroker == null;
        broker = ownsBroker
                ? new EmbeddedKafkaBroker("127.0.0.1", FreePorts.next(), FreePorts.next(), folder.resolve("kafka"), Map.of())
                : sharedBroker;
        if (ownsBroker) {
            broker.start();
        }
        overrides.put("cmm.kafka.bootstrap-servers", broker.bootstrapServers());
        overrides.put("cmm.mllp.host", "127.0.0.1");
        overrides.put("cmm.mllp.port", String.valueOf(mllpPort));
        overrides.put("camel.main.jmx-enabled", "false");
        overrides.put("camel.management.host", "127.0.0.1");
        overrides.put("camel.management.port", String.valueOf(managementPort));
        overrides.put("camel.server.host", "127.0.0.1");
        overrides.put("camel.server.port", String.valueOf(httpPort));
        overrides.put("cmm.lab.results.host", "127.0.0.1");
        overrides.put("cmm.lab.results.port", String.valueOf(labResultsPort));
        overrides.put("cmm.pharmacy.dispensing.host", "127.0.0.1");
        overrides.put("cmm.pharmacy.dispensing.port", String.valueOf(dispensingPort));
        overrides.put("cmm.device.alerts.pcd.host", "127.0.0.1");
        overrides.put("cmm.device.alerts.pcd.port", String.valueOf(deviceAlertsPcdPort));
        overrides.put("cmm.device.pcd.host", "127.0.0.1");
        overrides.put("cmm.device.pcd.port", String.valueOf(devicePcdPort));
        // outbound peers: nothing listens on these until a test starts one there
        overrides.put("cmm.lab.lis.port", String.valueOf(FreePorts.next()));
        overrides.put("cmm.pharmacy.system.port", String.valueOf(FreePorts.next()));
        overrides.put("cmm.ehr.mllp.port", String.valueOf(FreePorts.next()));
        // the FHIR Subscription websocket server: every runtime (two in ScaleOutIT) on its own loopback port
        overrides.put("cmm.fhir.subscription.websocket.host", "127.0.0.1");
        overrides.put("cmm.fhir.subscription.websocket.port", String.valueOf(FreePorts.next()));
        // Kafka Streams locks its state directory: the default (data/analytics under the working directory) is shared
        // by every test JVM of the build, so each runtime under test keeps its state in its own folder
        overrides.put("cmm.analytics.state-dir", folder.resolve("analytics").toString());
        overrides.putAll(extraProperties);
        startRuntime();
    }

    /**
     * Only these flows (route file names without .camel.yaml, e.g. {@code hl7-mllp-inbound}), through the runtime's own
     * {@code cmm.flows} switch.
     */
    public static Builder flows(String... flows) {
        return new Builder(flows);
    }

    /** A runtime of some flows; {@link #start()} starts its broker and the runtime. */
    public static final class Builder {
        private final Map<String, String> properties = new HashMap<>();
        private EmbeddedKafkaBroker broker;

        private Builder(String... flows) {
            if (flows.length == 0) {
                throw new IllegalArgumentException("name at least one flow");
            }
            properties.put(FlowSelection.FLOWS, String.join(",", flows));
        }

        /** Runtime properties for this test (peers' ports, switches), as the constructors' extraProperties. */
        public Builder with(Map<String, String> extraProperties) {
            properties.putAll(extraProperties);
            return this;
        }

        public Builder with(String key, String value) {
            properties.put(key, value);
            return this;
        }

        /** Against a broker another instance owns (left running on close). */
        public Builder broker(EmbeddedKafkaBroker sharedBroker) {
            this.broker = sharedBroker;
            return this;
        }

        public RuntimeUnderTest start() throws Exception {
            return new RuntimeUnderTest(broker, properties);
        }
    }

    public void startRuntime() throws Exception {
        runtime = new EventBrokerRuntime(overrides).start();
    }

    /** Starts the runtime again with some properties changed, as an operator would after fixing a setting. */
    public void startRuntime(Map<String, String> changed) throws Exception {
        overrides.putAll(changed);
        startRuntime();
    }

    public void stopRuntime() {
        if (runtime != null) {
            runtime.close();
            runtime = null;
        }
    }

    public EventBrokerRuntime runtime() {
        return runtime;
    }

    public EmbeddedKafkaBroker broker() {
        return broker;
    }

    /** The management HTTP server (health, metrics). */
    public int managementPort() {
        return managementPort;
    }

    public int mllpPort() {
        return mllpPort;
    }

    /** The platform HTTP server of the inbound HTTP flows (EHR API webhooks). */
    public int httpPort() {
        return httpPort;
    }

    /** MLLP listener for lab results from the LIS. */
    public int labResultsPort() {
        return labResultsPort;
    }

    /** MLLP listener for dispensing messages from the pharmacy system. */
    public int dispensingPort() {
        return dispensingPort;
    }

    /** MLLP listener for IHE PCD-04 device alerts (ORU^R40). */
    public int deviceAlertsPcdPort() {
        return deviceAlertsPcdPort;
    }

    /** MLLP listener for IHE PCD-01 device observation reports from device gateways. */
    public int devicePcdPort() {
        return devicePcdPort;
    }

    /** The value of a property as this runtime was given it (a port a test peer must listen on, say). */
    public String property(String key) {
        return overrides.get(key);
    }

    public String bootstrapServers() {
        return broker.bootstrapServers();
    }

    public KafkaTopicReader topics() {
        return new KafkaTopicReader(broker.bootstrapServers());
    }

    @Override
    public void close() throws Exception {
        try {
            stopRuntime();
        } finally {
            if (ownsBroker) {
                broker.stop();
            }
            EmbeddedKafkaBroker.deleteDataDir(folder);
        }
    }
}
