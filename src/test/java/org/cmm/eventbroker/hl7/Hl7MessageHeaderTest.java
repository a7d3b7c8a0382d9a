package org.cmm.eventbroker.hl7;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

class Hl7MessageHeaderTest {

    @Test
    void theHeaderFieldsAreReadFromTheMshLine() {
        Hl7MessageHeader header = Hl7MessageHeader.read(
                "MSH|^~\\&|A|B|C|D|20240101||ORM^O01|C1|P|2.5\rPID|1\r".getBytes(StandardCharsets.ISO_8859_1)).orElseThrow();
        assertEquals("ORM", header.messageType());
        assertEquals("O01", header.triggerEvent());
        assertEquals("C1", header.controlId());
    }

    /** Found by reading and by Hl7InspectionFuzzTest (issue 17): a line break right after MSH threw. */
    @Test
    void anMshCutBeforeItsFieldSeparatorIsNoHeaderNotAnException() {
        assertTrue(Hl7MessageHeader.read("MSH\rPID|1||P1\r".getBytes(StandardCharsets.ISO_8859_1)).isEmpty());
        assertTrue(Hl7MessageHeader.read("\nMSH\n\n\n\n\n\n\n".getBytes(StandardCharsets.ISO_8859_1)).isEmpty());
    }
}
