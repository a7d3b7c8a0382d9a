package org.cmm.eventbroker.device;

import java.io.IOException;
import java.time.Clock;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.Map;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.cmm.eventbroker.hl7.Hl7Headers;
import org.cmm.eventbroker.platform.security.http.VerifiedCaller;

/**
 * Reads {@code POST /device-alerts/{alertId}/ack} ({@code {"acknowledgedBy":"<who>","acknowledgedAt":"<when>"}},
 * when optional: now) into the acknowledgement record. With access control on, {@code acknowledgedBy} is the caller the
 * access guard verified ({@link VerifiedCaller}: the token's user or the client certificate), whatever the body says
 * (the body may omit it); only without access control (development posture) does the body name who. The record for {@code device.alerts.acknowledgements}: key = alert id,
 * body {@code {"alertId","acknowledgedBy","acknowledgedAt","source":"http"}}. Request headers are dropped.
 * Also writes the acknowledgement of an alert a device reported as acknowledged ({@link #fromDevice}).
 */
public class AlertAcknowledgementReader implements org.apache.camel.Processor {

    private static final ObjectMapper JSON = new ObjectMapper();

    private long maxClockSkewMs = 300_000;
    private long maxAgeMs = 86_400_000;
    private int maxBodyBytes = 65_536;
    private Clock clock = Clock.systemUTC();

    public void setMaxClockSkewMs(long maxClockSkewMs) {
        this.maxClockSkewMs = maxClockSkewMs;
    }

    public void setMaxAgeMs(long maxAgeMs) {
        this.maxAgeMs = maxAgeMs;
    }

    public void setMaxBodyBytes(int maxBodyBytes) {
        this.maxBodyBytes = maxBodyBytes;
    }

    void setClock(Clock clock) {
        this.clock = clock;
    }

    @Override
    public void process(Exchange exchange) throws DeviceAlertRejectedException {
        Message in = exchange.getMessage();
        String alertId = DeviceAlert.requireIdentifier("alertId (path)", in.getHeader("alertId", String.class));
        byte[] body = in.getBody(byte[].class);
        if (body != null && body.length > maxBodyBytes) {
            throw new DeviceAlertRejectedException("payload of " + body.length + " bytes is larger than " + maxBodyBytes);
        }
        JsonNode root;
        try {
            root = body == null || body.length == 0 ? null : JSON.readTree(body);
        } catch (JsonProcessingException e) {
            throw new DeviceAlertRejectedException("payload is not well-formed JSON");
        } catch (IOException e) {
            throw new DeviceAlertRejectedException("payload is not readable JSON");
        }
        if (root == null || !root.isObject()) {
            throw new DeviceAlertRejectedException("payload is not a JSON object with acknowledgedBy");
        }
        // with access control on, who acknowledged is the verified caller; a name in the body is not trusted
        String who = VerifiedCaller.name(in).orElse(null);
        if (who == null) {
            JsonNode by = root.get("acknowledgedBy");
            if (by == null || !by.isTextual()) {
                throw new DeviceAlertRejectedException("acknowledgedBy is missing or not a string");
            }
            who = DeviceAlert.requireIdentifier("acknowledgedBy", by.asText());
        }
        OffsetDateTime at;
        JsonNode when = root.get("acknowledgedAt");
        if (when == null || when.isNull()) {
            at = OffsetDateTime.now(clock).withOffsetSameInstant(ZoneOffset.UTC);
        } else {
            try {
                at = OffsetDateTime.parse(when.asText());
            } catch (DateTimeParseException e) {
                throw new DeviceAlertRejectedException("acknowledgedAt is not an RFC 3339 date-time with offset");
            }
            DeviceAlert.requireTimely(at, clock.instant(), maxClockSkewMs, maxAgeMs);
        }
        in.getHeaders().clear();
        write(in, alertId, who, at, "http");
    }

    /** The acknowledgement of an alert whose device reported it acknowledged (state acknowledged). */
    public static void fromDevice(Message m, String alertId, OffsetDateTime at) {
        write(m, alertId, null, at, "device");
    }

    private static void write(Message m, String alertId, String by, OffsetDateTime at, String source) {
        Map<String, Object> ack = new LinkedHashMap<>();
        ack.put("alertId", alertId);
        if (by != null) {
            ack.put("acknowledgedBy", by);
        }
        ack.put("acknowledgedAt", at.toString());
        ack.put("source", source);
        try {
            m.setBody(JSON.writeValueAsBytes(ack));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        m.setHeader(DeviceAlertHeaders.ALERT_ID, alertId);
        m.setHeader(Hl7Headers.CE_SPECVERSION, "1.0");
        m.setHeader(Hl7Headers.CE_ID, "ack:" + alertId + ':' + at.toInstant().toEpochMilli());
        m.setHeader(Hl7Headers.CE_SOURCE, "/devices/alerts/acknowledgements/" + source);
        m.setHeader(Hl7Headers.CE_TIME, at.toString());
        m.setHeader(Hl7Headers.CONTENT_TYPE, "application/json");
    }
}
