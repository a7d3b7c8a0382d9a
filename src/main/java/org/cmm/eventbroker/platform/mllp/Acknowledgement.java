package org.cmm.eventbroker.platform.mllp;

import java.nio.charset.Charset;

/**
 * What a peer answered to a message we sent: MSA-1, MSA-2 and its reason (MSA-3, else the first ERR's diagnostic
 * or code text). The outbound flows decide from it whether an order is done, to be retried or to be dead-lettered,
 * so it is read without a general parser (ACKs come in every version, often hand-built by the peer).
 *
 * @param code      MSA-1 as sent (AA, AE, AR, or the enhanced-mode CA, CE, CR)
 * @param controlId MSA-2: the control id of the message this ACK answers
 * @param text      the peer's reason, "" when it gave none
 */
public record Acknowledgement(String code, String controlId, String text) {

    /**
     * Reads an ACK.
     *
     * @throws IllegalArgumentException when the bytes are not an HL7 acknowledgement (no MSH first, no MSA)
     */
    public static Acknowledgement read(byte[] ack, Charset charset) {
        String text = new String(ack, charset);
        String[] segments = text.split("[\r\n]+");
        if (segments.length == 0 || !segments[0].startsWith("MSH") || segments[0].length() < 8) {
            throw new IllegalArgumentException("the reply is not an HL7 message (it does not start with MSH)");
        }
        Er7Segment header = Er7Segment.header(segments[0]);
        Er7Segment msa = null;
        Er7Segment err = null;
        for (int i = 1; i < segments.length; i++) {
            if (msa == null && segments[i].startsWith("MSA")) {
                msa = Er7Segment.of(segments[i], header);
            } else if (err == null && segments[i].startsWith("ERR")) {
                err = Er7Segment.of(segments[i], header);
            }
        }
        if (msa == null || msa.field(1).isEmpty()) {
            throw new IllegalArgumentException("the reply has no MSA segment with an acknowledgement code");
        }
        String reason = msa.field(3);
        if (reason.isEmpty() && err != null) {
            // v2.5+: ERR-8 user message, ERR-7 diagnostic, ERR-3 code^text^...^original text (HAPI puts the
            // reason in ERR-3-9); v2.3/2.4: ERR-1 segment^sequence^field^code&text
            reason = firstNonEmpty(err.field(8), err.field(7), err.component(3, 9), err.component(3, 2),
                    subcomponent(err.component(1, 4), 2), err.component(3, 1), err.component(1, 4));
        }
        return new Acknowledgement(msa.field(1).toUpperCase(java.util.Locale.ROOT), msa.field(2), reason);
    }

    /** MSH-10 of an ER7 message, "" when it has none. */
    public static String controlIdOf(String message) {
        int end = message.indexOf('\r');
        String msh = end < 0 ? message : message.substring(0, end);
        int lf = msh.indexOf('\n');
        if (lf >= 0) {
            msh = msh.substring(0, lf);
        }
        if (!msh.startsWith("MSH") || msh.length() < 8) {
            return "";
        }
        return Er7Segment.header(msh).field(10);
    }

    /** AA or CA. */
    public boolean accepted() {
        return code.equals("AA") || code.equals("CA");
    }

    /** AR or CR: the peer will never take this message as it is. */
    public boolean rejected() {
        return code.equals("AR") || code.equals("CR");
    }

    private static String subcomponent(String component, int n) {
        String[] parts = component.split("&", -1);
        return parts.length >= n ? parts[n - 1] : "";
    }

    private static String firstNonEmpty(String... values) {
        for (String v : values) {
            if (v != null && !v.isEmpty()) {
                return v;
            }
        }
        return "";
    }
}
