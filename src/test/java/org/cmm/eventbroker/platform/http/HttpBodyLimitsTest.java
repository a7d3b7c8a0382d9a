package org.cmm.eventbroker.platform.http;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.Properties;
import java.util.stream.Collectors;

import org.cmm.eventbroker.routes.ConfigurationKeys;
import org.junit.jupiter.api.Test;

/**
 * Every HTTP intake promises a body limit of its own ({@code cmm.*.max-body-bytes}) with its own answer: 413 with
 * the reason and the body's head on the dead-letter topic. That only happens when the platform HTTP server lets
 * such a body through to the intake: Vert.x's own limit (10 MiB unless {@code camel.server.max-body-size} is set)
 * would answer its own bare 413 first, with no dead letter.
 */
class HttpBodyLimitsTest {

    @Test
    void thePlatformHttpServerLetsEveryIntakesOversizeBodyReachTheIntake() throws Exception {
        Properties all = ConfigurationKeys.load();
        Map<String, Long> intakeLimits = all.stringPropertyNames().stream()
                .filter(k -> k.startsWith("cmm.") && k.endsWith("max-body-bytes"))
                .collect(Collectors.toMap(k -> k, k -> Long.parseLong(all.getProperty(k).trim())));
        assertFalse(intakeLimits.isEmpty());
        String serverLimit = all.getProperty("camel.server.max-body-size");
        assertNotNull(serverLimit, "camel.server.max-body-size is not set: Vert.x's 10 MiB default answers first");
        long server = Long.parseLong(serverLimit.trim());
        intakeLimits.forEach((key, limit) -> assertTrue(server > limit, "camel.server.max-body-size (" + server
                + ") must be above " + key + " (" + limit + ") so that the intake answers its own 413"));
    }
}
