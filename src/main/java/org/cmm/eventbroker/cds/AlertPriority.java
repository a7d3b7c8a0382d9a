package org.cmm.eventbroker.cds;

import java.util.Locale;

/** The last part of an alert topic, {@code cds.<alert-type>.<priority>}; ordered from least to most urgent. */
public enum AlertPriority {
    LOW, MEDIUM, HIGH, CRITICAL;

    public String topicPart() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** @return the priority, or null when the text is none of low, medium, high, critical */
    public static AlertPriority parse(String text) {
        if (text == null) {
            return null;
        }
        for (AlertPriority p : values()) {
            if (p.topicPart().equals(text.trim().toLowerCase(Locale.ROOT))) {
                return p;
            }
        }
        return null;
    }
}
