package org.cmm.eventbroker.analytics;

/** The analytics state cannot be queried now (starting, restoring from its changelogs, rebalancing, stopped). */
public final class AnalyticsUnavailableException extends RuntimeException {

    public AnalyticsUnavailableException(String message) {
        super(message);
    }
}
