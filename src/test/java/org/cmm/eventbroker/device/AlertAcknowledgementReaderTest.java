package org.cmm.eventbroker.device;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vertx.ext.auth.User;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.Test;

/**
 * Who acknowledged an alert: with access control on, the caller the access guard verified (the platform HTTP
 * server's authenticated user), never a name the request body claims; without it (development posture), the body's.
 */
class AlertAcknowledgementReaderTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String AUTHENTICATED_USER = "CamelVertxPlatformHttpAuthenticatedUser";

    private static JsonNode read(String body, Object authenticatedUser) throws Exception {
        Exchange exchange = new DefaultExchange(new DefaultCamelContext());
        exchange.getMessage().setHeader("alertId", "A-17");
        if (authenticatedUser != null) {
            exchange.getMessage().setHeader(AUTHENTICATED_USER, authenticatedUser);
        }
        exchange.getMessage().setBody(body.getBytes(StandardCharsets.UTF_8));
        new AlertAcknowledgementReader().process(exchange);
        return JSON.readTree(exchange.getMessage().getBody(byte[].class));
    }

    @Test
    void theVerifiedCallerIsWhoAcknowledgedWhateverTheBodyClaims() throws Exception {
        JsonNode ack = read("{\"acknowledgedBy\":\"dr.house\"}", User.fromName("nurse.ada"));
        assertEquals("nurse.ada", ack.path("acknowledgedBy").asText());
        assertEquals("A-17", ack.path("alertId").asText());
    }

    @Test
    void aVerifiedCallerNeedsNoAcknowledgedByInTheBody() throws Exception {
        assertEquals("nurse.ada", read("{}", User.fromName("nurse.ada")).path("acknowledgedBy").asText());
    }

    @Test
    void aPlainHeaderNamedLikeTheAuthenticatedUserIsNotAVerifiedCaller() throws Exception {
        // only the server's User object counts; a string (as a forged request header would be) does not
        assertEquals("dr.house", read("{\"acknowledgedBy\":\"dr.house\"}", "nurse.ada").path("acknowledgedBy").asText());
    }

    @Test
    void withoutAccessControlTheBodyMustNameWho() {
        assertThrows(DeviceAlertRejectedException.class, () -> read("{}", null));
    }
}
