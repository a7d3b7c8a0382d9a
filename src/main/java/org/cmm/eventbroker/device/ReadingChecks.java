package org.cmm.eventbroker.device;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;

/**
 * The rules every device reading must pass, whatever protocol brought it: a known measurement's value inside its
 * plausible range in its unit ({@link MeasurementCatalogue}), and a timestamp neither too far in the future (a
 * device clock running ahead) nor too old (a device that kept readings for days, or a clock reset to 1970).
 * A reading that fails is dead-lettered with the reason, never published: a downstream alert on an SpO2 of 900 %
 * would be worse than none.
 */
public final class ReadingChecks {

    private final MeasurementCatalogue catalogue;
    private final Duration maxFuture;
    private final Duration maxAge;
    private final Clock clock;

    public ReadingChecks(MeasurementCatalogue catalogue, Duration maxFuture, Duration maxAge, Clock clock) {
        this.catalogue = catalogue;
        this.maxFuture = maxFuture;
        this.maxAge = maxAge;
        this.clock = clock;
    }

    public MeasurementCatalogue catalogue() {
        return catalogue;
    }

    /** Rejects a timestamp more than maxFuture ahead of this machine's clock or older than maxAge. */
    public void checkTime(Instant time, String what) throws DeviceReadingRejectedException {
        Instant now = clock.instant();
        if (time.isAfter(now.plus(maxFuture))) {
            throw new DeviceReadingRejectedException(422, what + " is more than " + maxFuture.toSeconds()
                    + " s in the future (device clock skew)");
        }
        if (time.isBefore(now.minus(maxAge))) {
            throw new DeviceReadingRejectedException(422, what + " is older than " + maxAge.toSeconds()
                    + " s (device clock skew or a stale reading)");
        }
    }

    /**
     * Checks one numeric reading of a known measurement: its unit (when given) must be the measurement's, its value
     * inside the plausible range. The reason names the code, the unit expected and the range, not the value.
     */
    public void checkValue(MeasurementCatalogue.Measurement m, double value, String unit, String what)
            throws DeviceReadingRejectedException {
        if (!m.isNumeric()) {
            throw new DeviceReadingRejectedException(422, what + " (" + m.referenceId() + ") must be text, not a number");
        }
        if (unit != null && !unit.isBlank() && !m.units().isEmpty() && !m.acceptsUnit(unit)) {
            throw new DeviceReadingRejectedException(422, what + " (" + m.referenceId() + ") has unit '"
                    + printable(unit) + "', expected " + String.join(" or ", m.units()));
        }
        if (!m.isPlausible(value)) {
            throw new DeviceReadingRejectedException(422, what + " (" + m.referenceId()
                    + ") is outside the plausible range " + m.range());
        }
    }

    static String printable(String text) {
        String t = text.length() > 32 ? text.substring(0, 32) + "..." : text;
        return t.replaceAll("[^\\x20-\\x7E]", "?");
    }
}
