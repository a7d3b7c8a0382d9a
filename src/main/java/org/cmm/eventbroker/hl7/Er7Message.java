package org.cmm.eventbroker.hl7;

import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import ca.uhn.hl7v2.ErrorCode;
import org.apache.camel.Message;
import org.cmm.eventbroker.platform.mllp.Er7Segment;

/**
 * The segments of one ER7 message, for processors that decide on a few coded fields (a result's abnormal flags, a
 * dispense's amount) without a full parse.
 *
 * <p>Why not HAPI's parser: it needs the structure classes of the message's version and its model of each segment,
 * while these decisions read three or four fields that have kept their positions since v2.3; a message of a version
 * HAPI does not know, or with Z-segments anywhere, reads the same way here. Values are as the sender wrote them
 * (no unescaping), which is what coded values need.
 */
public final class Er7Message {

    private final Er7Segment header;
    private final List<String[]> segments; // {segment id, segment text}

    private Er7Message(Er7Segment header, List<String[]> segments) {
        this.header = header;
        this.segments = segments;
    }

    /**
     * Reads the message body of an exchange in the charset {@link Hl7MessageInspector} found (header
     * {@link Hl7Headers#CHARSET}), else the one MSH-18 declares, else ISO-8859-1.
     */
    public static Er7Message of(Message message) throws Hl7RejectedException {
        byte[] raw = message.getBody(byte[].class);
        if (raw == null || raw.length == 0) {
            throw new Hl7RejectedException("empty message", ErrorCode.SEGMENT_SEQUENCE_ERROR);
        }
        String charsetName = message.getHeader(Hl7Headers.CHARSET, String.class);
        Charset charset = charsetName != null ? Charset.forName(charsetName) : declaredCharset(raw);
        return parse(new String(raw, charset));
    }

    /** Reads a message already decoded; segments may be separated by CR, LF or CRLF. */
    public static Er7Message parse(String text) throws Hl7RejectedException {
        List<String[]> segments = new ArrayList<>();
        Er7Segment header = null;
        // String.lines(): CR, LF or CRLF without a regular expression (the alternation was a hot spot of every
        // consuming flow: issue 17 item 8)
        for (String line : text.lines().toList()) {
            String segment = line.strip();
            if (segment.length() < 3) {
                continue;
            }
            if (header == null) {
                if (!segment.startsWith("MSH") || segment.length() < 8) {
                    throw new Hl7RejectedException("message does not start with an MSH segment",
                            ErrorCode.SEGMENT_SEQUENCE_ERROR);
                }
                header = Er7Segment.header(segment);
            }
            segments.add(new String[] {segment.substring(0, 3), segment});
        }
        if (header == null) {
            throw new Hl7RejectedException("message does not start with an MSH segment", ErrorCode.SEGMENT_SEQUENCE_ERROR);
        }
        return new Er7Message(header, segments);
    }

    public Er7Segment header() {
        return header;
    }

    /** MSH-9-1 and MSH-9-2 in upper case, e.g. "ORU^R01". */
    public String messageType() {
        return (header.component(9, 1).trim() + '^' + header.component(9, 2).trim()).toUpperCase(Locale.ROOT);
    }

    /** Every segment with this id (e.g. "OBX"), in message order, whatever group it is in. */
    public List<Er7Segment> segments(String id) {
        List<Er7Segment> found = new ArrayList<>();
        for (String[] s : segments) {
            if (s[0].equals(id)) {
                found.add(Er7Segment.of(s[1], header));
            }
        }
        return found;
    }

    /**
     * Rejects the message unless its MSH-9 is the expected type, so a classifier never files, say, an ORU^R30 under a
     * class it did not compute. The reason quotes only MSH-9, which carries no patient data.
     */
    public void requireType(String expected) throws Hl7RejectedException {
        String actual = messageType();
        if (!actual.equals(expected)) {
            String shown = actual.length() > 20 ? actual.substring(0, 20) + "..." : actual;
            throw new Hl7RejectedException("expected a " + expected + " message, MSH-9 is "
                    + shown.replaceAll("[^\\x20-\\x7E]", "?"), ErrorCode.UNSUPPORTED_MESSAGE_TYPE);
        }
    }

    private static Charset declaredCharset(byte[] raw) {
        int end = 0;
        while (end < raw.length && raw[end] != '\r' && raw[end] != '\n') {
            end++;
        }
        String msh = new String(raw, 0, end, StandardCharsets.ISO_8859_1).strip();
        if (msh.length() < 8 || !msh.startsWith("MSH")) {
            return StandardCharsets.ISO_8859_1;
        }
        String declared = Er7Segment.header(msh).component(18, 1).trim();
        if (declared.isEmpty()) {
            return StandardCharsets.ISO_8859_1;
        }
        // the coded fields read here are ASCII in every charset HL7 allows: ISO-8859-1 when MSH-18 is unusable
        return Hl7Charsets.orDefault(declared, StandardCharsets.ISO_8859_1);
    }
}
