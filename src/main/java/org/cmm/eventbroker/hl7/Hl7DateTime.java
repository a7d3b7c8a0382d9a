package org.cmm.eventbroker.hl7;

import java.time.DateTimeException;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;

/**
 * The one reader of HL7 v2 date/time values (DTM, {@code YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]}) for every
 * inspector (MSH-7 of any message, PCD-01 observation times, PCD-04 alert times), so they agree on what a valid time
 * is. A value without an offset is read in the zone the site configured for its senders.
 */
public final class Hl7DateTime {

    private Hl7DateTime() {
    }

    /** The value does not have the DTM form (as opposed to a well-formed but impossible date, time or offset). */
    public static final class MalformedException extends DateTimeException {
        MalformedException(String message) {
            super(message);
        }
    }

    /**
     * Reads {@code value}, which must give at least {@code minimumDigits} of {@code YYYYMMDDHHMMSS} (8: a date;
     * 12: to the minute).
     *
     * @throws MalformedException when the value is not a DTM with that precision
     * @throws DateTimeException when it is well formed but names an impossible date, time or offset
     */
    public static OffsetDateTime parse(String value, ZoneId zoneWithoutOffset, int minimumDigits) {
        if (value == null || value.isBlank()) {
            throw new MalformedException("empty");
        }
        String v = value.trim();
        int sign = Math.max(v.indexOf('+'), v.indexOf('-'));
        String local = sign > 0 ? v.substring(0, sign) : v;
        int dot = local.indexOf('.');
        String digits = dot >= 0 ? local.substring(0, dot) : local;
        String fraction = dot >= 0 ? local.substring(dot + 1) : "";
        if (digits.length() < minimumDigits || digits.length() > 14 || digits.length() % 2 != 0 || !allDigits(digits)
                || dot >= 0 && (digits.length() != 14 || fraction.isEmpty() || fraction.length() > 4 || !allDigits(fraction))
                || sign > 0 && (v.length() != sign + 5 || !allDigits(v.substring(sign + 1)))) {
            throw new MalformedException("not an HL7 date/time");
        }
        int nanos = fraction.isEmpty() ? 0 : Integer.parseInt((fraction + "000000000").substring(0, 9));
        LocalDateTime at = LocalDateTime.of(Integer.parseInt(digits.substring(0, 4)), Integer.parseInt(digits.substring(4, 6)),
                Integer.parseInt(digits.substring(6, 8)), part(digits, 8), part(digits, 10), part(digits, 12), nanos);
        if (sign > 0) {
            int hours = Integer.parseInt(v.substring(sign + 1, sign + 3));
            int minutes = Integer.parseInt(v.substring(sign + 3, sign + 5));
            return at.atOffset(v.charAt(sign) == '-'
                    ? ZoneOffset.ofHoursMinutes(-hours, -minutes) : ZoneOffset.ofHoursMinutes(hours, minutes));
        }
        return at.atZone(zoneWithoutOffset).toOffsetDateTime();
    }

    /** {@link #parse} for optional values: null when absent or unreadable. */
    public static OffsetDateTime parseOrNull(String value, ZoneId zoneWithoutOffset, int minimumDigits) {
        if (value == null || value.isBlank()) {
            return null;
        }
        try {
            return parse(value, zoneWithoutOffset, minimumDigits);
        } catch (DateTimeException e) {
            return null;
        }
    }

    private static int part(String digits, int at) {
        return digits.length() >= at + 2 ? Integer.parseInt(digits.substring(at, at + 2)) : 0;
    }

    private static boolean allDigits(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                return false;
            }
        }
        return true;
    }
}
