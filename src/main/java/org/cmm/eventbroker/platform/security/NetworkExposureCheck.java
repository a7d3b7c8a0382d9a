package org.cmm.eventbroker.platform.security;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import org.apache.camel.main.BaseMainSupport;
import org.apache.camel.main.MainListenerSupport;
import org.apache.camel.spi.PropertiesComponent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The development posture: while security is off, nothing the runtime listens on is reachable from another host.
 * Before anything starts (the embedded broker included), every listener's bind address must be loopback; a
 * non-loopback one refuses the start and names the setting, unless the loudly named override
 * {@value #ALLOW_REMOTE_WITHOUT_SECURITY} is set, and then every start says so at WARN (as Redis' protected mode).
 */
public class NetworkExposureCheck extends MainListenerSupport {

    public static final String SECURITY_ENABLED = "cmm.security.enabled";
    public static final String ALLOW_REMOTE_WITHOUT_SECURITY = "cmm.security.insecure-allow-unauthenticated-remote-access";
    /**
     * The bind address of every listener the runtime opens. A new listener adds its key here
     * (RouteAndKameletConventionsTest checks that every listening endpoint's host is one of them).
     */
    public static final List<String> LISTENER_HOST_KEYS = List.of(
            "camel.management.host",
            "camel.server.host",
            "cmm.mllp.host",
            "cmm.lab.results.host",
            "cmm.pharmacy.dispensing.host",
            "cmm.device.pcd.host",
            "cmm.device.alerts.pcd.host",
            "cmm.fhir.subscription.websocket.host");

    /** The embedded development broker's listeners: only when no external Kafka is configured. */
    static final String EMBEDDED_BROKER_HOST = "cmm.kafka.embedded.host";

    private static final Logger LOG = LoggerFactory.getLogger(NetworkExposureCheck.class);

    @Override
    public void beforeConfigure(BaseMainSupport main) {
        check(main.getCamelContext().getPropertiesComponent());
    }

    /** Throws when a listener would be reachable from another host without authentication; warns when allowed to. */
    static void check(PropertiesComponent properties) {
        if (flag(properties, SECURITY_ENABLED)) {
            // the production posture: every listener authenticates its callers (Kafka SASL_SSL/mTLS, HTTPS with
            // bearer tokens, MLLP over TLS with client certificates, the websocket with a token), so it may bind
            // beyond loopback
            return;
        }
        List<String> exposed = new ArrayList<>();
        for (String key : keys(properties)) {
            Optional<String> host = properties.resolveProperty(key);
            if (host.isPresent() && !isLoopback(host.get().trim())) {
                exposed.add(key + "=" + host.get().trim());
            }
        }
        if (exposed.isEmpty()) {
            return;
        }
        if (!flag(properties, ALLOW_REMOTE_WITHOUT_SECURITY)) {
            throw new IllegalStateException("Refusing to start: " + String.join(", ", exposed) + " would accept "
                    + "connections from other hosts, and no listener authenticates its callers while security is off. "
                    + "Bind to 127.0.0.1, or set " + ALLOW_REMOTE_WITHOUT_SECURITY + "=true to accept the risk");
        }
        LOG.warn("SECURITY OFF: {} reachable from other hosts WITHOUT AUTHENTICATION ({}=true). Anyone who can reach "
                + "these ports can send, read and manage patient data.", String.join(", ", exposed),
                ALLOW_REMOTE_WITHOUT_SECURITY);
    }

    private static List<String> keys(PropertiesComponent properties) {
        List<String> keys = new ArrayList<>(LISTENER_HOST_KEYS);
        if (properties.resolveProperty("cmm.kafka.bootstrap-servers").orElse("").isBlank()) {
            keys.add(EMBEDDED_BROKER_HOST);
        }
        return keys;
    }

    static boolean isLoopback(String host) {
        if (host.isEmpty()) {
            return false; // an empty bind address means every interface to most servers
        }
        try {
            for (InetAddress address : InetAddress.getAllByName(host)) {
                if (!address.isLoopbackAddress()) {
                    return false;
                }
            }
            return true;
        } catch (UnknownHostException e) {
            return false;
        }
    }

    private static boolean flag(PropertiesComponent properties, String key) {
        return Boolean.parseBoolean(properties.resolveProperty(key).orElse("false").trim());
    }
}
