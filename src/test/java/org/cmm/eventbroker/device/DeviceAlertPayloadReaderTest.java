package org.cmm.eventbroker.device;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;

import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.Test;

class DeviceAlertPayloadReaderTest {

    private static final Instant NOW = Instant.parse("2026-11-26T12:00:30Z");
    private static final String VALID = """
            {"alertId":"A-1","deviceId":"OX-7","deviceType":"pulse-oximeter","patientId":"PAT-4711",
             "kind":"physiological","priority":"high","code":"MDC_EVT_LO","text":"SpO2 low",
             "state":"active","timestamp":"2026-11-26T12:00:00Z","vendorExtra":"dropped"}""";

    private static DeviceAlertPayloadReader reader(String channel) {
        DeviceAlertPayloadReader reader = new DeviceAlertPayloadReader();
        reader.setChannel(channel);
        reader.setDeviceTypes("pulse-oximeter, infusion-pump");
        reader.setClock(Clock.fixed(NOW, ZoneOffset.UTC));
        reader.setMaxBodyBytes(2048);
        return reader;
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String reason(String json) {
        return assertThrows(DeviceAlertRejectedException.class, () -> reader("http").read(utf8(json), null)).getMessage();
    }

    @Test
    void aValidAlertIsReadAndNormalisedWithoutUnknownFields() throws Exception {
        DeviceAlert alert = reader("http").read(utf8(VALID), null);
        assertEquals("A-1", alert.alertId());
        assertEquals(DeviceAlert.Kind.PHYSIOLOGICAL, alert.kind());
        assertEquals(DeviceAlert.Priority.HIGH, alert.priority());
        String json = new String(DeviceAlertPayloadReader.toJson(alert), StandardCharsets.UTF_8);
        assertEquals("{\"alertId\":\"A-1\",\"deviceId\":\"OX-7\",\"deviceType\":\"pulse-oximeter\",\"patientId\":\"PAT-4711\","
                + "\"kind\":\"physiological\",\"priority\":\"high\",\"code\":\"MDC_EVT_LO\",\"text\":\"SpO2 low\","
                + "\"state\":\"active\",\"timestamp\":\"2026-11-26T12:00Z\"}", json);
    }

    @Test
    void theExchangeCarriesOnlyTheAlertHeadersAndTheCanonicalBody() throws Exception {
        CamelContext camel = new DefaultCamelContext();
        Exchange exchange = new DefaultExchange(camel);
        exchange.getMessage().setBody(utf8(VALID));
        exchange.getMessage().setHeader("Authorization", "Bearer secret");
        reader("http").process(exchange);
        assertNull(exchange.getMessage().getHeader("Authorization"));
        assertEquals("OX-7", exchange.getMessage().getHeader(DeviceAlertHeaders.DEVICE_ID));
        assertEquals("physiological", exchange.getMessage().getHeader(DeviceAlertHeaders.KIND));
        // ce_type (the topic name) is set by the device-alert-sink Kamelet: DeviceAlertsIT reads it on the topic
        assertEquals("PAT-4711", exchange.getMessage().getHeader("ce_subject"));
        assertEquals("http", exchange.getMessage().getHeader(DeviceAlertHeaders.CHANNEL));
        assertFalse(exchange.getMessage().getBody(String.class).contains("vendorExtra"));
    }

    @Test
    void mqttAlertsTakeTheDeviceFromTheTopicAndMustNotContradictIt() throws Exception {
        String noDevice = "{\"alertId\":\"A-2\",\"kind\":\"technical\",\"priority\":\"low\",\"code\":\"MDC_EVT_BATT_LO\","
                + "\"state\":\"active\",\"timestamp\":\"2026-11-26T12:00:00Z\"}";
        String[] topic = DeviceAlertPayloadReader.topicParts("devices/infusion-pump/PUMP-3/alerts");
        DeviceAlert alert = reader("mqtt").read(utf8(noDevice), topic);
        assertEquals("PUMP-3", alert.deviceId());
        assertEquals("infusion-pump", alert.deviceType());
        assertEquals("", alert.text());
        String other = assertThrows(DeviceAlertRejectedException.class,
                () -> reader("mqtt").read(utf8(VALID), topic)).getMessage();
        assertTrue(other.contains("differs from the MQTT topic"), other);
        assertThrows(DeviceAlertRejectedException.class, () -> DeviceAlertPayloadReader.topicParts("devices/x/readings"));
    }

    @Test
    void malformedPayloadsAreRejectedNamingTheProblemNotTheContent() {
        assertEquals("empty payload", assertThrows(DeviceAlertRejectedException.class,
                () -> reader("http").read(new byte[0], null)).getMessage());
        assertTrue(reason("{\"alertId\":\"A-1\",").contains("not well-formed JSON"));
        assertTrue(reason("[1,2]").contains("not a JSON object"));
        assertTrue(reason("{} {}").contains("not well-formed JSON"));
        assertTrue(reason(VALID.replace("\"A-1\"", "42")).contains("alertId must be a string"));
        assertTrue(reason(VALID.replace("\"alertId\":\"A-1\",", "")).contains("alertId is missing"));
        assertTrue(reason(VALID.replace("A-1", "A 1/../x")).contains("alertId must be"));
        assertTrue(reason(VALID.replace("SpO2 low", "x".repeat(1100))).contains("longer than"));
    }

    @Test
    void unknownDeviceTypesAndImpossibleValuesAreRejected() {
        assertTrue(reason(VALID.replace("pulse-oximeter", "toaster")).contains("unknown device type"));
        assertTrue(reason(VALID.replace("\"high\"", "\"urgent\"")).contains("priority must be high, medium or low"));
        assertTrue(reason(VALID.replace("\"physiological\"", "\"emotional\"")).contains("kind must be"));
        assertTrue(reason(VALID.replace("\"active\"", "\"maybe\"")).contains("state must be"));
        assertTrue(reason(VALID.replace("2026-11-26T12:00:00Z", "2026-11-26T12:00:00")).contains("RFC 3339"));
        assertTrue(reason(VALID.replace("2026-11-26T12:00:00Z", "2026-13-45T12:00:00Z")).contains("RFC 3339"));
        String why = reason(VALID.replace("pulse-oximeter", "toaster"));
        assertFalse(why.contains("PAT-4711") || why.contains("SpO2"), why);
    }

    @Test
    void clockSkewedTimestampsAreRejectedBothWays() {
        assertTrue(reason(VALID.replace("2026-11-26T12:00:00Z", "2026-11-26T12:30:00Z")).contains("in the future"));
        assertTrue(reason(VALID.replace("2026-11-26T12:00:00Z", "1970-01-01T00:00:00Z")).contains("old"));
        assertArrayEquals(new String[] {"pulse-oximeter", "OX-7"},
                assertDoesNotThrowTopic("plant/a/devices/pulse-oximeter/OX-7/alerts"));
    }

    private static String[] assertDoesNotThrowTopic(String topic) {
        try {
            return DeviceAlertPayloadReader.topicParts(topic);
        } catch (DeviceAlertRejectedException e) {
            throw new AssertionError(e);
        }
    }
}
