package org.cmm.eventbroker.device;

import java.time.Clock;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.util.List;
import java.util.Locale;

import ca.uhn.hl7v2.ErrorCode;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;
import org.cmm.eventbroker.hl7.Er7Message;
import org.cmm.eventbroker.platform.mllp.Er7Segment;
import org.cmm.eventbroker.hl7.Hl7DateTime;
import org.cmm.eventbroker.hl7.Hl7RejectedException;

/**
 * Reads an IHE PCD-04 Report Alert (ORU^R40, Alert Reporter to Alert Manager) into the alert's kind, priority, state
 * and identity, which become the {@link DeviceAlertHeaders} of the record; the message itself goes to Kafka untouched.
 * Runs after {@link org.cmm.eventbroker.hl7.Hl7MessageInspector}.
 *
 * <p>What is read (IHE PCD TF-2, PCD-04; one alert, i.e. one OBR, per message):
 * <ul>
 *   <li><b>alert id</b>: OBR-3 (filler order number: the alert instance, the same in every phase), else OBR-2, else
 *   MSH-10;</li>
 *   <li><b>alert type facet</b>: the OBX whose OBX-3 is an event code ({@code MDC_EVT_...}), else the OBX whose
 *   sub-id (OBX-4) ends in {@code .1}. Its OBX-3 gives the <b>code</b> (MDC reference id, else the numeric code),
 *   OBX-5 the <b>text</b>, OBX-8 the <b>priority</b> (PH high, PM medium, PL low, PN no priority = low) and the
 *   <b>kind</b> (SP physiological, ST technical, SA advisory = operational), OBX-14 the <b>time</b> (else OBR-7, else
 *   MSH-7), OBX-18 the <b>device</b> (equipment instance identifier, e.g. an EUI-64; else MSH-3-2);</li>
 *   <li>an OBX {@code MDC_ATTR_ALERT_TYPE} (value SP/ST/SA) or {@code MDC_ATTR_ALARM_PRIORITY} (PH/PM/PL/PN)
 *   overrides OBX-8;</li>
 *   <li><b>state</b>: acknowledged when {@code MDC_ATTR_ALARM_INACTIVATION_STATE} is {@code alert-acknowledged} or
 *   {@code acknowledged}; inactive when {@code MDC_ATTR_ALARM_STATE} is {@code inactive} or
 *   {@code MDC_ATTR_EVENT_PHASE} is end, stop, reset or inactivate; active otherwise (start, continue, update,
 *   escalate, latched...).</li>
 * </ul>
 * A message without priority or kind, with an unknown code for either, without a device id, with more than one alert,
 * or with a time outside the clock-skew bounds is rejected ({@link Hl7RejectedException}: AR and dead letter).
 */
public class Pcd04AlertReader implements Processor {

    private long maxClockSkewMs = 300_000;
    private long maxAgeMs = 86_400_000;
    private ZoneId defaultZone = ZoneId.systemDefault();
    private Clock clock = Clock.systemUTC();

    public void setMaxClockSkewMs(long maxClockSkewMs) {
        this.maxClockSkewMs = maxClockSkewMs;
    }

    public void setMaxAgeMs(long maxAgeMs) {
        this.maxAgeMs = maxAgeMs;
    }

    /** Zone of times without an offset; empty: this machine's. */
    public void setDefaultZone(String zone) {
        this.defaultZone = zone == null || zone.isBlank() ? ZoneId.systemDefault() : ZoneId.of(zone);
    }

    void setClock(Clock clock) {
        this.clock = clock;
    }

    @Override
    public void process(Exchange exchange) throws Hl7RejectedException {
        Message in = exchange.getMessage();
        DeviceAlert alert = read(Er7Message.of(in));
        DeviceAlertPayloadReader.setHeaders(in, alert, "pcd-04", null);
    }

    public DeviceAlert read(Er7Message message) throws Hl7RejectedException {
        return read(message, true);
    }

