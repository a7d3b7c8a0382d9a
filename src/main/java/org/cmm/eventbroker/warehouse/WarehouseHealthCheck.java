package org.cmm.eventbroker.warehouse;

import java.util.Map;

import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;

/** Readiness of the warehouse loader: DOWN while loads fail (database or Kafka away), with the cause's class. */
public class WarehouseHealthCheck extends AbstractHealthCheck {

    private final WarehouseLoader loader;

    public WarehouseHealthCheck(WarehouseLoader loader) {
        super("cmm", "warehouse-loader-" + loader.getLoaderName());
        this.loader = loader;
    }

    @Override
    public boolean isLiveness() {
        return false;
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        WarehouseLoader.Status status = loader.status();
        builder.detail("records.loaded", status.recordsLoaded());
        builder.detail("records.rejected", status.recordsRejected());
        if (status.failuresInARow() > 0) {
            builder.detail("failures.in-a-row", status.failuresInARow());
            builder.message("Warehouse loader cannot load: " + status.lastFailure()
                    + "; retrying from the offsets stored in the warehouse");
            builder.down();
        } else {
            builder.up();
        }
    }
}
