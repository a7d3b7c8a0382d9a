package org.cmm.eventbroker.analytics;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * A generated ADT stream for the analytics tests: ED arrivals that are admitted or go home, direct admissions,
 * transfers, location updates, discharges, the three cancels, resent duplicates (same MSH-10, another MSH-7 and
 * MSH-4, so the MLLP flow's resend filter lets them through), events sent out of event-time order, and bad input
 * (no PV1-3, an unknown ward, impossible times) that must be dead-lettered. Deterministic for a seed; every time lies
 * between {@code base} and about half an hour before the wall clock.
 */
final class AdtStream {

    static final List<String> WARDS = List.of("ED", "MED", "SURG", "ICU");
    private static final DateTimeFormatter TS = DateTimeFormatter.ofPattern("yyyyMMddHHmmss", Locale.ROOT)
            .withZone(ZoneOffset.UTC);

    /** One message as sent, with what the oracle needs; {@code badKind} is null for usable messages. */
    record Message(String patient, String controlId, String trigger, long eventTime, long messageTime,
            String patientClass, String ward, String bed, String priorWard, String priorBed, String badKind,
            String er7) {
    }

    private final Random random;
    private final long base;
    private int control;

    AdtStream(long seed, long nowMs) {
        this.random = new Random(seed);
        this.base = Math.floorDiv(nowMs, 3_600_000L) * 3_600_000L - 8 * 3_600_000L;
    }

    /** The messages of {@code patients} patients, in the order they are to be sent. */
    List<Message> generate(String patientPrefix, int patients) {
        List<Message> good = new ArrayList<>();
        for (int p = 0; p < patients; p++) {
            good.addAll(patient(patientPrefix + (1000 + p)));
        }
        good.sort(Comparator.comparingLong(Message::eventTime));
        // out of order: some events overtake the one before them
        for (int i = 1; i < good.size(); i++) {
            if (random.nextInt(5) == 0) {
                Collections.swap(good, i - 1, i);
                i++;
            }
        }
        List<Message> sent = new ArrayList<>(good);
        // duplicates: resent later, same MSH-10 and content, another MSH-7 and sending facility
        for (int d = 0; d < Math.max(2, patients / 4); d++) {
            Message m = good.get(random.nextInt(good.size()));
            if (m.er7().contains("\rEVN|")) {
                int at = sent.indexOf(m) + 1 + random.nextInt(Math.max(1, sent.size() - sent.indexOf(m)));
                sent.add(Math.min(at, sent.size()), resend(m));
            }
        }
        // bad input, for patients of the stream (a wrong census would show)
        String patient = good.get(0).patient();
        long t = good.get(0).eventTime() + 60_000L;
        sent.add(random.nextInt(sent.size()), bad(patient, "A02", t, "I", "", "", "missing-location", ""));
        sent.add(random.nextInt(sent.size()), bad(patient, "A01", t, "I", "XRAY", "1-A", "unknown-ward", ""));
        sent.add(random.nextInt(sent.size()), bad(patient, "A01", System.currentTimeMillis() + 2 * 86_400_000L, "I",
                "MED", "1-A", "impossible-time", ""));
        sent.add(random.nextInt(sent.size()), bad(patient, "A03", t, "I", "MED", "1-A", "impossible-time",
                "|" + TS.format(Instant.ofEpochMilli(t)) + "|" + TS.format(Instant.ofEpochMilli(t - 86_400_000L))));
        return sent;
    }

    private List<Message> patient(String patient) {
        List<Message> events = new ArrayList<>();
        long t = base + random.nextInt(180) * 60_000L;
        String ward = WARDS.get(1 + random.nextInt(3));
        String bed = bed();
        switch (random.nextInt(7)) {
            case 0 -> { // ED arrival, admitted
                String edBed = bed();
                events.add(msg(patient, "A04", t, "E", "ED", edBed, "", ""));
                t += (10 + random.nextInt(230)) * 60_000L;
                events.add(msg(patient, "A01", t, "I", ward, bed, "ED", edBed));
                if (random.nextBoolean()) {
                    String to = WARDS.get(1 + random.nextInt(3));
                    String toBed = bed();
                    t += (20 + random.nextInt(60)) * 60_000L;
                    events.add(msg(patient, "A02", t, "I", to, toBed, ward, bed));
                    ward = to;
                    bed = toBed;
                }
                if (random.nextBoolean()) {
                    events.add(msg(patient, "A03", t + (30 + random.nextInt(60)) * 60_000L, "I", ward, bed, "", ""));
                }
            }
            case 1 -> { // ED arrival, goes home
                String edBed = bed();
                events.add(msg(patient, "A04", t, "E", "ED", edBed, "", ""));
                events.add(msg(patient, "A03", t + (5 + random.nextInt(200)) * 60_000L, "E", "ED", edBed, "", ""));
            }
            case 2 -> { // direct admission, bed update, maybe discharge
                events.add(msg(patient, "A01", t, "I", ward, bed, "", ""));
                String newBed = bed();
                t += (10 + random.nextInt(50)) * 60_000L;
                events.add(msg(patient, "A08", t, "I", ward, newBed, "", ""));
                if (random.nextBoolean()) {
                    events.add(msg(patient, "A03", t + (30 + random.nextInt(120)) * 60_000L, "I", ward, newBed, "", ""));
                }
            }
            case 3 -> { // admission cancelled
                events.add(msg(patient, "A01", t, "I", ward, bed, "", ""));
                events.add(msg(patient, "A11", t + (5 + random.nextInt(30)) * 60_000L, "I", ward, bed, "", ""));
            }
            case 4 -> { // transfer cancelled
                events.add(msg(patient, "A01", t, "I", ward, bed, "", ""));
                String to = WARDS.get(1 + random.nextInt(3));
                String toBed = bed();
                t += (30 + random.nextInt(60)) * 60_000L;
                events.add(msg(patient, "A02", t, "I", to, toBed, ward, bed));
                events.add(msg(patient, "A12", t + (5 + random.nextInt(20)) * 60_000L, "I", ward, bed, to, toBed));
            }
            case 5 -> { // discharge cancelled
                events.add(msg(patient, "A01", t, "I", ward, bed, "", ""));
                t += (60 + random.nextInt(60)) * 60_000L;
                events.add(msg(patient, "A03", t, "I", ward, bed, "", ""));
                events.add(msg(patient, "A13", t + (5 + random.nextInt(20)) * 60_000L, "I", ward, bed, "", ""));
            }
            default -> { // outpatient to inpatient and back
                events.add(msg(patient, "A04", t, "O", ward, bed, "", ""));
                t += (20 + random.nextInt(60)) * 60_000L;
                events.add(msg(patient, "A06", t, "I", ward, bed, "", ""));
                if (random.nextBoolean()) {
                    events.add(msg(patient, "A07", t + (20 + random.nextInt(60)) * 60_000L, "O", ward, bed, "", ""));
                }
            }
        }
        return events;
    }

    private String bed() {
        return (1 + random.nextInt(9)) + "-" + (char) ('A' + random.nextInt(2));
    }

    private Message msg(String patient, String trigger, long eventTime, String cls, String ward, String bed,
            String priorWard, String priorBed) {
        String controlId = "AN" + (++control);
        boolean evn = random.nextInt(10) != 0;
        return new Message(patient, controlId, trigger, eventTime, eventTime, cls, ward, bed, priorWard, priorBed, null,
                er7("HOSP", patient, controlId, trigger, eventTime, evn ? eventTime : null, cls, ward, bed, priorWard,
                        priorBed, ""));
    }

    private Message resend(Message m) {
        long msh7 = m.messageTime() + 1_000L;
        return new Message(m.patient(), m.controlId(), m.trigger(), m.eventTime(), msh7, m.patientClass(), m.ward(),
                m.bed(), m.priorWard(), m.priorBed(), null, er7("HOSP-RESEND", m.patient(), m.controlId(), m.trigger(),
                        msh7, m.eventTime(), m.patientClass(), m.ward(), m.bed(), m.priorWard(), m.priorBed(), ""));
    }

    private Message bad(String patient, String trigger, long eventTime, String cls, String ward, String bed, String kind,
            String admitDischarge) {
        String controlId = "ANBAD" + (++control);
        return new Message(patient, controlId, trigger, eventTime, eventTime, cls, ward, bed, "", "", kind,
                er7("HOSP", patient, controlId, trigger, eventTime, eventTime, cls, ward, bed, "", "", admitDischarge));
    }

    /** An ADT message; PV1-44/PV1-45 given as "|admit|discharge" or "". */
    static String er7(String facility, String patient, String controlId, String trigger, long msh7, Long evn2,
            String cls, String ward, String bed, String priorWard, String priorBed, String admitDischarge) {
        String[] rb = bed.isEmpty() ? new String[] {"", ""} : bed.split("-");
        String[] prb = priorBed.isEmpty() ? new String[] {"", ""} : priorBed.split("-");
        String location = ward.isEmpty() ? "" : ward + "^" + rb[0] + "^" + rb[1] + "^HOSP";
        String prior = priorWard.isEmpty() ? "" : priorWard + "^" + prb[0] + "^" + prb[1] + "^HOSP";
        StringBuilder s = new StringBuilder();
        s.append("MSH|^~\\&|ADT|").append(facility).append("|CMM|CMM|").append(TS.format(Instant.ofEpochMilli(msh7)))
                .append("+0000||ADT^").append(trigger).append("^ADT_A01|").append(controlId).append("|P|2.5\r");
        if (evn2 != null) {
            s.append("EVN|").append(trigger).append("|").append(TS.format(Instant.ofEpochMilli(evn2))).append("+0000\r");
        }
        s.append("PID|1||").append(patient).append("^^^HOSP^MR||Test^Patient\r");
        s.append("PV1|1|").append(cls).append("|").append(location).append("|||").append(prior);
        if (!admitDischarge.isEmpty()) {
            // PV1-7 .. PV1-43 empty, then PV1-44 and PV1-45
            s.append("|".repeat(37)).append(admitDischarge);
        }
        s.append("\r");
        return s.toString();
    }
}
