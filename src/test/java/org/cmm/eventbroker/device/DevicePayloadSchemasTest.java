package org.cmm.eventbroker.device;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.apache.camel.support.processor.idempotent.MemoryIdempotentRepository;
import org.cmm.eventbroker.testsupport.PayloadSchemaCheck;
import org.junit.jupiter.api.Test;

/**
 * The payload schemas registered for the device events (schemas/cmm.device.*.json) describe what the producing code
 * writes: the canonical reading, the canonical alert, the acknowledgement and the escalated alert's push
 * notification. A field the producer always writes, left out, makes the payload invalid.
 */
class DevicePayloadSchemasTest {

    private static final Instant NOW = Instant.parse("2026-11-26T12:00:30Z");
    private static final String ALERT = """
            {"alertId":"A-1","deviceId":"OX-7","deviceType":"pulse-oximeter","patientId":"PAT-4711",
             "kind":"physiological","priority":"high","code":"MDC_EVT_LO","text":"SpO2 low",
             "state":"active","timestamp":"2026-11-26T12:00:00Z","vendorExtra":"dropped"}""";

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** The HTTP alert channel's processor, as the route runs it. */
    private static Exchange alertFromHttp(String body) throws Exception {
        DeviceAlertPayloadReader reader = new DeviceAlertPayloadReader();
        reader.setChannel("http");
        reader.setDeviceTypes("pulse-oximeter, infusion-pump");
        reader.setClock(Clock.fixed(NOW, ZoneOffset.UTC));
        Exchange exchange = new DefaultExchange(new DefaultCamelContext());
        exchange.getMessage().setBody(utf8(body));
        reader.process(exchange);
        return exchange;
    }

    @Test
    void aCanonicalReadingIsValidUnderCmmDeviceReadingV1() throws Exception {
        // the processor of the device-http-ingest route, as the route configures it
        DeviceReadingInspector inspector = new DeviceReadingInspector();
        inspector.setSource("http");
        inspector.useChecks(new ReadingChecks(MeasurementCatalogue.load("classpath:device/measurements.properties"),
                Duration.ofMinutes(5), Duration.ofHours(24), Clock.fixed(NOW, ZoneOffset.UTC)));
        Exchange exchange = new DefaultExchange(new DefaultCamelContext());
        exchange.getMessage().setHeader(Exchange.HTTP_PATH, "/devices/patient-monitor/PM-1/vitals");
        exchange.getMessage().setHeader(Exchange.CONTENT_TYPE, "application/json");
        exchange.getMessage().setBody(utf8("{\"timestamp\":\"2026-11-26T12:00:00Z\",\"patientId\":\"PAT-1\","
                + "\"seq\":7,\"readings\":[{\"code\":\"MDC_PULS_OXIM_SAT_O2\",\"value\":97,\"unit\":\"%\"},"
                + "{\"code\":149530,\"value\":72,\"unit\":\"/min\"},{\"code\":\"LOCAL_CODE\",\"value\":\"on\"}]}"));
        inspector.process(exchange);
        ObjectNode reading = PayloadSchemaCheck.parse(exchange.getMessage().getBody(byte[].class));
        assertEquals("PM-1", reading.get("deviceId").asText());
        PayloadSchemaCheck.of("cmm.device.reading.v1")
                .valid(reading)
                .invalidAfter(reading, r -> r.remove("deviceType"), "deviceType is always written")
                .invalidAfter(reading, r -> r.remove("readings"), "readings are always written")
                .invalidAfter(reading, r -> r.putArray("readings"), "an empty readings array is never written");
    }

    @Test
    void aCanonicalAlertIsValidUnderCmmDeviceAlertV1() throws Exception {
        ObjectNode alert = PayloadSchemaCheck.parse(alertFromHttp(ALERT).getMessage().getBody(byte[].class));
        // OffsetDateTime.toString leaves zero seconds out: the schema accepts what is written
        assertEquals("2026-11-26T12:00Z", alert.get("timestamp").asText());
        PayloadSchemaCheck.of("cmm.device.alert.v1")
                .valid(alert)
                .invalidAfter(alert, a -> a.remove("alertId"), "alertId is always written")
                .invalidAfter(alert, a -> a.put("kind", "cosmic"), "kind is one of the three topic names");
    }

    @Test
    void anAcknowledgementIsValidUnderCmmDeviceAlertAcknowledgementV1() throws Exception {
        Exchange exchange = new DefaultExchange(new DefaultCamelContext());
        AlertAcknowledgementReader.fromDevice(exchange.getMessage(), "A-1",
                OffsetDateTime.parse("2026-11-26T12:00:05Z"));
        ObjectNode ack = PayloadSchemaCheck.parse(exchange.getMessage().getBody(byte[].class));
        PayloadSchemaCheck.of("cmm.device.alert.acknowledgement.v1")
                .valid(ack)
                .invalidAfter(ack, a -> a.remove("acknowledgedAt"), "acknowledgedAt is always written")
                .invalidAfter(ack, a -> a.put("source", "fax"), "source is http or device");
        assertEquals("device", ack.get("source").asText());
    }

    @Test
    void anAcknowledgementOverHttpIsValidUnderCmmDeviceAlertAcknowledgementV1() throws Exception {
        AlertAcknowledgementReader reader = new AlertAcknowledgementReader();
        reader.setClock(Clock.fixed(NOW, ZoneOffset.UTC));
        Exchange exchange = new DefaultExchange(new DefaultCamelContext());
        exchange.getMessage().setHeader("alertId", "A-1");
        exchange.getMessage().setBody(utf8("{\"acknowledgedBy\":\"nurse-7\",\"acknowledgedAt\":\"2026-11-26T12:00:10Z\"}"));
        reader.process(exchange);
        ObjectNode ack = PayloadSchemaCheck.parse(exchange.getMessage().getBody(byte[].class));
        assertEquals("http", ack.get("source").asText());
        assertEquals("nurse-7", ack.get("acknowledgedBy").asText());
        PayloadSchemaCheck.of("cmm.device.alert.acknowledgement.v1")
                .valid(ack)
                .invalidAfter(ack, a -> a.remove("alertId"), "alertId is always written");
    }

    @Test
    void anEscalatedAlertsPushNotificationIsValidUnderCmmDeviceAlertNotificationV1() throws Exception {
        AlertTriage triage = new AlertTriage();
        triage.setRepository(MemoryIdempotentRepository.memoryIdempotentRepository());
        triage.setAcknowledgedAlerts(new AcknowledgedAlerts());
        Exchange exchange = alertFromHttp(ALERT);
        exchange.getMessage().setHeader("ce_subject", "PAT-4711");
        triage.process(exchange);
        assertEquals("escalate", exchange.getMessage().getHeader(AlertTriage.DECISION));
        ObjectNode notification = PayloadSchemaCheck.parse(exchange.getMessage().getBody(byte[].class));
        PayloadSchemaCheck.of("cmm.device.alert.notification.v1")
                .valid(notification)
                .invalidAfter(notification, n -> n.remove("deviceId"), "deviceId is always written");
    }
}
