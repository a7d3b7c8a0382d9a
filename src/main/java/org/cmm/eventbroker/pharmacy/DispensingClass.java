package org.cmm.eventbroker.pharmacy;

import java.util.Locale;

/** What a dispense message (RDS^O13) reports: a first dispense, a refill, or medication coming back to the pharmacy. */
public enum DispensingClass {
    NEW, REFILL, RETURN;

    /** The value of the {@code pharmacy_dispensing_class} header, in lower case. */
    public String headerValue() {
        return name().toLowerCase(Locale.ROOT);
    }
}
