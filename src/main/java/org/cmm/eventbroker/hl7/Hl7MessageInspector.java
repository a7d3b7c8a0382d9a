package org.cmm.eventbroker.hl7;

import java.net.URLEncoder;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.Charset;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.zip.CRC32C;

import ca.uhn.hl7v2.ErrorCode;
import ca.uhn.hl7v2.Version;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;
import org.cmm.eventbroker.platform.mllp.Er7Segment;
import org.cmm.eventbroker.platform.mllp.Hl7Delimiters;
import org.cmm.eventbroker.platform.mllp.MllpListenerHeaders;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides whether an inbound HL7 v2 message can be accepted, and describes it in headers for routing.
 *
 * <p>It reads only what routing needs (MSH, the first PID-3; see {@link Er7Segment}) instead of parsing the whole
 * message: the broker forwards messages, it does not interpret them, and the bytes on Kafka are the bytes received.
 * A message is rejected ({@link Hl7RejectedException}, answered AR) when it is not a clean MLLP frame, does not start
 * with MSH, is not valid in its declared (MSH-18) or the default charset, lacks MSH-9 or MSH-10, names a message
 * type that cannot be a topic name, declares an HL7 version that does not exist, or has a segment that is not a
 * segment.
 */
public class Hl7MessageInspector implements Processor {


    private static final Logger LOG = LoggerFactory.getLogger(Hl7MessageInspector.class);

    private Charset defaultCharset = StandardCharsets.ISO_8859_1;
    private boolean logMessageBodies;
    private ZoneId defaultZone = ZoneId.systemDefault();

    /** The charset of messages without MSH-18 (HL7 says ASCII; ISO-8859-1 reads every byte). */
    public void setDefaultCharset(String charset) {
        this.defaultCharset = Charset.forName(charset);
    }

    /** Debugging only: logs every message as received (patient data!) at INFO. */
    public void setLogMessageBodies(boolean logMessageBodies) {
        this.logMessageBodies = logMessageBodies;
        if (logMessageBodies) {
            LOG.warn("cmm.debug.log-message-bodies is on: message bodies (patient data) are logged");
        }
    }

    /** The time zone of MSH-7 timestamps that carry no offset. */
    public void setDefaultZone(String zone) {
        this.defaultZone = zone == null || zone.isBlank() ? ZoneId.systemDefault() : ZoneId.of(zone);
    }

