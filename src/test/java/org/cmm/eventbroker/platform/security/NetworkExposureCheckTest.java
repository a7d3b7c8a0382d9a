package org.cmm.eventbroker.platform.security;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.spi.PropertiesComponent;
import org.cmm.eventbroker.testsupport.LogCapture;
import org.junit.jupiter.api.Test;

class NetworkExposureCheckTest {

    private static PropertiesComponent properties(Map<String, String> values) throws IOException {
        Properties defaults = new Properties();
        try (InputStream in = NetworkExposureCheck.class.getResourceAsStream("/application.properties")) {
            defaults.load(in);
        }
        // the per-domain files the runtime reads beside it (hl7, lab, fhir, ...)
        for (String file : org.cmm.eventbroker.runtime.ConfigurationFiles.domainFiles()) {
            try (InputStream in = NetworkExposureCheck.class.getResourceAsStream("/config/" + file)) {
                defaults.load(in);
            }
        }
        DefaultCamelContext context = new DefaultCamelContext();
        PropertiesComponent pc = context.getPropertiesComponent();
        pc.setInitialProperties(defaults);
        values.forEach(pc::addOverrideProperty);
        return pc;
    }

    @Test
    void theDefaultConfigurationBindsEveryListenerToLoopback() throws IOException {
        PropertiesComponent pc = properties(Map.of());
        for (String key : NetworkExposureCheck.LISTENER_HOST_KEYS) {
            String host = pc.resolveProperty(key).orElseThrow(() -> new AssertionError(key + " has no default"));
            assertTrue(NetworkExposureCheck.isLoopback(host), key + " = " + host);
        }
        assertTrue(NetworkExposureCheck.isLoopback(pc.resolveProperty(NetworkExposureCheck.EMBEDDED_BROKER_HOST).orElseThrow()));
        assertDoesNotThrow(() -> NetworkExposureCheck.check(pc));
    }

    @Test
    void aNonLoopbackBindWithoutSecurityRefusesToStartNamingTheSetting() throws IOException {
        for (String key : NetworkExposureCheck.LISTENER_HOST_KEYS) {
            PropertiesComponent pc = properties(Map.of(key, "0.0.0.0"));
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> NetworkExposureCheck.check(pc));
            assertTrue(e.getMessage().contains(key + "=0.0.0.0"), e.getMessage());
            assertTrue(e.getMessage().contains(NetworkExposureCheck.ALLOW_REMOTE_WITHOUT_SECURITY), e.getMessage());
        }
        PropertiesComponent empty = properties(Map.of("cmm.mllp.host", ""));
        assertThrows(IllegalStateException.class, () -> NetworkExposureCheck.check(empty));
    }

    @Test
    void theEmbeddedBrokerCountsOnlyWhenItRuns() throws IOException {
        assertThrows(IllegalStateException.class,
                () -> NetworkExposureCheck.check(properties(Map.of("cmm.kafka.embedded.host", "0.0.0.0"))));
        assertDoesNotThrow(() -> NetworkExposureCheck.check(properties(Map.of("cmm.kafka.embedded.host", "0.0.0.0",
                "cmm.kafka.bootstrap-servers", "kafka1:9092"))));
    }

    @Test
    void theExplicitOverrideStartsButWarnsLoudly() throws IOException {
        PropertiesComponent pc = properties(Map.of("cmm.mllp.host", "0.0.0.0",
                NetworkExposureCheck.ALLOW_REMOTE_WITHOUT_SECURITY, "true"));
        try (LogCapture logs = LogCapture.attach()) {
            assertDoesNotThrow(() -> NetworkExposureCheck.check(pc));
            List<String> warnings = logs.lines().stream().filter(l -> l.contains("SECURITY OFF")).toList();
            assertEquals(1, warnings.size(), logs.lines().toString());
            assertTrue(warnings.get(0).contains("cmm.mllp.host=0.0.0.0"), warnings.get(0));
        }
    }

    @Test
    void securityOnLetsAuthenticatedListenersBindBeyondLoopback() throws IOException {
        PropertiesComponent pc = properties(Map.of(NetworkExposureCheck.SECURITY_ENABLED, "true",
                "cmm.mllp.host", "0.0.0.0", "camel.server.host", "0.0.0.0"));
        assertDoesNotThrow(() -> NetworkExposureCheck.check(pc));
    }

    @Test
    void loopbackMeansLoopback() {
        assertTrue(NetworkExposureCheck.isLoopback("127.0.0.1"));
        assertTrue(NetworkExposureCheck.isLoopback("localhost"));
        assertTrue(NetworkExposureCheck.isLoopback("::1"));
        assertFalse(NetworkExposureCheck.isLoopback("0.0.0.0"));
        assertFalse(NetworkExposureCheck.isLoopback("::"));
        assertFalse(NetworkExposureCheck.isLoopback("no-such-host.invalid"));
    }

    /** A new listening endpoint in a route must bind through one of the checked keys, or the check would miss it. */
    @Test
    void everyListeningEndpointInTheRoutesBindsThroughACheckedKey() throws IOException {
        ObjectMapper yaml = new ObjectMapper(new YAMLFactory());
        Pattern placeholder = Pattern.compile("\\{\\{\\??([A-Za-z0-9_.-]+)}}");
        TreeSet<String> unchecked = new TreeSet<>();
        List<String> listeners = new ArrayList<>();
        try (Stream<Path> files = Files.walk(Path.of("routes"))) {
            for (Path file : files.filter(p -> p.toString().endsWith(".camel.yaml")).toList()) {
                for (JsonNode entry : yaml.readTree(file.toFile())) {
                    JsonNode from = entry.path("route").path("from");
                    String uri = from.path("uri").asText("");
                    String hostValue = null;
                    if (uri.startsWith("mllp-listener")) {
                        hostValue = from.path("parameters").path("host").asText(null);
                    } else if (uri.startsWith("vertx-websocket:")) {
                        hostValue = uri.substring("vertx-websocket:".length(), uri.lastIndexOf(':'));
                    } else {
                        continue;
                    }
                    listeners.add(file + " " + uri);
                    Matcher m = placeholder.matcher(hostValue == null ? "" : hostValue);
                    if (!m.matches() || !NetworkExposureCheck.LISTENER_HOST_KEYS.contains(m.group(1))) {
                        unchecked.add(file + ": " + uri + " host " + hostValue);
                    }
                }
            }
        }
        assertTrue(listeners.size() >= 6, "found the MLLP and websocket listeners: " + listeners);
        assertTrue(unchecked.isEmpty(), "listeners whose bind address NetworkExposureCheck does not check: " + unchecked);
    }
}
