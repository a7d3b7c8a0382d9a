package org.cmm.eventbroker.platform.mllp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;

import ca.uhn.hl7v2.ErrorCode;
import ca.uhn.hl7v2.preparser.PreParser;
import org.junit.jupiter.api.Test;

class AckBuilderTest {

    private final AckBuilder builder = new AckBuilder();

    private static final String ADT = "MSH|^~\\&|EPIC|GENHOSP|BROKER|CMM|20240101120000||ADT^A01^ADT_A01|MSG00001|P|2.5.1\r"
            + "PID|1||123456^^^GENHOSP^MR||DOE^JOHN\r";

    @Test
    void acceptAckSwapsSenderAndReceiverAndEchoesTheControlId() throws Exception {
        String ack = new String(builder.build(ADT.getBytes(StandardCharsets.ISO_8859_1), null, AckCode.AA, null, null),
                StandardCharsets.ISO_8859_1);
        String[] f = PreParser.getFields(ack, "MSH-3", "MSH-4", "MSH-5", "MSH-6", "MSH-9-1", "MSH-9-2", "MSH-12", "MSA-1", "MSA-2");
        assertEquals("BROKER", f[0]);
        assertEquals("CMM", f[1]);
        assertEquals("EPIC", f[2]);
        assertEquals("GENHOSP", f[3]);
        assertEquals("ACK", f[4]);
        assertEquals("A01", f[5]);
        assertEquals("2.5.1", f[6]);
        assertEquals("AA", f[7]);
        assertEquals("MSG00001", f[8]);
        assertTrue(!ack.contains("DOE"), "an ACK never carries the patient data of the message");
    }

    @Test
    void templatedAcceptsAreWhatHapiBuildsExceptForTimeAndControlId() throws Exception {
        byte[] first = ADT.getBytes(StandardCharsets.ISO_8859_1);
        byte[] second = ADT.replace("MSG00001", "MSG00002").getBytes(StandardCharsets.ISO_8859_1);
        String a = new String(builder.build(first, null, AckCode.AA, null, null), StandardCharsets.ISO_8859_1);
        String b = new String(builder.build(second, null, AckCode.AA, null, null), StandardCharsets.ISO_8859_1);
        String[] fa = PreParser.getFields(a, "MSH-3", "MSH-5", "MSH-9", "MSH-10", "MSH-12", "MSA-1", "MSA-2");
        String[] fb = PreParser.getFields(b, "MSH-3", "MSH-5", "MSH-9", "MSH-10", "MSH-12", "MSA-1", "MSA-2");
        assertEquals("MSG00001", fa[6]);
        assertEquals("MSG00002", fb[6]);
        assertEquals(fa[0] + fa[1] + fa[2] + fa[4] + fa[5], fb[0] + fb[1] + fb[2] + fb[4] + fb[5]);
        assertTrue(!fa[3].equals(fb[3]), "each ACK has its own control id");
        assertTrue(PreParser.getFields(b, "MSH-7")[0].matches("\\d{14}\\.\\d{3}[+-]\\d{4}"), b);
        assertEquals(2, b.split("\r").length, "MSH and MSA only");
    }

    @Test
    void rejectAckCarriesTheReasonInErr() throws Exception {
        String ack = new String(builder.build(ADT.getBytes(StandardCharsets.ISO_8859_1), null, AckCode.AR,
                ErrorCode.REQUIRED_FIELD_MISSING, "MSH-9 (message type) is empty"), StandardCharsets.ISO_8859_1);
        assertEquals("AR", PreParser.getFields(ack, "MSA-1")[0]);
        assertEquals("MSG00001", PreParser.getFields(ack, "MSA-2")[0]);
        assertTrue(ack.contains("ERR|"), ack);
        assertTrue(ack.contains("MSH-9 (message type) is empty"), ack);
    }

    @Test
    void garbageStillGetsAnAckWithTheReason() throws Exception {
        byte[] garbage = {0x01, 0x02, (byte) 0xff, 'x', 'y'};
        String ack = new String(builder.build(garbage, null, AckCode.AR, null, "no MSH segment"), StandardCharsets.ISO_8859_1);
        assertEquals("AR", PreParser.getFields(ack, "MSA-1")[0]);
        assertTrue(ack.contains("no MSH segment"), ack);
    }

    @Test
    void olderVersionsGetTheirOwnAckLayout() throws Exception {
        String v23 = ADT.replace("|2.5.1", "|2.3");
        String ack = new String(builder.build(v23.getBytes(StandardCharsets.ISO_8859_1), null, AckCode.AE,
                null, "Kafka write timed out"), StandardCharsets.ISO_8859_1);
        assertEquals("2.3", PreParser.getFields(ack, "MSH-12")[0]);
        assertEquals("AE", PreParser.getFields(ack, "MSA-1")[0]);
        assertTrue(ack.contains("Kafka write timed out"), ack);
    }

    /** Found by reading and by Hl7InspectionFuzzTest (issue 17): MSH cut by a line break before MSH-1 threw. */
    @Test
    void anAckCanBeBuiltForAnMshCutBeforeItsFieldSeparator() {
        byte[] inbound = "MSH\rPID|1||P1\r".getBytes(StandardCharsets.ISO_8859_1);
        for (AckCode code : AckCode.values()) {
            String ack = new String(builder.build(inbound, StandardCharsets.ISO_8859_1, code,
                    code == AckCode.AA ? null : ErrorCode.APPLICATION_INTERNAL_ERROR, code == AckCode.AA ? null : "x"),
                    StandardCharsets.ISO_8859_1);
            assertTrue(ack.startsWith("MSH|"), ack);
            assertEquals(code.name(), Acknowledgement.read(ack.getBytes(StandardCharsets.ISO_8859_1),
                    StandardCharsets.ISO_8859_1).code());
        }
    }

    /** Found by the 1,000,000-input fuzz run: with a letter in MSH-2, the AR's code was escaped ("A\\S\\"). */
    @Test
    void aRejectOfAMessageWithALetterAmongItsDelimitersReadsAsAr() throws Exception {
        String inbound = "MSH|R~\\&|MILL|MCHS||DEST|20260104||ORU^R01|TEST-MSG-001|T|2.3\rPID|1||6163072\r";
        byte[] ack = builder.build(inbound.getBytes(StandardCharsets.ISO_8859_1), null, AckCode.AR,
                ErrorCode.DATA_TYPE_ERROR, "MSH-2 encoding character 1 is not a distinct printable delimiter");
        Acknowledgement read = Acknowledgement.read(ack, StandardCharsets.ISO_8859_1);
        assertEquals("AR", read.code(), new String(ack, StandardCharsets.ISO_8859_1));
        assertEquals("TEST-MSG-001", read.controlId());
    }
}