    /** {@code checkTime} false: for a message accepted earlier (the alert-processing route reading it back). */
    public DeviceAlert read(Er7Message message, boolean checkTime) throws Hl7RejectedException {
        message.requireType("ORU^R40");
        List<Er7Segment> obrs = message.segments("OBR");
        if (obrs.isEmpty()) {
            throw reject("no OBR segment: a PCD-04 alert needs one", ErrorCode.SEGMENT_SEQUENCE_ERROR);
        }
        if (obrs.size() > 1) {
            throw reject("more than one alert (OBR) in one message is not supported", ErrorCode.SEGMENT_SEQUENCE_ERROR);
        }
        Er7Segment obr = obrs.get(0);
        List<Er7Segment> obxs = message.segments("OBX");
        Er7Segment type = alertTypeFacet(obxs);

        String alertId = firstNonBlank(obr.component(3, 1), obr.component(2, 1), message.header().field(10));
        String code = firstNonBlank(type.component(3, 2), type.component(3, 1));
        String deviceId = firstNonBlank(type.component(18, 1), anyDevice(obxs), message.header().component(3, 2));
        String patientId = message.segments("PID").stream().map(p -> p.component(3, 1)).filter(s -> !s.isBlank())
                .findFirst().orElse(null);

        String priorityCode = null;
        String sourceCode = null;
        for (String flag : type.components(8, 1)) {
            String f = flag.trim().toUpperCase(Locale.ROOT);
            if (f.matches("P[HMLN]")) {
                priorityCode = f;
            } else if (f.matches("S[PTA]")) {
                sourceCode = f;
            }
        }
        priorityCode = upper(firstNonBlank(facetValue(obxs, "MDC_ATTR_ALARM_PRIORITY"), priorityCode));
        sourceCode = upper(firstNonBlank(facetValue(obxs, "MDC_ATTR_ALERT_TYPE"), sourceCode));
        DeviceAlert.Priority priority = switch (priorityCode == null ? "" : priorityCode) {
            case "PH" -> DeviceAlert.Priority.HIGH;
            case "PM" -> DeviceAlert.Priority.MEDIUM;
            case "PL", "PN" -> DeviceAlert.Priority.LOW;
            case "" -> throw reject("no alert priority (OBX-8 PH/PM/PL/PN of the alert type OBX)", ErrorCode.REQUIRED_FIELD_MISSING);
            default -> throw reject("unknown alert priority (expected PH, PM, PL or PN)", ErrorCode.TABLE_VALUE_NOT_FOUND);
        };
        DeviceAlert.Kind kind = switch (sourceCode == null ? "" : sourceCode) {
            case "SP" -> DeviceAlert.Kind.PHYSIOLOGICAL;
            case "ST" -> DeviceAlert.Kind.TECHNICAL;
            case "SA" -> DeviceAlert.Kind.OPERATIONAL;
            case "" -> throw reject("no alert kind (OBX-8 SP/ST/SA of the alert type OBX)", ErrorCode.REQUIRED_FIELD_MISSING);
            default -> throw reject("unknown alert kind (expected SP, ST or SA)", ErrorCode.TABLE_VALUE_NOT_FOUND);
        };
        String inactivation = lower(facetValue(obxs, "MDC_ATTR_ALARM_INACTIVATION_STATE"));
        String alarmState = lower(facetValue(obxs, "MDC_ATTR_ALARM_STATE"));
        String phase = lower(facetValue(obxs, "MDC_ATTR_EVENT_PHASE"));
        DeviceAlert.State state;
        if ("alert-acknowledged".equals(inactivation) || "acknowledged".equals(inactivation)) {
            state = DeviceAlert.State.ACKNOWLEDGED;
        } else if ("inactive".equals(alarmState) || List.of("end", "stop", "reset", "inactivate").contains(phase)) {
            state = DeviceAlert.State.INACTIVE;
        } else {
            state = DeviceAlert.State.ACTIVE;
        }
        OffsetDateTime timestamp = time(firstNonBlank(type.component(14, 1), obr.component(7, 1),
                message.header().component(7, 1)));
        try {
            requireIdentifier("alert id (OBR-3)", alertId);
            requireIdentifier("alert code (OBX-3)", code);
            requireIdentifier("device id (OBX-18 or MSH-3-2)", deviceId);
            if (patientId != null) {
                requireIdentifier("patient id (PID-3)", patientId);
            }
            if (checkTime) {
                DeviceAlert.requireTimely(timestamp, clock.instant(), maxClockSkewMs, maxAgeMs);
            }
        } catch (DeviceAlertRejectedException e) {
            throw reject(e.getMessage(), ErrorCode.DATA_TYPE_ERROR);
        }
        String text = type.field(5);
        if (text.length() > DeviceAlert.MAX_TEXT) {
            text = text.substring(0, DeviceAlert.MAX_TEXT);
        }
        return new DeviceAlert(alertId, deviceId, null, patientId, kind, priority, code, text, state, timestamp);
    }

    private static void requireIdentifier(String field, String value) throws DeviceAlertRejectedException {
        DeviceAlert.requireIdentifier(field, value);
    }

    private static Er7Segment alertTypeFacet(List<Er7Segment> obxs) throws Hl7RejectedException {
        for (Er7Segment obx : obxs) {
            if (obx.component(3, 2).startsWith("MDC_EVT")) {
                return obx;
            }
        }
        for (Er7Segment obx : obxs) {
            if (obx.field(4).endsWith(".1")) {
                return obx;
            }
        }
        throw reject("no alert type OBX (OBX-3 MDC_EVT_..., or OBX-4 sub-id ending in .1)", ErrorCode.REQUIRED_FIELD_MISSING);
    }

    /** OBX-5 of the facet OBX whose OBX-3 names the attribute, or null. */
    private static String facetValue(List<Er7Segment> obxs, String attribute) {
        for (Er7Segment obx : obxs) {
            if (attribute.equals(obx.component(3, 2).trim())) {
                return obx.component(5, 1).trim();
            }
        }
        return null;
    }

    private static String anyDevice(List<Er7Segment> obxs) {
        return obxs.stream().map(o -> o.component(18, 1)).filter(s -> !s.isBlank()).findFirst().orElse(null);
    }

    private OffsetDateTime time(String value) throws Hl7RejectedException {
        if (value == null || value.isBlank()) {
            throw reject("no alert time (OBX-14, OBR-7 or MSH-7)", ErrorCode.REQUIRED_FIELD_MISSING);
        }
        try {
            return Hl7DateTime.parse(value, defaultZone, 12);
        } catch (Hl7DateTime.MalformedException e) {
            throw reject("alert time is not an HL7 date/time (YYYYMMDDHHMM[SS[.S]][+/-ZZZZ])", ErrorCode.DATA_TYPE_ERROR);
        } catch (java.time.DateTimeException e) {
            throw reject("alert time is an impossible date/time or offset", ErrorCode.DATA_TYPE_ERROR);
        }
    }

    private static Hl7RejectedException reject(String reason, ErrorCode code) {
        return new Hl7RejectedException("PCD-04: " + reason, code);
    }

    private static String firstNonBlank(String... values) {
        for (String v : values) {
            if (v != null && !v.isBlank()) {
                return v.trim();
            }
        }
        return null;
    }

    private static String upper(String s) {
        return s == null ? null : s.toUpperCase(Locale.ROOT);
    }

    private static String lower(String s) {
        return s == null ? null : s.toLowerCase(Locale.ROOT);
    }
}
