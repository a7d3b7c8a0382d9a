package org.cmm.eventbroker.device;

import java.time.Clock;
import java.time.Duration;

import org.apache.camel.Processor;

/**
 * What every device intake checks readings against, whatever the protocol (JSON from MQTT and HTTP, PCD-01 over MLLP):
 * the measurement catalogue and the clock-skew bounds, set from YAML and turned into {@link ReadingChecks} once.
 */
public abstract class CatalogueCheckedProcessor implements Processor {

    private String catalogue = "classpath:device/measurements.properties";
    private long maxFutureSkewMs = 300_000;
    private long maxAgeMs = 86_400_000;
    private volatile ReadingChecks checks;

    /** Where the measurement catalogue is (cmm.device.catalogue). */
    public void setCatalogue(String catalogue) {
        this.catalogue = catalogue;
        this.checks = null;
    }

    /** Readings dated further ahead than this are refused (device clock skew). */
    public void setMaxFutureSkewMs(long maxFutureSkewMs) {
        this.maxFutureSkewMs = maxFutureSkewMs;
        this.checks = null;
    }

    /** Readings older than this are refused. */
    public void setMaxAgeMs(long maxAgeMs) {
        this.maxAgeMs = maxAgeMs;
        this.checks = null;
    }

    /** For tests: fixed checks (a fixed clock). */
    void useChecks(ReadingChecks checks) {
        this.checks = checks;
    }

    /** The checks, built from the settings on first use. */
    protected ReadingChecks checks() {
        ReadingChecks c = checks;
        if (c == null) {
            c = new ReadingChecks(MeasurementCatalogue.load(catalogue), Duration.ofMillis(maxFutureSkewMs),
                    Duration.ofMillis(maxAgeMs), Clock.systemUTC());
            checks = c;
        }
        return c;
    }
}
