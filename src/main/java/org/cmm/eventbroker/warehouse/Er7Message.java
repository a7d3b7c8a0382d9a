package org.cmm.eventbroker.warehouse;

import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Field access to an HL7 v2 message in ER7 for the warehouse: segments by name, fields and components by their HL7
 * positions (1-based, MSH-1 being the field separator), HL7 dates and times as instants. Escapes are not resolved:
 * the warehouse reads identifiers, codes, numbers and times.
 */
final class Er7Message {

    private final List<String[]> segments = new ArrayList<>();
    private final String component;
    private final String repetition;

    private Er7Message(String text) throws WarehouseRejectException {
        if (!text.startsWith("MSH") || text.length() < 8) {
            throw new WarehouseRejectException("not an HL7 v2 message (no MSH segment first)");
        }
        String field = Pattern.quote(String.valueOf(text.charAt(3)));
        component = Pattern.quote(String.valueOf(text.charAt(4)));
        repetition = Pattern.quote(String.valueOf(text.charAt(5)));
        for (String segment : text.lines().toList()) { // CR, LF or CRLF, without a regular expression
            if (!segment.isBlank()) {
                String[] fields = segment.split(field, -1);
                if (fields[0].equals("MSH")) {
                    // MSH-1 is the separator itself: shift so that index n is MSH-n
                    String[] shifted = new String[fields.length + 1];
                    shifted[0] = "MSH";
                    shifted[1] = String.valueOf(text.charAt(3));
                    System.arraycopy(fields, 1, shifted, 2, fields.length - 1);
                    fields = shifted;
                }
                segments.add(fields);
            }
        }
    }

    static Er7Message parse(byte[] payload) throws WarehouseRejectException {
        if (payload == null) {
            throw new WarehouseRejectException("empty payload");
        }
        // NUL is no HL7 character and no PostgreSQL text character: dropped rather than refused by the database
        return new Er7Message(new String(payload, StandardCharsets.ISO_8859_1).replace("\0", "").strip());
    }

    /** The first segment of that name, or null. */
    String[] segment(String name) {
        return segments.stream().filter(s -> s[0].equals(name)).findFirst().orElse(null);
    }

    /** Every segment, in message order. */
    List<String[]> segments() {
        return segments;
    }

    List<String[]> all(String name) {
        return segments.stream().filter(s -> s[0].equals(name)).toList();
    }

    /** Field n, component c (1-based), first repetition; null when absent or empty. */
    String get(String[] segment, int field, int comp) {
        if (segment == null || segment.length <= field) {
            return null;
        }
        String value = segment[field].split(repetition, -1)[0];
        String[] components = value.split(component, -1);
        if (components.length < comp) {
            return null;
        }
        String v = components[comp - 1];
        return v.isBlank() ? null : v;
    }

    String get(String segmentName, int field, int comp) {
        return get(segment(segmentName), field, comp);
    }

    /** An HL7 DTM (YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ]); without an offset it is read as UTC. Null when absent. */
    static OffsetDateTime time(String dtm) throws WarehouseRejectException {
        if (dtm == null) {
            return null;
        }
        String s = dtm.trim();
        ZoneOffset offset = ZoneOffset.UTC;
        int sign = Math.max(s.indexOf('+'), s.indexOf('-'));
        try {
            if (sign > 0) {
                offset = ZoneOffset.of(s.substring(sign, sign + 3) + ":" + s.substring(sign + 3, sign + 5));
                s = s.substring(0, sign);
            }
            int dot = s.indexOf('.');
            if (dot > 0) {
                s = s.substring(0, dot);
            }
            int year = Integer.parseInt(s.substring(0, 4));
            int month = s.length() >= 6 ? Integer.parseInt(s.substring(4, 6)) : 1;
            int day = s.length() >= 8 ? Integer.parseInt(s.substring(6, 8)) : 1;
            int hour = s.length() >= 10 ? Integer.parseInt(s.substring(8, 10)) : 0;
            int minute = s.length() >= 12 ? Integer.parseInt(s.substring(10, 12)) : 0;
            int second = s.length() >= 14 ? Integer.parseInt(s.substring(12, 14)) : 0;
            return OffsetDateTime.of(LocalDateTime.of(year, month, day, hour, minute, second), offset);
        } catch (RuntimeException e) {
            throw new WarehouseRejectException("unreadable HL7 date/time (" + e.getClass().getSimpleName() + ")");
        }
    }

    static LocalDate date(String dtm) throws WarehouseRejectException {
        OffsetDateTime t = time(dtm);
        return t == null ? null : t.toLocalDate();
    }
}
