package org.cmm.eventbroker.hl7;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;

import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.cmm.eventbroker.platform.mllp.MllpListenerHeaders;
import org.cmm.eventbroker.testsupport.Hl7Samples;
import org.cmm.eventbroker.testsupport.LogCapture;
import org.junit.jupiter.api.Test;

class Hl7MessageInspectorTest {

    private final Hl7MessageInspector inspector = new Hl7MessageInspector();
    private final DefaultCamelContext context = new DefaultCamelContext();

    private Exchange inspect(byte[] body) throws Exception {
        Exchange exchange = new DefaultExchange(context);
        exchange.getMessage().setBody(body);
        inspector.process(exchange);
        return exchange;
    }

    private Hl7RejectedException rejected(String message) {
        return assertThrows(Hl7RejectedException.class, () -> inspect(message.getBytes(StandardCharsets.ISO_8859_1)));
    }

    @Test
    void routingHeadersComeFromMshAndPid() throws Exception {
        Exchange e = inspect(Hl7Samples.load("oru-r01.hl7", "C1").getBytes(StandardCharsets.ISO_8859_1));
        assertEquals("ORU", e.getMessage().getHeader(Hl7Headers.MESSAGE_TYPE));
        assertEquals("R01", e.getMessage().getHeader(Hl7Headers.TRIGGER_EVENT));
        assertEquals("MRN100002", e.getMessage().getHeader(Hl7Headers.CE_SUBJECT));
        assertEquals("/hl7v2/LAB/GENHOSP", e.getMessage().getHeader(Hl7Headers.CE_SOURCE));
        assertEquals("ISO-8859-1", e.getMessage().getHeader(MllpListenerHeaders.CHARSET));
    }

    @Test
    void segmentsEndAtCrAtLfOrAtCrLfAlikeAndMixed() throws Exception {
        String msh = "MSH|^~\\&|A|B|C|D|20240101||ADT^A01|X1|P|2.3";
        for (String[] eol : new String[][] {{"\r", "\r"}, {"\n", "\n"}, {"\r\n", "\r\n"}, {"\r", "\n"}, {"\n", "\r"},
                {"\r\n", "\n\r"}}) {
            String text = msh + eol[0] + "EVN|A01" + eol[1] + "PID|1||MRN42^^^HOSP^MR||DOE^JANE" + eol[0];
            Exchange e = inspect(text.getBytes(StandardCharsets.ISO_8859_1));
            assertEquals("MRN42", e.getMessage().getHeader(Hl7Headers.CE_SUBJECT), "PID found after " + eol[1].length()
                    + "-character ends: " + text.replace("\r", "<CR>").replace("\n", "<LF>"));
            assertEquals("A01", e.getMessage().getHeader(Hl7Headers.TRIGGER_EVENT));
            // no end after the last segment, and a bad segment after a different end than the one before
            assertEquals("MRN42", inspect((msh + eol[0] + "PID|1||MRN42").getBytes(StandardCharsets.ISO_8859_1))
                    .getMessage().getHeader(Hl7Headers.CE_SUBJECT));
            assertTrue(rejected(msh + eol[0] + "EVN|A01" + eol[1] + "\u0001bad" + eol[0]).getMessage()
                    .contains("segment 3"));
        }
    }

    @Test
    void lowerCaseMessageTypesAreNormalised() throws Exception {
        Exchange e = inspect("MSH|^~\\&|A|B|C|D|20240101||adt^a04|X1|P|2.3\r".getBytes(StandardCharsets.ISO_8859_1));
        assertEquals("ADT", e.getMessage().getHeader(Hl7Headers.MESSAGE_TYPE));
        assertEquals("A04", e.getMessage().getHeader(Hl7Headers.TRIGGER_EVENT));
        assertNull(e.getMessage().getHeader(Hl7Headers.CE_SUBJECT));
    }

    @Test
    void theResendKeyIgnoresMsh7ButNotTheContent() {
        String a = Hl7Samples.load("adt-a01.hl7", "K1");
        String resentLater = a.replace("20240315083000-0500||", "20240315093000-0500||");
        String other = a.replace("4WEST^401", "4WEST^402");
        byte[] bytes = a.getBytes(StandardCharsets.ISO_8859_1);
        assertEquals(Hl7MessageInspector.fingerprint(bytes), Hl7MessageInspector.fingerprint(resentLater.getBytes(StandardCharsets.ISO_8859_1)));
        assertNotEquals(Hl7MessageInspector.fingerprint(bytes), Hl7MessageInspector.fingerprint(other.getBytes(StandardCharsets.ISO_8859_1)));
    }

