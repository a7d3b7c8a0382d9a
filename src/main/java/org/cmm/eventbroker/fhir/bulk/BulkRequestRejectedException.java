package org.cmm.eventbroker.fhir.bulk;

/**
 * A bulk request that cannot be accepted (unknown resource type, invalid {@code _since}, unsupported
 * {@code _outputFormat}, unknown job): answered with its HTTP status and an OperationOutcome naming the reason.
 */
public class BulkRequestRejectedException extends Exception {

    private final int status;

    public BulkRequestRejectedException(int status, String reason) {
        super(reason);
        this.status = status;
    }

    public int getStatus() {
        return status;
    }

    public String getReason() {
        return getMessage();
    }

    /** The FHIR OperationOutcome answering the request. */
    public String getOperationOutcome() {
        return OperationOutcomes.error(status == 404 ? "not-found" : "invalid", getMessage()).toString();
    }
}
