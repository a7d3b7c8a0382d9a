package org.cmm.eventbroker.analytics;

import java.time.ZoneId;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * What the analytics topology needs to know about the site: its topics, the rules' parameters and the window sizes,
 * read once from {@code cmm.analytics.*} (config/analytics.properties), so the topology itself holds no literal topic
 * name or duration.
 *
 * @param adtTopics           the HL7 ADT topics read (prefix + each trigger event: hl7.adt.a01 ...)
 * @param bedOccupancyTopic   where census changes are published
 * @param patientFlowTopic    where the hourly flow buckets are published
 * @param waitTimesTopic      where the wait-time windows are published
 * @param deadLetterTopic     where ADT messages the rules cannot use go, untouched, with dlq_reason
 * @param wards               the known wards (PV1-3.1); empty: any ward is accepted
 * @param waitPatientClasses  PV1-2 patient classes whose A04 starts a wait (E: emergency)
 * @param zone                the zone of HL7 times without an offset
 * @param maxFutureSkewMs     how far in the future (wall clock) an event time may be before it is impossible
 * @param retentionMs         how long timelines, hourly buckets and windows are kept; older event times are rejected
 * @param maxEventsPerPatient how many events one patient's timeline holds before further ones are dead-lettered
 * @param flowGraceMs         how long after its hour a flow bucket stays open before it is published as final
 * @param waitWindowMs        size of the wait-time windows
 * @param waitAdvanceMs       advance of the wait-time windows (size/advance windows overlap: a sliding view)
 * @param waitGraceMs         how long after its end a wait-time window stays open before it is published as final
 * @param punctuationMs       wall-clock period of the check that closes windows (also when no traffic arrives)
 */
public record AnalyticsSettings(List<String> adtTopics, String bedOccupancyTopic, String patientFlowTopic,
        String waitTimesTopic, String deadLetterTopic, Set<String> wards, Set<String> waitPatientClasses, ZoneId zone,
        long maxFutureSkewMs, long retentionMs, int maxEventsPerPatient, long flowGraceMs, long waitWindowMs,
        long waitAdvanceMs, long waitGraceMs, long punctuationMs) {

    /** The ADT trigger events the rules use. */
    public static final List<String> TRIGGER_EVENTS = List.of("a01", "a02", "a03", "a04", "a06", "a07", "a08", "a11",
            "a12", "a13");

    public AnalyticsSettings {
        if (adtTopics.isEmpty()) {
            throw new IllegalArgumentException("cmm.analytics.adt-events names no ADT event");
        }
        if (waitWindowMs <= 0 || waitAdvanceMs <= 0 || waitAdvanceMs > waitWindowMs || waitWindowMs % waitAdvanceMs != 0) {
            throw new IllegalArgumentException("cmm.analytics.wait-times.window-ms must be a positive multiple of"
                    + " cmm.analytics.wait-times.advance-ms");
        }
        if (punctuationMs <= 0 || retentionMs <= 0 || maxEventsPerPatient <= 0) {
            throw new IllegalArgumentException("cmm.analytics.punctuation-interval-ms, retention-ms and"
                    + " max-events-per-patient must be positive");
        }
    }

    /** The topics {@code <prefix>.<event>} for a comma-separated list of events. */
    public static List<String> adtTopics(String prefix, String events) {
        return split(events).stream().map(e -> prefix + "." + e.toLowerCase(Locale.ROOT)).toList();
    }

    /** A comma-separated setting as a set (blank entries dropped). */
    public static Set<String> split(String csv) {
        if (csv == null || csv.isBlank()) {
            return Set.of();
        }
        return Arrays.stream(csv.split(",")).map(String::trim).filter(s -> !s.isEmpty())
                .collect(Collectors.toCollection(LinkedHashSet::new));
    }

    /** The zone of times without an offset: the configured one, else the machine's. */
    public static ZoneId zone(String configured) {
        return configured == null || configured.isBlank() ? ZoneId.systemDefault() : ZoneId.of(configured.trim());
    }
}
