package org.cmm.eventbroker.platform.mllp;

import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

import ca.uhn.hl7v2.AcknowledgmentCode;
import ca.uhn.hl7v2.DefaultHapiContext;
import ca.uhn.hl7v2.ErrorCode;
import ca.uhn.hl7v2.HL7Exception;
import ca.uhn.hl7v2.HapiContext;
import ca.uhn.hl7v2.model.Message;
import ca.uhn.hl7v2.model.v25.message.ACK;
import ca.uhn.hl7v2.parser.GenericModelClassFactory;
import ca.uhn.hl7v2.parser.Parser;
import ca.uhn.hl7v2.validation.impl.ValidationContextFactory;

/**
 * Builds HL7 v2 original-mode acknowledgements with HAPI.
 *
 * <p>Only the inbound MSH segment is parsed (with HAPI's generic model), which is all an ACK needs: the ACK is
 * in the sender's version, swaps sending and receiving application/facility, echoes MSH-10 in MSA-2 and carries
 * the reason of an AE/AR in MSA-3 and ERR. When the inbound bytes have no usable MSH (garbage), a v2.5 ACK with an
 * empty MSA-2 is returned, so the sender still learns why.
 *
 * <p>{@code AA}s, the common case, come from a per-header-shape template that HAPI built (see
 * {@link AcceptAckTemplate}); AE and AR are always built by HAPI in full.
 *
 * <p>The reason text must never contain message content: it is sent back and may be logged.
 */
public final class AckBuilder {

    private static final int MAX_TEMPLATES = 1024;

    private final HapiContext hapi;
    private final Parser parser;
    private final AckControlIdGenerator idGenerator = new AckControlIdGenerator();
    private final java.util.concurrent.ConcurrentHashMap<String, AcceptAckTemplate> templates = new java.util.concurrent.ConcurrentHashMap<>();

    public AckBuilder() {
        hapi = new DefaultHapiContext();
        hapi.setModelClassFactory(new GenericModelClassFactory());
        hapi.setValidationContext(ValidationContextFactory.noValidation());
        hapi.getParserConfiguration().setIdGenerator(idGenerator);
        parser = hapi.getPipeParser();
    }

    /**
     * @param inbound   the message as received (any bytes)
     * @param charset   the charset to read the inbound MSH with and to encode the ACK in
     * @param code      the acknowledgement code
     * @param errorCode the HL7 error code (table 0357) for AE/AR, or null for AA
     * @param reason    the human-readable reason for AE/AR, or null
     * @return the encoded ACK, segments separated by CR, without MLLP framing
     */
    public byte[] build(byte[] inbound, Charset charset, AckCode code, ErrorCode errorCode, String reason) {
        Charset cs = charset != null ? charset : StandardCharsets.ISO_8859_1;
        String msh = readableDelimiters(mshSegment(inbound, cs));
        if (code == AckCode.AA && msh != null) {
            String fast = acceptFromTemplate(msh);
            if (fast != null) {
                return fast.getBytes(cs);
            }
        }
        try {
            Message header = parseHeader(msh);
            Message ack = header != null
                    ? header.generateACK(AcknowledgmentCode.valueOf(code.name()), exception(code, errorCode, reason))
                    : fallbackAck(msh, code, errorCode, reason);
            return parser.encode(ack).getBytes(cs);
        } catch (Exception e) {
            try {
                return parser.encode(fallbackAck(null, code, errorCode, reason)).getBytes(cs);
            } catch (Exception fatal) {
                throw new IllegalStateException("Cannot build an HL7 acknowledgement", fatal);
            }
        }
    }

    /**
     * An AA from the template of this header's shape, built by HAPI the first time the shape is seen; null when HAPI
     * cannot build one (the caller then takes the full path).
     */
    private String acceptFromTemplate(String msh) {
        Er7Segment h = Er7Segment.header(msh);
        String controlId = h.component(10, 1);
        if (controlId.isEmpty()) {
            return null;
        }
        // what HAPI's fillResponseHeader reads: delimiters, MSH-3..6, MSH-9-2, MSH-11, MSH-12 (first components)
        String shape = h.field(1) + h.field(2) + '|' + h.component(3, 1) + '|' + h.component(4, 1) + '|'
                + h.component(5, 1) + '|' + h.component(6, 1) + '|' + h.component(9, 2) + '|'
                + h.component(11, 1) + '|' + h.component(12, 1);
        AcceptAckTemplate template = templates.get(shape);
        if (template == null) {
            template = buildTemplate(msh);
            if (template == null) {
                return null;
            }
            if (templates.size() > MAX_TEMPLATES) {
                templates.clear();
            }
            templates.put(shape, template);
        }
        return template.render(idGenerator.getID(), controlId);
    }

