package org.cmm.eventbroker.eventapi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;

import org.junit.jupiter.api.Test;

class PositionTest {

    @Test
    void aPositionSurvivesItsOpaqueForm() {
        Position p = new Position("hl7.adt.a01", Map.of(0, 12L, 2, 7L, 1, 0L));
        String encoded = p.encode();
        assertTrue(encoded.matches("[A-Za-z0-9_-]+"), "base64url without padding: " + encoded);
        assertEquals(p, Position.decode(encoded, "hl7.adt.a01"));
    }

    @Test
    void garbledForeignOrNegativePositionsAreRefusedWithAReason() {
        String other = new Position("lab.results.critical", Map.of(0, 1L)).encode();
        assertEquals("the position belongs to another topic",
                assertThrows(IllegalArgumentException.class, () -> Position.decode(other, "hl7.adt.a01")).getMessage());
        assertThrows(IllegalArgumentException.class, () -> Position.decode("not base64!", "t"));
        assertThrows(IllegalArgumentException.class, () -> Position.decode("", "t"));
        for (String text : new String[] {"v2|t|0:1", "v1|t|0:-1", "v1|t|x:1", "v1|t|0:1,0:2", "v1|t|0:1:2", "v1|t"}) {
            String encoded = Base64.getUrlEncoder().withoutPadding().encodeToString(text.getBytes(StandardCharsets.UTF_8));
            assertThrows(IllegalArgumentException.class, () -> Position.decode(encoded, "t"), text);
        }
    }
}
