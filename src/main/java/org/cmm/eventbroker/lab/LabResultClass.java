package org.cmm.eventbroker.lab;

import java.util.Locale;

/**
 * How urgently a lab result message needs a clinician, from the most severe of its observations. Ordered from least
 * to most severe; {@link #topicName()} is the last part of the topic, {@code lab.results.<class>}.
 */
public enum LabResultClass {
    NORMAL, ABNORMAL, CRITICAL;

    public String topicName() {
        return name().toLowerCase(Locale.ROOT);
    }

    LabResultClass atLeast(LabResultClass other) {
        return other.ordinal() > ordinal() ? other : this;
    }
}
