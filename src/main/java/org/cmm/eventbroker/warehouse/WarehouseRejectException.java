package org.cmm.eventbroker.warehouse;

/** A record the warehouse cannot load; the message is the reason, without message content. */
public class WarehouseRejectException extends Exception {

    public WarehouseRejectException(String reason) {
        super(reason);
    }
}
