package org.cmm.eventbroker.warehouse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.time.OffsetDateTime;

import org.junit.jupiter.api.Test;

/** The warehouse's reading of HL7 v2 fields and times, and its refusals. */
class Er7MessageTest {

    private static final String ADT = "MSH|^~\\&|EPIC|GENHOSP|CMM|CMM|20240315083000-0500||ADT^A01^ADT_A01|C1|P|2.5.1\r"
            + "EVN|A01|202403150830\rPID|1||MRN1^^^GENHOSP^MR~999^^^SSA^SS||DOE^JANE||19560412|F\r"
            + "PV1|1|I|4WEST^401^A^GENHOSP" + "|".repeat(16) + "V9\r";

    @Test
    void fieldsAndComponentsAreReadByTheirHl7Positions() throws Exception {
        Er7Message m = Er7Message.parse(ADT.getBytes(StandardCharsets.ISO_8859_1));
        assertEquals("ADT", m.get("MSH", 9, 1));
        assertEquals("A01", m.get("MSH", 9, 2));
        assertEquals("C1", m.get("MSH", 10, 1));
        assertEquals("GENHOSP", m.get("MSH", 4, 1));
        assertEquals("MRN1", m.get("PID", 3, 1), "the first repetition");
        assertEquals("JANE", m.get("PID", 5, 2));
        assertEquals("4WEST", m.get("PV1", 3, 1));
        assertEquals("GENHOSP", m.get("PV1", 3, 4));
        assertEquals("V9", m.get("PV1", 19, 1));
        assertNull(m.get("PV1", 45, 1));
    }

    @Test
    void hl7TimesKeepTheirOffsetAndAreUtcWithoutOne() throws Exception {
        assertEquals(OffsetDateTime.parse("2024-03-15T08:30:00-05:00"), Er7Message.time("20240315083000-0500"));
        assertEquals(OffsetDateTime.parse("2024-03-15T08:30:00Z"), Er7Message.time("202403150830"));
        assertEquals(OffsetDateTime.parse("2024-03-15T00:00:00Z"), Er7Message.time("20240315"));
        assertEquals(OffsetDateTime.parse("2024-03-15T08:30:05+01:00"), Er7Message.time("20240315083005.123+0100"));
        assertEquals("unreadable HL7 date/time (NumberFormatException)",
                assertThrows(WarehouseRejectException.class, () -> Er7Message.time("2024XX")).getMessage());
    }

    @Test
    void aPayloadThatIsNotHl7IsRefusedWithTheReason() {
        assertEquals("not an HL7 v2 message (no MSH segment first)", assertThrows(WarehouseRejectException.class,
                () -> Er7Message.parse("{\"resourceType\":\"Patient\"}".getBytes(StandardCharsets.UTF_8))).getMessage());
        assertEquals("empty payload", assertThrows(WarehouseRejectException.class, () -> Er7Message.parse(null)).getMessage());
    }
}