    @Test
    void msh7BecomesAnRfc3339TimeWithTheSendersOffsetOrTheConfiguredZone() {
        inspector.setDefaultZone("Europe/Paris");
        assertEquals("2024-03-15T08:30:00-05:00", inspector.rfc3339("20240315083000-0500"));
        assertEquals("2024-03-15T08:30:00+05:30", inspector.rfc3339("20240315083000+0530"));
        assertEquals("2024-07-01T12:00:00+02:00", inspector.rfc3339("202407011200"));
        assertEquals("2024-01-01T00:00:00+01:00", inspector.rfc3339("20240101"));
        assertEquals("2024-03-15T08:30:00.123+01:00", inspector.rfc3339("20240315083000.123"));
        assertNull(inspector.rfc3339("yesterday"));
        assertNull(inspector.rfc3339("2024"));
    }

    @Test
    void rejectsWhatCannotBeRouted() {
        assertTrue(rejected("").getMessage().contains("empty"));
        assertTrue(rejected("HELLO").getMessage().contains("MSH"));
        assertTrue(rejected("MSH|^~\\&|A|B|C|D|20240101||^A01|X1|P|2.3\r").getMessage().contains("MSH-9-1"));
        assertTrue(rejected("MSH|^~\\&|A|B|C|D|20240101||ADT|X1|P|2.3\r").getMessage().contains("MSH-9-2"));
        assertTrue(rejected("MSH|^~\\&|A|B|C|D|20240101||ADT^A01||P|2.3\r").getMessage().contains("MSH-10"));
        assertTrue(rejected("MSH|^~\\&|A|B|C|D|20240101||ADT^A01|X1|P|\r").getMessage().contains("MSH-12"));
        assertTrue(rejected("MSH|^~\\&|A|B|C|D|20240101||AD.T^A01|X1|P|2.3\r").getMessage().contains("letters and digits"));
        assertTrue(rejected("MSH|^~\\&|A|B|C|D|20240101||ADT^A01|X1|P|3.0\r").getMessage().contains("unsupported HL7 version"));
        assertTrue(rejected("MSH|^~\\&|A|B|C|D|20240101||ADT^A01|X1|P|2.3\r\u0000\u0001binary\r").getMessage().contains("segment 2"));
    }

    @Test
    void aFramingProblemIsARejectionWithTheListenersReason() {
        Exchange exchange = new DefaultExchange(context);
        exchange.getMessage().setBody(new byte[] {1, 2, 3});
        exchange.getMessage().setHeader(MllpListenerHeaders.FRAMING_ERROR, "MLLP frame cut off after 3 bytes (no end block)");
        Hl7RejectedException e = assertThrows(Hl7RejectedException.class, () -> inspector.process(exchange));
        assertTrue(e.getMessage().contains("cut off"));
    }

    @Test
    void messageBodiesAreLoggedOnlyWithTheDebugSwitchOn() throws Exception {
        byte[] adt = Hl7Samples.load("adt-a01.hl7", "LOG1").getBytes(StandardCharsets.ISO_8859_1);
        try (LogCapture logs = LogCapture.attach()) {
            inspect(adt);
            assertEquals(List.of(), logs.linesContaining(List.of("ZEBEDEE")), "off by default");
            inspector.setLogMessageBodies(true);
            inspect(adt);
            assertEquals(1, logs.linesContaining(List.of("ZEBEDEE")).size(), "on when asked for");
        }
    }

    @Test
    void rejectionReasonsNeverEchoMessageContent() {
        String secret = "MSH|^~\\&|A|B|C|D|20240101||ADT^A01|X1|P|SECRETPATIENTNAME-1234567890\r";
        String reason = rejected(secret).getMessage();
        assertTrue(reason.length() < 120, reason);
        assertTrue(!reason.contains("1234567890"), reason);
    }

    @Test
    void msh18Gb18030IsDecodedAsGb18030() throws Exception {
        String text = "MSH|^~\\&|A|B|C|D|20240101||ADT^A08|GB1|P|2.5|||||CHN|GB 18030-2000\r"
                + "PID|1||P1||\u738b^\u5c0f\u660e\r";
        Exchange e = inspect(text.getBytes(java.nio.charset.Charset.forName("GB18030")));
        assertEquals("GB18030", e.getMessage().getHeader(MllpListenerHeaders.CHARSET));
        assertEquals("GB18030", e.getMessage().getHeader(Hl7Headers.CHARSET));
    }

