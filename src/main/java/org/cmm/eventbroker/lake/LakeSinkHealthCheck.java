package org.cmm.eventbroker.lake;

import java.util.Map;

import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;

/**
 * Readiness of a lake sink: DOWN while its uploads (or offset commits) fail, with the cause's class, how many attempts
 * failed in a row and since when; the records are then re-read from the last committed offsets at each retry, so
 * nothing is lost while it is DOWN. Shown on {@code /observe/health} as {@code cmm:lake-sink-<sink>}.
 */
public class LakeSinkHealthCheck extends AbstractHealthCheck {

    private final LakeSink sink;

    public LakeSinkHealthCheck(LakeSink sink) {
        super("cmm", "lake-sink-" + sink.getSinkName());
        this.sink = sink;
    }

    @Override
    public boolean isLiveness() {
        return false; // S3 being away is not a reason to restart the process
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        LakeSink.Status status = sink.status();
        builder.detail("objects.written", status.objectsWritten());
        builder.detail("records.written", status.recordsWritten());
        builder.detail("records.dead-lettered", status.recordsDeadLettered());
        builder.detail("files.open", status.openFiles());
        if (status.failuresInARow() > 0) {
            builder.detail("failures.in-a-row", status.failuresInARow());
            builder.detail("failing.since", String.valueOf(status.failingSince()));
            builder.message("Lake sink " + sink.getSinkName() + " cannot write: " + status.lastFailure()
                    + "; retrying from the last committed offsets");
            builder.down();
        } else {
            builder.up();
        }
    }
}
