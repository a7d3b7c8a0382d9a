package org.cmm.eventbroker.hl7;

import ca.uhn.hl7v2.ErrorCode;

/**
 * The message cannot be accepted as sent: it is answered {@code AR} and kept, untouched, on the dead-letter topic.
 * The message text is sent back to the sender and logged, so it never contains message content.
 */
public class Hl7RejectedException extends Exception {

    private final transient ErrorCode errorCode;

    public Hl7RejectedException(String reason, ErrorCode errorCode) {
        super(reason);
        this.errorCode = errorCode;
    }

    public ErrorCode getErrorCode() {
        return errorCode;
    }

    /** The numeric HL7 error code (table 0357), for the acknowledgement. */
    public int getHl7ErrorCode() {
        return errorCode.getCode();
    }
}