    @Test
    void msh18Cns11643IsRejectedWithTheReasonBecauseNoAckCouldBeWrittenInIt() {
        Hl7RejectedException e = rejected("MSH|^~\\&|A|B|C|D|20240101||ADT^A08|CNS1|P|2.5|||||TWN|CNS 11643-1992\r");
        assertTrue(e.getMessage().contains("CNS 11643-1992"), e.getMessage());
        assertTrue(e.getMessage().contains("not supported"), e.getMessage());
    }

    @Test
    void everyHl7CharsetNameIsEitherUsableBothWaysOrRejected() {
        for (org.apache.camel.component.hl7.HL7Charset hl7 : org.apache.camel.component.hl7.HL7Charset.values()) {
            String msh = "MSH|^~\\&|A|B|C|D|20240101||ADT^A08|CS1|P|2.5|||||XX|" + hl7.getHL7CharsetName() + "\r";
            try {
                Exchange e = inspect(msh.getBytes(StandardCharsets.US_ASCII));
                String name = e.getMessage().getHeader(MllpListenerHeaders.CHARSET, String.class);
                assertTrue(java.nio.charset.Charset.forName(name).canEncode(), hl7.getHL7CharsetName() + " -> " + name);
            } catch (Hl7RejectedException rejected) {
                assertTrue(rejected.getMessage().contains("MSH-18"), rejected.getMessage());
            } catch (Exception other) {
                throw new AssertionError(hl7.getHL7CharsetName() + " escaped as " + other, other);
            }
        }
    }

    @Test
    void anMshSegmentCutBeforeItsFieldSeparatorIsRejectedNotAnException() {
        // found by fuzzing the inspector (a property test since removed, docs/reliability.md#fuzzing): "MSH" then a line break, where MSH-1 should be
        Hl7RejectedException e = rejected("MSH\r^~\\&|SENDER|FACILITY|C|D|20240101||ADT^A08|X1|P|2.5\r");
        assertTrue(e.getMessage().contains("MSH-1"), e.getMessage());
    }

    @Test
    void encodingCharactersThatAreNotDelimitersAreRejectedSoEveryAcceptedMessageGetsAnAckEchoingItsControlId() {
        // found by the CI fuzz step (input kept under fuzz/Hl7InspectionFuzzTestInputs/): MSH-2 "^~\\&" followed by a
        // vertical tab (the MLLP start block) was accepted, and HAPI could not read the header to echo MSH-10 in the AA
        for (String encoding : new String[] {"^~\\&\u000b", "^~\\&\t", "^A\\&", "^~~&", "^~|&", "^~\\&#!"}) {
            Hl7RejectedException e = rejected("MSH|" + encoding + "|A|B|C|D|20240101||ADT^A08|X1|P|2.5\r");
            assertTrue(e.getMessage().contains("MSH-2"), encoding + ": " + e.getMessage());
        }
        // a fifth (truncation) character only from v2.7: HAPI cannot read it in an earlier version's header
        assertTrue(rejected("MSH|^~\\&#|A|B|C|D|20240101||ADT^A08|X1|P|2.5.1\r").getMessage().contains("MSH-2"));
        for (String[] accepted : new String[][] {{"^~\\&", "2.5"}, {"^~\\&#", "2.7"}, {"^~\\&#", "2.7.1"}}) {
            byte[] raw = ("MSH|" + accepted[0] + "|A|B|C|D|20240101||ADT^A08|X1|P|" + accepted[1] + "\r")
                    .getBytes(StandardCharsets.ISO_8859_1);
            assertDoesNotThrow(() -> inspect(raw), accepted[0]);
            org.cmm.eventbroker.platform.mllp.Acknowledgement ack = org.cmm.eventbroker.platform.mllp.Acknowledgement.read(
                    new org.cmm.eventbroker.platform.mllp.AckBuilder().build(raw, StandardCharsets.ISO_8859_1,
                            org.cmm.eventbroker.platform.mllp.AckCode.AA, null, null), StandardCharsets.ISO_8859_1);
            assertEquals("X1", ack.controlId(), accepted[0] + " " + accepted[1] + ": the AA echoes MSH-10");
        }
    }

    @Test
    void aControlIdWithSeparatorsIsRejectedBecauseAnAckCouldNotEchoIt() {
        // found by the CI fuzz step (input kept): MSH-10 "~TEST-MSG-001" was accepted whole, while an ACK echoes its
        // first repetition's first component: empty
        for (String controlId : new String[] {"~X1", "X1~X2", "^X1", "X1&Y"}) {
            Hl7RejectedException e = rejected("MSH|^~\\&|A|B|C|D|20240101||ADT^A08|" + controlId + "|P|2.5\r");
            assertTrue(e.getMessage().contains("MSH-10"), controlId + ": " + e.getMessage());
        }
    }
}
