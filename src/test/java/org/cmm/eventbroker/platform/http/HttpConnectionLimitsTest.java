package org.cmm.eventbroker.platform.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Properties;

import org.apache.camel.impl.DefaultCamelContext;
import org.cmm.eventbroker.routes.ConfigurationKeys;
import org.junit.jupiter.api.Test;

/**
 * The HTTP connection limits as configured: the shipped file's values reach the guard, a bad value names its key, and
 * the read deadline grows with the bytes received at the minimum rate only.
 */
class HttpConnectionLimitsTest {

    private static HttpConnectionLimits limitsOf(Properties properties) throws Exception {
        try (DefaultCamelContext context = new DefaultCamelContext()) {
            context.getPropertiesComponent().setInitialProperties(properties);
            return HttpConnectionLimits.of(context);
        }
    }

    @Test
    void theShippedConfigurationIsWhatTheGuardEnforces() throws Exception {
        Properties all = ConfigurationKeys.load();
        HttpConnectionLimits limits = limitsOf(all);
        assertEquals(Integer.parseInt(all.getProperty("camel.server.port").trim()), limits.port());
        assertEquals(Duration.ofSeconds(60), limits.idleTimeout());
        assertEquals(Duration.ofSeconds(30), limits.requestReadTimeout());
        assertEquals(65536, limits.requestReadMinBytesPerSecond());
        assertEquals(Duration.ofSeconds(2), limits.slowRequest());
        assertEquals(1000, limits.maxConnections());
        assertEquals(100, limits.maxConnectionsPerAddress());
        // a stream's heartbeat is well inside the idle timeout
        long heartbeatMs = Long.parseLong(all.getProperty("cmm.eventapi.stream.heartbeat-ms").trim());
        assertTrue(heartbeatMs * 2 < limits.idleTimeout().toMillis(), "heartbeat " + heartbeatMs + " ms");
        // and the largest body the server reads still has its time at the minimum rate
        long maxBody = Long.parseLong(all.getProperty("camel.server.max-body-size").trim());
        assertEquals(Duration.ofSeconds(30 + maxBody / 65536), limits.readAllowance(maxBody));
    }

    @Test
    void aBadValueNamesItsKey() throws Exception {
        Properties bad = new Properties();
        bad.setProperty(HttpConnectionLimits.MAX_CONNECTIONS, "lots");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> limitsOf(bad));
        assertTrue(e.getMessage().contains(HttpConnectionLimits.MAX_CONNECTIONS), e.getMessage());
        Properties negative = new Properties();
        negative.setProperty(HttpConnectionLimits.IDLE_TIMEOUT, "-1");
        e = assertThrows(IllegalArgumentException.class, () -> limitsOf(negative));
        assertTrue(e.getMessage().contains(HttpConnectionLimits.IDLE_TIMEOUT), e.getMessage());
    }

    @Test
    void withoutAMinimumRateTheReadDeadlineIsFixed() throws Exception {
        Properties fixed = new Properties();
        fixed.setProperty(HttpConnectionLimits.REQUEST_READ_MIN_RATE, "0");
        fixed.setProperty(HttpConnectionLimits.REQUEST_READ_TIMEOUT, "5");
        assertEquals(Duration.ofSeconds(5), limitsOf(fixed).readAllowance(1_000_000));
    }
}
