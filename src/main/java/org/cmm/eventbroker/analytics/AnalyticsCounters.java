package org.cmm.eventbroker.analytics;

/** Where the topology reports what it refused or ignored (a metric of the runtime; a no-op in unit tests). */
public interface AnalyticsCounters {

    /** An ADT message dead-lettered, by rule (missing-location, unknown-ward, impossible-time, ...). */
    void rejected(String kind);

    /** A message whose MSH-10 the patient's timeline already holds. */
    void duplicate();

    AnalyticsCounters NONE = new AnalyticsCounters() {
        @Override
        public void rejected(String kind) {
        }

        @Override
        public void duplicate() {
        }
    };
}
