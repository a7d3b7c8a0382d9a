package org.cmm.eventbroker.device;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.Test;

class DeviceReadingInspectorTest {

    private static final Instant NOW = Instant.parse("2026-06-01T12:00:00Z");
    private static final MeasurementCatalogue CATALOGUE = MeasurementCatalogue.load("classpath:device/measurements.properties");

    private static DeviceReadingInspector inspector() {
        DeviceReadingInspector inspector = new DeviceReadingInspector();
        inspector.useChecks(new ReadingChecks(CATALOGUE, Duration.ofMinutes(5), Duration.ofHours(24),
                Clock.fixed(NOW, ZoneOffset.UTC)));
        return inspector;
    }

    private static byte[] json(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static ObjectNode canonical(String body) throws DeviceReadingRejectedException {
        return inspector().canonical(json(body), "patient-monitor", "PM-1", "vitals");
    }

    private static String rejection(String body) {
        return assertThrows(DeviceReadingRejectedException.class, () -> canonical(body)).getReason();
    }

    /** The event id the HTTP intake gives a reading posted to path, the key it de-duplicates on. */
    private static String eventId(String path, String body) throws Exception {
        DeviceReadingInspector inspector = inspector();
        inspector.setSource("http");
        Exchange exchange = new DefaultExchange(new DefaultCamelContext());
        exchange.getMessage().setHeader(Exchange.HTTP_PATH, path);
        exchange.getMessage().setHeader(Exchange.CONTENT_TYPE, "application/json");
        exchange.getMessage().setHeader("Idempotency-Key", "gateway-key");
        exchange.getMessage().setBody(json(body));
        inspector.process(exchange);
        return exchange.getMessage().getHeader("ce_id", String.class);
    }

    @Test
    void aResentReadingKeepsItsEventIdAndAnyOtherReadingGetsAnother() throws Exception {
        String reading = "{\"timestamp\":\"2026-06-01T11:59:59Z\",\"readings\":[{\"code\":\"MDC_FLOW_FLUID_PUMP\","
                + "\"value\":80,\"unit\":\"mL/h\"}]}";
        String id = eventId("/devices/infusion-pump/IP-1/status", reading);
        assertEquals(id, eventId("/devices/infusion-pump/IP-1/status", reading), "a resend");
        java.util.Set<String> others = java.util.Set.of(
                eventId("/devices/infusion-pump/IP-1/status", reading.replace("11:59:59", "11:59:58")),
                eventId("/devices/infusion-pump/IP-1/status", reading.replace(":80,", ":81,")),
                eventId("/devices/infusion-pump/IP-2/status", reading),
                eventId("/devices/patient-monitor/IP-1/status", reading),
                eventId("/devices/infusion-pump/IP-1/settings", reading),
                eventId("/devices/infusion-pump/IP-1/status", reading.replace("{\"time", "{\"seq\":2,\"time")));
        assertEquals(6, others.size(), "each reading its own id");
        assertTrue(!others.contains(id), "none the first reading's");
    }

    @Test
    void aPlausibleReadingBecomesCanonicalJsonWithTheDeviceFromTheTopic() throws Exception {
        ObjectNode out = canonical("{\"timestamp\":\"2026-06-01T11:59:59Z\",\"patientId\":\"PAT-1\",\"seq\":7,"
                + "\"readings\":[{\"code\":\"MDC_PULS_OXIM_SAT_O2\",\"value\":97,\"unit\":\"%\"},"
                + "{\"code\":\"147842\",\"value\":72,\"unit\":\"/min\"},{\"code\":\"LOCAL_CODE\",\"value\":\"on\"}]}");
        assertEquals("PM-1", out.get("deviceId").asText());
        assertEquals("patient-monitor", out.get("deviceType").asText());
        assertEquals("vitals", out.get("dataType").asText());
        assertEquals("PAT-1", out.get("patientId").asText());
        assertEquals(3, out.get("readings").size());
        assertEquals(7, out.get("seq").asInt(), "the gateway's own fields travel on");
    }

    @Test
    void impossibleValuesWrongUnitsAndMissingUnitsAreRejectedNamingTheRangeNotTheValue() {
        String spo2 = rejection("{\"timestamp\":\"2026-06-01T12:00:00Z\",\"readings\":[{\"code\":\"MDC_PULS_OXIM_SAT_O2\",\"value\":970,\"unit\":\"%\"}]}");
        assertTrue(spo2.contains("outside the plausible range 0..100 %"), spo2);
        assertTrue(!spo2.contains("970"), spo2);
        String temp = rejection("{\"timestamp\":\"2026-06-01T12:00:00Z\",\"readings\":[{\"code\":\"MDC_TEMP_BODY\",\"value\":98.6,\"unit\":\"[degF]\"}]}");
        assertTrue(temp.contains("expected cel"), temp);
        assertTrue(rejection("{\"timestamp\":\"2026-06-01T12:00:00Z\",\"readings\":[{\"code\":\"MDC_ECG_HEART_RATE\",\"value\":400,\"unit\":\"/min\"}]}")
                .contains("0..350"));
        assertTrue(rejection("{\"timestamp\":\"2026-06-01T12:00:00Z\",\"readings\":[{\"code\":\"MDC_ECG_HEART_RATE\",\"value\":60}]}")
                .contains("needs a unit"));
        assertTrue(rejection("{\"timestamp\":\"2026-06-01T12:00:00Z\",\"readings\":[{\"code\":\"MDC_ECG_HEART_RATE\",\"value\":\"sixty\",\"unit\":\"/min\"}]}")
                .contains("must be a number"));
    }

    @Test
    void clockSkewedTimestampsAreRejected() {
        assertTrue(rejection("{\"timestamp\":\"2026-06-01T12:06:00Z\",\"readings\":[{\"code\":\"X\",\"value\":1}]}")
                .contains("in the future"));
        assertTrue(rejection("{\"timestamp\":\"2026-05-31T11:59:00Z\",\"readings\":[{\"code\":\"X\",\"value\":1}]}")
                .contains("older than"));
        assertTrue(rejection("{\"timestamp\":\"2026-06-01 12:00\",\"readings\":[{\"code\":\"X\",\"value\":1}]}")
                .contains("RFC 3339"));
        assertTrue(rejection("{\"timestamp\":\"2026-06-01T12:00:00\",\"readings\":[{\"code\":\"X\",\"value\":1}]}")
                .contains("RFC 3339"), "a timestamp without offset is ambiguous");
    }

    @Test
    void malformedPayloadsAreRejectedWithoutQuotingThem() {
        String malformed = rejection("{\"timestamp\": SECRET-PATIENT");
        assertTrue(malformed.startsWith("malformed JSON at line 1"), malformed);
        assertTrue(!malformed.contains("SECRET"), malformed);
        assertEquals("empty body", rejection(""));
        assertEquals("body must be a JSON object", rejection("[1,2]"));
        assertTrue(rejection("{\"timestamp\":\"2026-06-01T12:00:00Z\"}").contains("readings"));
        assertTrue(rejection("{\"timestamp\":\"2026-06-01T12:00:00Z\",\"readings\":[]}").contains("readings"));
        assertTrue(rejection("{\"readings\":[{\"code\":\"X\",\"value\":1}]}").contains("timestamp is missing"));
        assertTrue(rejection("{\"timestamp\":\"2026-06-01T12:00:00Z\",\"deviceId\":\"OTHER\",\"readings\":[{\"code\":\"X\",\"value\":1}]}")
                .contains("deviceId in the body differs"));
    }

    @Test
    void unknownDeviceAndDataTypesAreRejected() {
        DeviceReadingInspector inspector = inspector();
        String body = "{\"timestamp\":\"2026-06-01T12:00:00Z\",\"readings\":[{\"code\":\"X\",\"value\":1}]}";
        DeviceReadingRejectedException device = assertThrows(DeviceReadingRejectedException.class,
                () -> inspector.canonical(json(body), "toaster", "T-1", "vitals"));
        assertTrue(device.getReason().startsWith("unknown device type 'toaster'"), device.getReason());
        assertEquals(422, device.getStatus());
        DeviceReadingRejectedException data = assertThrows(DeviceReadingRejectedException.class,
                () -> inspector.canonical(json(body), "ventilator", "V-1", "gossip"));
        assertTrue(data.getReason().startsWith("unknown data type 'gossip'"), data.getReason());
    }

    @Test
    void theMqttTopicLayoutFollowsTheConfiguredPrefix() throws Exception {
        DeviceReadingInspector inspector = inspector();
        inspector.setTopicPrefix("site-a/devices/");
        String[] address = inspector.mqttAddress("site-a/devices/Patient-Monitor/PM-0042/vitals");
        assertEquals("patient-monitor", address[0]);
        assertEquals("PM-0042", address[1]);
        assertEquals("vitals", address[2]);
        assertThrows(DeviceReadingRejectedException.class, () -> inspector.mqttAddress("devices/patient-monitor/PM-1/vitals"));
        assertThrows(DeviceReadingRejectedException.class, () -> inspector.mqttAddress("site-a/devices/patient-monitor/vitals"));
        assertEquals("infusion-pump", DeviceReadingInspector.httpAddress("/devices/infusion-pump/IP-7/status")[0]);
    }
}
