package org.cmm.eventbroker.analytics;

/**
 * An ADT message the analytics rules cannot use (no PV1-3, an unknown ward, an impossible time). Its message is the
 * dead-letter reason and the label of the rejection counter: it names the rule, never patient data.
 */
public final class AdtRejectedException extends Exception {

    private final String kind;

    public AdtRejectedException(String kind, String reason) {
        super(reason);
        this.kind = kind;
    }

    /** A short stable label (missing-location, unknown-ward, impossible-time, ...) for the metric. */
    public String kind() {
        return kind;
    }
}
