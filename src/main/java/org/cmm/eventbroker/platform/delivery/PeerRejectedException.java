package org.cmm.eventbroker.platform.delivery;

/** The peer answered AR (or CR): it will never take this message as sent, so it is dead-lettered, not retried. */
public class PeerRejectedException extends DeliveryRejectedException {

    private final String ackCode;

    public PeerRejectedException(String ackCode, String peerText) {
        super("peer answered " + ackCode + (peerText.isEmpty() ? "" : ": " + peerText));
        this.ackCode = ackCode;
    }

    public String getAckCode() {
        return ackCode;
    }
}
