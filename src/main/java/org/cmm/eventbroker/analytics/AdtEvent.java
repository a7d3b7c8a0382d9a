package org.cmm.eventbroker.analytics;

import java.nio.charset.StandardCharsets;
import java.time.DateTimeException;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import org.cmm.eventbroker.hl7.Er7Message;
import org.cmm.eventbroker.hl7.Hl7DateTime;
import org.cmm.eventbroker.hl7.Hl7RejectedException;
import org.cmm.eventbroker.platform.mllp.Er7Segment;

/**
 * The part of one ADT message the analytics rules use, read from its ER7 text. Field sources (docs/analytics.md):
 * trigger MSH-9.2, control id MSH-10, event time EVN-2 (else MSH-7), patient class PV1-2, location PV1-3
 * (point of care = ward, room and bed = bed), prior location PV1-6, admit and discharge times PV1-44/PV1-45 (only
 * checked against each other). The patient is the record key (the first PID-3 identifier, as hl7-topic-sink keys).
 *
 * @param eventTime   epoch ms of EVN-2, else MSH-7: the order of the patient's events
 * @param messageTime epoch ms of MSH-7 (0 when absent): the first tie-breaker
 */
public record AdtEvent(String controlId, String trigger, long eventTime, long messageTime, String patientClass,
        String ward, String bed, String priorWard, String priorBed) {

    /** Triggers that undo an earlier event, and so need no location of their own. */
    static final Set<String> CANCELS = Set.of("A11", "A12", "A13");

    /**
     * Reads and checks one ADT message.
     *
     * @param nowMs the wall clock, against which impossible times are judged
     * @throws AdtRejectedException with the rule the message breaks (the reason names fields, never values)
     */
    public static AdtEvent read(String patient, byte[] body, AnalyticsSettings settings, long nowMs)
            throws AdtRejectedException {
        if (patient == null || patient.isBlank()) {
            throw new AdtRejectedException("missing-patient", "no patient identifier (PID-3, the record key)");
        }
        if (body == null || body.length == 0) {
            throw new AdtRejectedException("unreadable", "empty message");
        }
        Er7Message message;
        try {
            message = Er7Message.parse(new String(body, StandardCharsets.ISO_8859_1));
        } catch (Hl7RejectedException e) {
            throw new AdtRejectedException("unreadable", "not an HL7 v2 message: " + e.getMessage());
        }
        Er7Segment msh = message.header();
        String trigger = msh.component(9, 2).trim().toUpperCase(Locale.ROOT);
        if (!AnalyticsSettings.TRIGGER_EVENTS.contains(trigger.toLowerCase(Locale.ROOT))) {
            throw new AdtRejectedException("unsupported-event", "ADT trigger event (MSH-9.2) not used by the analytics rules");
        }
        String controlId = msh.field(10).trim();
        if (controlId.isEmpty()) {
            throw new AdtRejectedException("missing-control-id", "no message control id (MSH-10)");
        }
        long messageTime = time(msh.field(7), settings, "MSH-7", 0L);
        List<Er7Segment> evn = message.segments("EVN");
        String evn2 = evn.isEmpty() ? "" : evn.get(0).field(2).trim();
        long eventTime = evn2.isEmpty() ? time(msh.field(7), settings, "MSH-7", -1L) : time(evn2, settings, "EVN-2", -1L);
        if (eventTime > nowMs + settings.maxFutureSkewMs()) {
            throw new AdtRejectedException("impossible-time", "event time (EVN-2/MSH-7) is in the future");
        }
        if (eventTime < nowMs - settings.retentionMs()) {
            throw new AdtRejectedException("impossible-time",
                    "event time (EVN-2/MSH-7) is older than cmm.analytics.retention-ms");
        }
        List<Er7Segment> pv1s = message.segments("PV1");
        Er7Segment pv1 = pv1s.isEmpty() ? null : pv1s.get(0);
        String ward = pv1 == null ? "" : pv1.component(3, 1).trim();
        if (ward.isEmpty() && !CANCELS.contains(trigger)) {
            throw new AdtRejectedException("missing-location", "no assigned patient location (PV1-3.1)");
        }
        if (!ward.isEmpty() && !settings.wards().isEmpty() && !settings.wards().contains(ward)) {
            throw new AdtRejectedException("unknown-ward", "assigned location (PV1-3.1) is not in cmm.analytics.wards");
        }
        String priorWard = pv1 == null ? "" : pv1.component(6, 1).trim();
        if (pv1 != null) {
            long admitted = time(pv1.field(44).trim(), settings, "PV1-44", 0L);
            long discharged = time(pv1.field(45).trim(), settings, "PV1-45", 0L);
            if (admitted > 0 && discharged > 0 && discharged < admitted) {
                throw new AdtRejectedException("impossible-time", "discharge time (PV1-45) before admit time (PV1-44)");
            }
        }
        return new AdtEvent(controlId, trigger, eventTime, messageTime,
                pv1 == null ? "" : pv1.component(2, 1).trim().toUpperCase(Locale.ROOT),
                ward, pv1 == null ? "" : bed(pv1, 3), priorWard, pv1 == null ? "" : bed(pv1, 6));
    }

    /** Room and bed of a PL field ("12-B"), or whichever of them is given. */
    private static String bed(Er7Segment pv1, int field) {
        String room = pv1.component(field, 2).trim();
        String bed = pv1.component(field, 3).trim();
        if (!room.isEmpty() && !bed.isEmpty()) {
            return room + "-" + bed;
        }
        return room.isEmpty() ? bed : room;
    }

    /** Epoch ms of an HL7 time; {@code absent} when empty (a negative {@code absent}: the time is required). */
    private static long time(String value, AnalyticsSettings settings, String field, long absent)
            throws AdtRejectedException {
        if (value == null || value.isBlank()) {
            if (absent < 0) {
                throw new AdtRejectedException("impossible-time", "no event time (EVN-2 or MSH-7)");
            }
            return absent;
        }
        try {
            OffsetDateTime t = Hl7DateTime.parse(value, settings.zone(), 12);
            return t.toInstant().toEpochMilli();
        } catch (DateTimeException e) {
            throw new AdtRejectedException("impossible-time", field + " is not a valid HL7 date/time to the minute");
        }
    }
}
