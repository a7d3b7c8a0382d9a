package org.cmm.eventbroker.hl7;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.DateTimeException;
import java.time.OffsetDateTime;
import java.time.ZoneId;

import org.junit.jupiter.api.Test;

class Hl7DateTimeTest {

    private static final ZoneId BERLIN = ZoneId.of("Europe/Berlin");

    @Test
    void readsEveryPrecisionFromDateToFractionOfSecond() {
        assertEquals(OffsetDateTime.parse("2024-01-01T00:00+01:00"), Hl7DateTime.parse("20240101", BERLIN, 8));
        assertEquals(OffsetDateTime.parse("2024-07-01T12:00+02:00"), Hl7DateTime.parse("2024070112", BERLIN, 8));
        assertEquals(OffsetDateTime.parse("2024-07-01T12:30+02:00"), Hl7DateTime.parse("202407011230", BERLIN, 8));
        assertEquals(OffsetDateTime.parse("2024-03-15T08:30:00.1234+01:00"), Hl7DateTime.parse("20240315083000.1234", BERLIN, 8));
    }

    @Test
    void anExplicitOffsetWinsOverTheSiteZone() {
        assertEquals(OffsetDateTime.parse("2024-03-15T08:30-05:00"), Hl7DateTime.parse("20240315083000-0500", BERLIN, 8));
        assertEquals(OffsetDateTime.parse("2024-03-15T08:30+05:30"), Hl7DateTime.parse("20240315083000+0530", BERLIN, 8));
        assertEquals(OffsetDateTime.parse("2024-03-15T08:30-03:30"), Hl7DateTime.parse("202403150830-0330", BERLIN, 8));
    }

    @Test
    void malformedValuesAreToldApartFromImpossibleOnes() {
        for (String bad : new String[] {"yesterday", "2024", "202401", "2024010", "20240101120000123", "20240101.5",
                "20240101120000.", "20240101120000.12345", "20240101120000+05", "20240101120000+05:00", " "}) {
            assertThrows(Hl7DateTime.MalformedException.class, () -> Hl7DateTime.parse(bad, BERLIN, 8), bad);
        }
        assertThrows(Hl7DateTime.MalformedException.class, () -> Hl7DateTime.parse("20240101", BERLIN, 12));
        DateTimeException impossible = assertThrows(DateTimeException.class, () -> Hl7DateTime.parse("20241345", BERLIN, 8));
        assertEquals(DateTimeException.class, impossible.getClass());
        assertEquals(DateTimeException.class,
                assertThrows(DateTimeException.class, () -> Hl7DateTime.parse("202401011200+1900", BERLIN, 8)).getClass());
    }

    @Test
    void optionalValuesReadAsNullWhenAbsentOrUnreadable() {
        assertNull(Hl7DateTime.parseOrNull(null, BERLIN, 8));
        assertNull(Hl7DateTime.parseOrNull("", BERLIN, 8));
        assertNull(Hl7DateTime.parseOrNull("20241345", BERLIN, 8));
        assertNull(Hl7DateTime.parseOrNull("garbage", BERLIN, 8));
    }
}
