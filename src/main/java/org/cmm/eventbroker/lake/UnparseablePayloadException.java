package org.cmm.eventbroker.lake;

/** A record whose payload the lake cannot read its key fields from; the message is the reason, never the content. */
public class UnparseablePayloadException extends Exception {

    public UnparseablePayloadException(String reason) {
        super(reason);
    }
}
