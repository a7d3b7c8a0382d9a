package org.cmm.eventbroker.platform.mllp;

import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;

/**
 * An {@code AA} acknowledgement that HAPI built once for one header shape (sender, receiver, trigger, processing id,
 * version, delimiters), split around the three values that change per message: MSH-7 (time), MSH-10 (the ACK's own
 * control id) and MSA-2 (the inbound control id). Rendering it is string concatenation.
 *
 * <p>Why: building every ACK with HAPI (parse MSH, generateACK, encode) was a quarter of the runtime's CPU per
 * message in the ingest benchmark's profile; the ACK's content only depends on the header shape.
 */
final class AcceptAckTemplate {

    /** Stands in for the inbound control id while HAPI builds the template; letters only, so nothing escapes it. */
    static final String CONTROL_ID_TOKEN = "QQCMMCONTROLIDTOKENQQ";

    private static final DateTimeFormatter HL7_TIME = DateTimeFormatter.ofPattern("yyyyMMddHHmmss.SSSZ");

    private final String head;      // "MSH|^~\&|<3>|<4>|<5>|<6>|"
    private final String middle;    // "|<8>|<9>|"
    private final String beforeMsa2; // "|<11>|...\rMSA|AA|"
    private final String tail;      // what follows MSA-2

    private AcceptAckTemplate(String head, String middle, String beforeMsa2, String tail) {
        this.head = head;
        this.middle = middle;
        this.beforeMsa2 = beforeMsa2;
        this.tail = tail;
    }

    /** Splits an encoded HAPI ACK whose MSA-2 is {@link #CONTROL_ID_TOKEN}; null if it does not have that shape. */
    static AcceptAckTemplate of(String encodedAck) {
        if (!encodedAck.startsWith("MSH") || encodedAck.length() < 8) {
            return null;
        }
        char separator = encodedAck.charAt(3);
        int[] at = new int[11]; // at[n] = index of the separator that ends MSH-(n)... counting MSH-1 as index 3
        at[1] = 3;
        int pos = 3;
        for (int n = 2; n <= 10; n++) {
            pos = encodedAck.indexOf(separator, pos + 1);
            if (pos < 0) {
                return null;
            }
            at[n] = pos;
        }
        int token = encodedAck.indexOf(CONTROL_ID_TOKEN);
        if (token < at[10]) {
            return null;
        }
        // MSH-7 lies between the separators at[6] and at[7]; MSH-10 between at[9] and at[10]
        return new AcceptAckTemplate(encodedAck.substring(0, at[6] + 1), encodedAck.substring(at[7], at[9] + 1),
                encodedAck.substring(at[10], token), encodedAck.substring(token + CONTROL_ID_TOKEN.length()));
    }

    String render(String ackControlId, String inboundControlId) {
        return head + HL7_TIME.format(ZonedDateTime.now()) + middle + ackControlId + beforeMsa2 + inboundControlId + tail;
    }
}
