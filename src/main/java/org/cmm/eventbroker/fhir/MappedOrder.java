package org.cmm.eventbroker.fhir;

import java.nio.charset.StandardCharsets;

/**
 * An HL7 v2 order built from a FHIR resource, encoded in ER7 with CR between segments, and its control id (MSH-10),
 * which the outbound flow puts in a header so a dead letter or a peer's ACK can be matched to it.
 *
 * @param controlId MSH-10
 * @param er7       the encoded message, without MLLP framing
 */
public record MappedOrder(String controlId, String er7) {

    /** The message as sent: UTF-8, which its MSH-18 ("UNICODE UTF-8") declares. */
    public byte[] bytes() {
        return er7.getBytes(StandardCharsets.UTF_8);
    }
}
