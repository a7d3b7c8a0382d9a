package org.cmm.eventbroker.platform.mllp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

class AcknowledgementTest {

    private static Acknowledgement read(String ack) {
        return Acknowledgement.read(ack.getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.ISO_8859_1);
    }

    @Test
    void anAcceptIsReadWithTheControlIdItAnswers() {
        Acknowledgement ack = read("MSH|^~\\&|LIS|LAB|CMM|CMM|20261126||ACK^O01|A1|P|2.5.1\rMSA|AA|ORD-1\r");
        assertTrue(ack.accepted());
        assertFalse(ack.rejected());
        assertEquals("ORD-1", ack.controlId());
        assertEquals("", ack.text());
    }

    @Test
    void theReasonComesFromMsa3OrTheErrSegmentOfEachVersion() {
        assertEquals("LIS busy", read("MSH|^~\\&|L|L|C|C|1||ACK|1|P|2.3\rMSA|AE|X|LIS busy\r").text());
        assertEquals("Unknown test code", read("MSH|^~\\&|L|L|C|C|1||ACK|1|P|2.5.1\rMSA|AR|X\r"
                + "ERR|||207^Application internal error^HL70357^^^^^^Unknown test code|E\r").text());
        assertEquals("Patient not found", read("MSH|^~\\&|L|L|C|C|1||ACK|1|P|2.5.1\rMSA|AR|X\r"
                + "ERR|||204^Unknown key identifier^HL70357|E||||Patient not found\r").text());
        assertEquals("Segment sequence error", read("MSH|^~\\&|L|L|C|C|1||ACK|1|P|2.4\rMSA|AE|X\r"
                + "ERR|PID^1^3^100&Segment sequence error&HL70357\r").text());
    }

    @Test
    void enhancedModeCodesCountAsTheirOriginalModeMeaning() {
        assertTrue(read("MSH|^~\\&|L|L|C|C|1||ACK|1|P|2.5\rMSA|CA|X\r").accepted());
        assertTrue(read("MSH|^~\\&|L|L|C|C|1||ACK|1|P|2.5\rMSA|cr|X\r").rejected());
    }

    @Test
    void repliesThatAreNotAcksAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> read("THIS IS NOT AN ACK"));
        assertThrows(IllegalArgumentException.class, () -> read("MSH|^~\\&|L|L|C|C|1||ACK|1|P|2.5\rPID|1\r"));
        assertThrows(IllegalArgumentException.class, () -> read(""));
    }

    @Test
    void theControlIdOfAnOutgoingMessageIsMsh10() {
        assertEquals("ORD-7", Acknowledgement.controlIdOf("MSH|^~\\&|EHR|H|LIS|L|1||ORM^O01|ORD-7|P|2.5.1\rPID|1\r"));
        assertEquals("", Acknowledgement.controlIdOf("PID|1\r"));
    }
}