    @Override
    public void process(Exchange exchange) throws Hl7RejectedException {
        Message in = exchange.getMessage();
        String refused = in.getHeader(MllpListenerHeaders.SENDER_REFUSED, String.class);
        if (refused != null) {
            throw new Hl7RejectedException(refused, ErrorCode.TABLE_VALUE_NOT_FOUND);
        }
        String framingError = in.getHeader(MllpListenerHeaders.FRAMING_ERROR, String.class);
        if (framingError != null) {
            throw new Hl7RejectedException(framingError, ErrorCode.SEGMENT_SEQUENCE_ERROR);
        }
        byte[] raw = in.getBody(byte[].class);
        if (logMessageBodies && raw != null) {
            LOG.info("DEBUG message body (patient data): {}", new String(raw, StandardCharsets.ISO_8859_1).replace('\r', '\n'));
        }
        if (raw == null || raw.length == 0) {
            throw new Hl7RejectedException("empty message", ErrorCode.SEGMENT_SEQUENCE_ERROR);
        }
        String header = mshSegment(raw);
        Charset charset = charsetOf(header);
        in.setHeader(MllpListenerHeaders.CHARSET, charset.name());
        String text = decodeStrictly(raw, charset);
        String[] routing = routingSegments(text, header.charAt(3));
        Er7Segment msh = Er7Segment.header(routing[0]);
        Er7Segment pid = routing[1] != null ? Er7Segment.of(routing[1], msh) : null;
        String[] f = {
            msh.component(3, 1), msh.component(4, 1), msh.component(5, 1), msh.component(6, 1), msh.component(7, 1),
            msh.component(9, 1), msh.component(9, 2), msh.field(10), msh.component(12, 1),
            pid != null ? pid.component(3, 1) : null };
        String sendingApp = f[0];
        String sendingFacility = f[1];
        String messageType = required(f[5], "MSH-9-1 (message type)");
        String triggerEvent = required(f[6], "MSH-9-2 (trigger event)");
        String controlId = required(f[7], "MSH-10 (message control id)");
        String encoding = msh.field(2);
        for (int i = 0; i < encoding.length() && i < 4; i++) {
            if (i != 2 && controlId.indexOf(encoding.charAt(i)) >= 0) {
                // an ACK echoes the first component of the first repetition: it must be the whole id
                throw new Hl7RejectedException("MSH-10 (message control id) must be one value, without component, "
                        + "repetition or subcomponent separators", ErrorCode.DATA_TYPE_ERROR);
            }
        }
        String version = required(f[8], "MSH-12 (version id)");
        if (msh.field(2).length() == 5 && !(version.startsWith("2.7") || version.startsWith("2.8")
                || version.startsWith("2.9"))) {
            throw new Hl7RejectedException("MSH-2 has a fifth (truncation) character, which HL7 defines from v2.7 on; "
                    + "MSH-12 says " + printable(version), ErrorCode.DATA_TYPE_ERROR);
        }
        if (!isTopicSafe(messageType) || !isTopicSafe(triggerEvent)) {
            throw new Hl7RejectedException("MSH-9 message type/trigger event must be letters and digits",
                    ErrorCode.UNSUPPORTED_MESSAGE_TYPE);
        }
        if (Version.versionOf(version) == null) {
            throw new Hl7RejectedException("unsupported HL7 version '" + printable(version) + "' in MSH-12",
                    ErrorCode.UNSUPPORTED_VERSION_ID);
        }
        String patientId = blankToNull(f[9]);

        in.setHeader(Hl7Headers.MESSAGE_TYPE, messageType.toUpperCase(Locale.ROOT));
        in.setHeader(Hl7Headers.TRIGGER_EVENT, triggerEvent.toUpperCase(Locale.ROOT));
        // the topic parts in the case topics use: Simple has no lower-case function, and an OGNL call
        // (${header.x.toLowerCase()}) per message cost 6% of the ingest path's CPU
        in.setHeader(Hl7Headers.TOPIC_MESSAGE_TYPE, messageType.toLowerCase(Locale.ROOT));
        in.setHeader(Hl7Headers.TOPIC_TRIGGER_EVENT, triggerEvent.toLowerCase(Locale.ROOT));
        in.setHeader(Hl7Headers.CONTROL_ID, controlId);
        in.setHeader(Hl7Headers.VERSION, version);
        setIfPresent(in, Hl7Headers.SENDING_APPLICATION, f[0]);
        setIfPresent(in, Hl7Headers.SENDING_FACILITY, f[1]);
        setIfPresent(in, Hl7Headers.RECEIVING_APPLICATION, f[2]);
        setIfPresent(in, Hl7Headers.RECEIVING_FACILITY, f[3]);
        in.setHeader(Hl7Headers.CHARSET, charset.name());
        setIfPresent(in, Hl7Headers.PATIENT_ID, patientId);

        in.setHeader(Hl7Headers.CE_SPECVERSION, "1.0");
        in.setHeader(Hl7Headers.CONTENT_TYPE, "x-application/hl7-v2+er7; charset=" + charset.name());
        in.setHeader(Hl7Headers.CE_ID, controlId);
        in.setHeader(Hl7Headers.CE_SOURCE, "/hl7v2/" + uriSegment(sendingApp) + "/" + uriSegment(sendingFacility));
        setIfPresent(in, Hl7Headers.CE_TIME, rfc3339(f[4]));
        setIfPresent(in, Hl7Headers.CE_SUBJECT, patientId);
        in.setHeader(Hl7Headers.DEDUPLICATION_KEY, nullToEmpty(sendingApp) + '|' + nullToEmpty(sendingFacility) + '|'
                + controlId + '|' + fingerprint(raw));
    }

    /**
     * A digest of the message without MSH-7, so that a resend (same content, perhaps a new send time) is recognised,
     * while a different message that reuses a control id (some senders restart their counters) is not taken for one.
     */
    static String fingerprint(byte[] raw) {
        // CRC-32C (a CPU instruction) is enough: it only has to tell apart messages that already share sender,
        // facility and control id; SHA-256 here cost several percent of the ingest path's CPU
        CRC32C digest = new CRC32C();
        int start = 0;
        while (start < raw.length && raw[start] != 'M') {
            start++;
        }
        byte separator = start + 3 < raw.length ? raw[start + 3] : (byte) '|';
        // MSH-7 starts after the 6th field separator of the segment (MSH-1 is the separator itself)
        int from = -1;
        int to = -1;
        int count = 0;
        for (int i = start + 3; i < raw.length && raw[i] != '\r' && raw[i] != '\n'; i++) {
            if (raw[i] == separator) {
                count++;
                if (count == 6) {
                    from = i + 1;
                } else if (count == 7) {
                    to = i;
                    break;
                }
            }
        }
        if (from > 0 && to > from) {
            digest.update(raw, 0, from);
            digest.update(raw, to, raw.length - to);
        } else {
            digest.update(raw);
        }
        return Long.toHexString(digest.getValue()) + '-' + Integer.toHexString(raw.length);
    }

    /** The MSH segment, read byte-for-byte (the charset is not known yet; MSH itself is ASCII). */
    private static String mshSegment(byte[] raw) throws Hl7RejectedException {
        int start = 0;
        while (start < raw.length && (raw[start] == '\r' || raw[start] == '\n' || raw[start] == ' ')) {
            start++;
        }
        if (raw.length - start < 9 || raw[start] != 'M' || raw[start + 1] != 'S' || raw[start + 2] != 'H') {
            throw new Hl7RejectedException("message does not start with an MSH segment", ErrorCode.SEGMENT_SEQUENCE_ERROR);
        }
        int end = start;
        while (end < raw.length && raw[end] != '\r' && raw[end] != '\n') {
            end++;
        }
        String msh = new String(raw, start, end - start, StandardCharsets.ISO_8859_1);
        if (msh.length() < 4) {
            throw new Hl7RejectedException("MSH-1 field separator is missing (the segment ends after MSH)",
                    ErrorCode.SEGMENT_SEQUENCE_ERROR);
        }
        String problem = Hl7Delimiters.problem(msh);
        if (problem != null) {
            throw new Hl7RejectedException(problem, problem.startsWith("MSH-1") ? ErrorCode.SEGMENT_SEQUENCE_ERROR
                    : ErrorCode.DATA_TYPE_ERROR);
        }
        return msh;
    }

