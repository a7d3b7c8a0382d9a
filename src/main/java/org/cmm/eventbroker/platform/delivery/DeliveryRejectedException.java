package org.cmm.eventbroker.platform.delivery;

/**
 * A record that can never be delivered as it is (not HL7 and not the expected FHIR resource, a required field
 * missing, an unknown order type, a peer's AR): retrying cannot help, so the flow dead-letters it, untouched, with
 * this reason and goes on. The reason must name what is wrong without quoting patient data.
 */
public class DeliveryRejectedException extends Exception {

    public DeliveryRejectedException(String reason) {
        super(reason);
    }

    public DeliveryRejectedException(String reason, Throwable cause) {
        super(reason, cause);
    }
}
