package org.cmm.eventbroker.fhir;

import java.time.Clock;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * FHIR date, dateTime and instant values as HL7 v2 DTM, at the precision the resource gave.
 *
 * <p>The value is rewritten, not re-interpreted: the offset the sender wrote stays (Z becomes +0000), a date without a
 * time stays a date, and fractions of a second are dropped (v2 receivers differ on them and orders do not need them).
 * That keeps the output the same for the same resource, which the duplicate suppression of the peers relies on.
 */
public final class FhirDateTime {

    private static final Pattern FHIR = Pattern.compile(
            "(\\d{4})(?:-(\\d{2})(?:-(\\d{2})(?:T(\\d{2}):(\\d{2})(?::(\\d{2})(?:\\.\\d+)?)?(Z|[+-]\\d{2}:\\d{2})?)?)?)?");
    private static final DateTimeFormatter HL7_NOW = DateTimeFormatter.ofPattern("yyyyMMddHHmmssZ");

    private FhirDateTime() {
    }

    /**
     * @param value a FHIR date, dateTime or instant
     * @return the HL7 DTM (YYYY[MM[DD[HHMM[SS]]]][+/-ZZZZ]), or null when the value is not one of those
     */
    public static String toHl7(String value) {
        if (value == null) {
            return null;
        }
        Matcher m = FHIR.matcher(value.trim());
        if (!m.matches()) {
            return null;
        }
        StringBuilder dtm = new StringBuilder(m.group(1));
        for (int g = 2; g <= 6 && m.group(g) != null; g++) {
            dtm.append(m.group(g));
        }
        String zone = m.group(7);
        if (zone != null) {
            dtm.append("Z".equals(zone) ? "+0000" : zone.replace(":", ""));
        }
        return dtm.toString();
    }

    /** The clock's current time as HL7 DTM with seconds and offset. */
    public static String now(Clock clock) {
        return ZonedDateTime.now(clock).format(HL7_NOW);
    }
}
