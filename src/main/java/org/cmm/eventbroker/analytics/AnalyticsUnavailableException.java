package org.cmm.eventbroker.analytics;

/**
 * The analytics state cannot be queried now (starting, restoring from its changelogs, rebalancing, stopped), or the
 * instance that holds it refused a forwarded query (access rules or credentials that differ between instances): the
 * HTTP status to answer with is {@link #status()}, 503 unless the holder refused (401 or 403, passed on as such).
 */
public final class AnalyticsUnavailableException extends RuntimeException {

    private final int status;

    public AnalyticsUnavailableException(String message) {
        this(message, 503);
    }

    public AnalyticsUnavailableException(String message, int status) {
        super(message);
        this.status = status;
    }

    /** The HTTP status of the answer: 503, or the 401/403 of the instance that refused a forwarded query. */
    public int status() {
        return status;
    }
}
