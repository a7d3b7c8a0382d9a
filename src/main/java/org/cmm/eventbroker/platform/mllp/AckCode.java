package org.cmm.eventbroker.platform.mllp;

/** HL7 v2 original-mode acknowledgement codes (MSA-1) and what each promises the sender. */
public enum AckCode {
    /** Accepted: the message is durably on Kafka. */
    AA,
    /** Error: nothing was published; the sender should resend. */
    AE,
    /** Rejected: the message cannot be accepted as sent; it went to the dead-letter topic. */
    AR
}
