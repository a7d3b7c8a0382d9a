package org.cmm.eventbroker.platform.delivery;

/**
 * A delivery that did not happen this time but may next time: the peer refused the connection, timed out, answered
 * AE, answered something that is not an ACK, or acknowledged another message. The record stays where it is and is
 * tried again after a back-off; the message names the cause without patient data.
 */
public class DeliveryFailedException extends Exception {

    public DeliveryFailedException(String reason) {
        super(reason);
    }

    public DeliveryFailedException(String reason, Throwable cause) {
        super(reason, cause);
    }
}
