package org.cmm.eventbroker.runtime;

import org.apache.camel.main.Main;

/**
 * Starts the Event Broker runtime on Camel Main: YAML routes from {@code routes/}, Kamelets from {@code kamelets/},
 * configuration from {@code application.properties} (overridable by system properties and environment variables),
 * and an embedded Kafka broker when no bootstrap servers are configured.
 */
public final class EventBrokerMain {

    private EventBrokerMain() {
    }

    public static void main(String[] args) throws Exception {
        EventBrokerRuntime runtime = new EventBrokerRuntime();
        runtime.run(args);
    }

    /** A Camel Main with the embedded-broker bootstrap, for the launcher and for tests. */
    static Main newMain(EmbeddedBrokerBootstrap bootstrap) {
        Main main = new Main();
        // application.properties (platform) plus one config/<domain>.properties per domain
        main.setPropertyPlaceholderLocations(ConfigurationFiles.locations());
        // first: nothing (not even the embedded broker) starts with a listener exposed beyond loopback
        main.addMainListener(new org.cmm.eventbroker.platform.security.NetworkExposureCheck());
        // the production posture (cmm.security.enabled): audit sink and TLS material before anything listens
        main.addMainListener(new org.cmm.eventbroker.platform.security.SecurePostureBootstrap());
        // the one Vert.x of the HTTP servers: connection limits of the platform HTTP server (config/http.properties),
        // and with cmm.access.client-certificates.enabled the HTTPS servers ask for client certificates (mTLS beside tokens)
        main.addMainListener(new org.cmm.eventbroker.platform.http.HttpServerVertx());
        main.addMainListener(bootstrap);
        // cmm.flows: only the named flows and what their files declare they need
        FlowSelection flows = new FlowSelection();
        main.addMainListener(flows);
        // camel.main.routes-reload-enabled: a saved route file takes effect without a restart (refused if broken)
        main.addMainListener(new RouteFileReloading(flows::selectedFiles));
        main.addMainListener(new org.cmm.eventbroker.platform.metrics.TopicMetricsInstaller());
        // Camel 4.17's HTTP servers add an event notifier per route started; every notifier costs each exchange
        main.addMainListener(new HttpSummaryNotifierCleanup());
        // which routeConfiguration (error handling) each route uses, once the routes have started
        main.addMainListener(new RouteConfigurationSummary());
        return main;
    }
}