    private AcceptAckTemplate buildTemplate(String msh) {
        String[] fields = msh.split(Pattern.quote(String.valueOf(msh.charAt(3))), -1);
        if (fields.length < 10) {
            return null;
        }
        fields[9] = AcceptAckTemplate.CONTROL_ID_TOKEN; // MSH-10
        try {
            Message header = parser.parse(String.join(String.valueOf(msh.charAt(3)), fields) + '\r');
            return AcceptAckTemplate.of(parser.encode(header.generateACK(AcknowledgmentCode.AA, null)));
        } catch (Exception e) {
            return null;
        }
    }

    /** The MSH segment of the inbound bytes, or null when they do not start with one. */
    private static String mshSegment(byte[] inbound, Charset cs) {
        int start = 0;
        while (start < inbound.length && Character.isWhitespace(inbound[start])) {
            start++;
        }
        if (inbound.length - start < 8 || inbound[start] != 'M' || inbound[start + 1] != 'S' || inbound[start + 2] != 'H') {
            return null;
        }
        int end = start;
        while (end < inbound.length && inbound[end] != '\r' && inbound[end] != '\n') {
            end++;
        }
        String msh = new String(inbound, start, end - start, cs);
        // "MSH" then a line break (or bytes the charset reads as fewer characters): no field separator to read it with
        return msh.length() < 4 || !msh.startsWith("MSH") ? null : msh;
    }

    /**
     * The MSH segment to answer from: as received when its delimiters can be read back; with the standard encoding
     * characters in place of an MSH-2 that cannot (the message is refused for it, but its ACK must say so readably,
     * not with a letter as component separator escaping the ACK code); null without a usable field separator.
     */
    private static String readableDelimiters(String msh) {
        if (msh == null || Hl7Delimiters.problem(msh) == null) {
            return msh;
        }
        char fieldSeparator = msh.charAt(3);
        if (Character.isLetterOrDigit(fieldSeparator) || Character.isWhitespace(fieldSeparator)) {
            return null;
        }
        int end = msh.indexOf(fieldSeparator, 4);
        return "MSH" + fieldSeparator + Hl7Delimiters.STANDARD_ENCODING + (end < 0 ? "" : msh.substring(end));
    }

    /** Parses just the MSH segment, or returns null when HAPI cannot (no MSH-9, unknown version...). */
    private Message parseHeader(String msh) {
        if (msh == null) {
            return null;
        }
        try {
            return parser.parse(msh + '\r');
        } catch (HL7Exception | RuntimeException e) {
            return null;
        }
    }

    /**
     * A v2.5 ACK for an inbound HAPI could not parse: whatever MSH fields can be read are still swapped and echoed,
     * so the sender can match the ACK to its message.
     */
    private Message fallbackAck(String msh, AckCode code, ErrorCode errorCode, String reason) throws Exception {
        ACK ack = new ACK();
        ack.setParser(parser);
        ack.initQuickstart("ACK", "", "P");
        if (msh != null && msh.length() > 8) {
            Er7Segment header = Er7Segment.header(msh);
            ack.getMSH().getSendingApplication().getNamespaceID().setValue(header.component(5, 1));
            ack.getMSH().getSendingFacility().getNamespaceID().setValue(header.component(6, 1));
            ack.getMSH().getReceivingApplication().getNamespaceID().setValue(header.component(3, 1));
            ack.getMSH().getReceivingFacility().getNamespaceID().setValue(header.component(4, 1));
            ack.getMSA().getMessageControlID().setValue(header.component(10, 1));
        }
        ack.getMSA().getAcknowledgmentCode().setValue(code.name());
        HL7Exception e = exception(code, errorCode, reason);
        if (e != null) {
            e.populateResponse(ack, AcknowledgmentCode.valueOf(code.name()), 0);
        }
        return ack;
    }

    private static HL7Exception exception(AckCode code, ErrorCode errorCode, String reason) {
        if (code == AckCode.AA) {
            return null;
        }
        ErrorCode ec = errorCode != null ? errorCode
                : code == AckCode.AR ? ErrorCode.UNSUPPORTED_MESSAGE_TYPE : ErrorCode.APPLICATION_INTERNAL_ERROR;
        return new HL7Exception(reason != null ? reason : code.name(), ec);
    }
}