    private Charset charsetOf(String msh) throws Hl7RejectedException {
        return Hl7Charsets.of(Er7Segment.header(msh).component(18, 1).trim(), defaultCharset);
    }

    private static String decodeStrictly(byte[] raw, Charset charset) throws Hl7RejectedException {
        if (charset.equals(StandardCharsets.ISO_8859_1)) {
            return new String(raw, charset); // every byte is a valid ISO-8859-1 character
        }
        try {
            return charset.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(raw))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new Hl7RejectedException("message bytes are not valid " + charset.name()
                    + " (declared in MSH-18 or the configured default)", ErrorCode.DATA_TYPE_ERROR);
        }
    }

    /**
     * Checks that every line is a segment (CR, LF or CRLF separated) and returns the MSH and the first PID segment
     * (null when there is none), which is all routing needs.
     */
    private static String[] routingSegments(String text, char fieldSeparator) throws Hl7RejectedException {
        int segment = 0;
        int start = 0;
        int length = text.length();
        String msh = null;
        String pid = null;
        // the next CR and LF at or after start (-1: none left), found with String.indexOf (a vectorised intrinsic):
        // a loop over every character was 14 % of the MLLP intake's CPU samples (issue 17)
        int nextCr = text.indexOf('\r');
        int nextLf = text.indexOf('\n');
        while (start < length) {
            if (nextCr >= 0 && nextCr < start) {
                nextCr = text.indexOf('\r', start);
            }
            if (nextLf >= 0 && nextLf < start) {
                nextLf = text.indexOf('\n', start);
            }
            int end = nextCr < 0 ? (nextLf < 0 ? length : nextLf) : (nextLf < 0 ? nextCr : Math.min(nextCr, nextLf));
            if (end > start) {
                segment++;
                if (!isSegment(text, start, end, fieldSeparator)) {
                    throw new Hl7RejectedException("segment " + segment + " is not an HL7 segment",
                            ErrorCode.SEGMENT_SEQUENCE_ERROR);
                }
                if (msh == null) {
                    msh = text.substring(start, end);
                } else if (pid == null && text.startsWith("PID", start)) {
                    pid = text.substring(start, end);
                }
            }
            start = end + 1;
        }
        return new String[] {msh, pid};
    }

    private static boolean isSegment(String text, int start, int end, char fieldSeparator) {
        if (end - start < 3) {
            return false;
        }
        char a = text.charAt(start);
        char b = text.charAt(start + 1);
        char c = text.charAt(start + 2);
        boolean id = a >= 'A' && a <= 'Z' && (b >= 'A' && b <= 'Z' || b >= '0' && b <= '9')
                && (c >= 'A' && c <= 'Z' || c >= '0' && c <= '9');
        return id && (end - start == 3 || text.charAt(start + 3) == fieldSeparator);
    }

    /** MSH-7 (HL7 DTM) as RFC 3339, or null when unreadable: ce_time is optional, so it never rejects a message. */
    String rfc3339(String hl7Timestamp) {
        OffsetDateTime time = Hl7DateTime.parseOrNull(hl7Timestamp, defaultZone, 8);
        return time == null ? null : time.format(DateTimeFormatter.ISO_OFFSET_DATE_TIME);
    }

    private static boolean isTopicSafe(String value) {
        if (value.isEmpty() || value.length() > 8) {
            return false;
        }
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (!(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9')) {
                return false;
            }
        }
        return true;
    }

    private static String required(String value, String name) throws Hl7RejectedException {
        if (value == null || value.isBlank()) {
            throw new Hl7RejectedException(name + " is empty", ErrorCode.REQUIRED_FIELD_MISSING);
        }
        return value.trim();
    }

    private static void setIfPresent(Message message, String name, String value) {
        if (value != null && !value.isBlank()) {
            message.setHeader(name, value.trim());
        }
    }

    private static String blankToNull(String value) {
        return value == null || value.isBlank() ? null : value.trim();
    }

    private static String nullToEmpty(String value) {
        return value == null ? "" : value.trim();
    }

    private static String uriSegment(String value) {
        return URLEncoder.encode(nullToEmpty(value), StandardCharsets.UTF_8);
    }

    /** Header values echoed into a reason: short and printable, so a reject never carries content. */
    private static String printable(String value) {
        String v = value.length() > 20 ? value.substring(0, 20) + "..." : value;
        return v.replaceAll("[^\\x20-\\x7E]", "?");
    }
}
