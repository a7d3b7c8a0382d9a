package org.cmm.eventbroker.hl7;

import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

import org.cmm.eventbroker.platform.mllp.Er7Segment;

/**
 * The MSH fields an outbound flow checks before it hands a message, unchanged, to a peer: message type, trigger
 * event, control id and character set.
 *
 * <p>Like the inbound inspection, it reads the MSH line with {@link Er7Segment} instead of parsing the message, so the
 * bytes forwarded are exactly the bytes read from Kafka.
 */
public final class Hl7MessageHeader {

    private final Er7Segment msh;

    private Hl7MessageHeader(Er7Segment msh) {
        this.msh = msh;
    }

    /**
     * Reads the MSH segment at the start of the bytes (after leading line breaks or blanks).
     *
     * @return the header, or empty when the bytes do not start with an MSH segment
     */
    public static Optional<Hl7MessageHeader> read(byte[] raw) {
        if (raw == null) {
            return Optional.empty();
        }
        int start = 0;
        while (start < raw.length && (raw[start] == '\r' || raw[start] == '\n' || raw[start] == ' ' || raw[start] == '\t')) {
            start++;
        }
        if (raw.length - start < 9 || raw[start] != 'M' || raw[start + 1] != 'S' || raw[start + 2] != 'H') {
            return Optional.empty();
        }
        int end = start;
        while (end < raw.length && raw[end] != '\r' && raw[end] != '\n') {
            end++;
        }
        // MSH itself is ASCII whatever MSH-18 declares, so ISO-8859-1 reads it byte for byte
        String line = new String(raw, start, end - start, StandardCharsets.ISO_8859_1);
        if (line.length() < 4) {
            return Optional.empty(); // "MSH" then a line break: no field separator, no header
        }
        char fieldSeparator = line.charAt(3);
        if (Character.isLetterOrDigit(fieldSeparator) || Character.isWhitespace(fieldSeparator)) {
            return Optional.empty();
        }
        return Optional.of(new Hl7MessageHeader(Er7Segment.header(line)));
    }

    /** MSH-9-1, trimmed, "" when absent. */
    public String messageType() {
        return msh.component(9, 1).trim();
    }

    /** MSH-9-2, trimmed, "" when absent. */
    public String triggerEvent() {
        return msh.component(9, 2).trim();
    }

    /** MSH-10, trimmed, "" when absent. */
    public String controlId() {
        return msh.field(10).trim();
    }

    /** The first repetition of MSH-18 as written, "" when absent. */
    public String declaredCharset() {
        return msh.component(18, 1).trim();
    }

    /**
     * The Java charset of the message: MSH-18 read as an HL7 character set name (or, as some senders write it, a
     * Java/IANA name), the given default when MSH-18 is empty.
     *
     * @return the charset, or empty when MSH-18 names one that is not supported
     */
    public Optional<Charset> charset(Charset defaultCharset) {
        try {
            return Optional.of(Hl7Charsets.of(declaredCharset(), defaultCharset));
        } catch (Hl7RejectedException e) {
            return Optional.empty();
        }
    }
}
