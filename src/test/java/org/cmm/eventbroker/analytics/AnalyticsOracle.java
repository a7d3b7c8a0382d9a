package org.cmm.eventbroker.analytics;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The test oracle: the expected census, flows and wait times of a list of sent ADT messages, computed in plain Java
 * from the documented rules (docs/analytics.md), independently of the topology: per patient it keeps the first
 * arrival of each MSH-10, orders by event time, marks what each cancel voids (the cancelled event and every event
 * between it and the cancel) and folds the events that remain.
 */
final class AnalyticsOracle {

    /** census: ward -> bed -> patients; flows: unit|hourStart -> counts; waits: department|windowStart -> sorted waits. */
    record Expected(Map<String, Map<String, Integer>> census, Map<String, List<Long>> flows,
            Map<String, List<Long>> waits) {

        Map<String, Integer> occupiedPerWard() {
            Map<String, Integer> m = new TreeMap<>();
            census.forEach((w, beds) -> {
                int n = beds.values().stream().mapToInt(Integer::intValue).sum();
                if (n != 0) {
                    m.put(w, n);
                }
            });
            return m;
        }

        /** department|windowStart -> [count, p50 ms, p90 ms]. */
        Map<String, List<Long>> percentiles() {
            Map<String, List<Long>> m = new TreeMap<>();
            waits.forEach((k, v) -> {
                if (!v.isEmpty()) {
                    m.put(k, List.of((long) v.size(), nearestRank(v, 50), nearestRank(v, 90)));
                }
            });
            return m;
        }
    }

    private static final long HOUR = 3_600_000L;

    private AnalyticsOracle() {
    }

    static Expected compute(List<AdtStream.Message> sent, Set<String> waitClasses, long windowMs, long advanceMs) {
        Map<String, List<AdtStream.Message>> perPatient = new LinkedHashMap<>();
        Set<String> seen = new HashSet<>();
        for (AdtStream.Message m : sent) {
            if (m.badKind() == null && seen.add(m.patient() + "|" + m.controlId())) {
                perPatient.computeIfAbsent(m.patient(), k -> new ArrayList<>()).add(m);
            }
        }
        Map<String, Map<String, Integer>> census = new TreeMap<>();
        Map<String, long[]> flows = new TreeMap<>();
        Map<String, List<Long>> waits = new TreeMap<>();
        for (List<AdtStream.Message> events : perPatient.values()) {
            events.sort(Comparator.comparingLong(AdtStream.Message::eventTime)
                    .thenComparingLong(AdtStream.Message::messageTime).thenComparing(AdtStream.Message::controlId));
            boolean[] voided = voids(events);
            // fold
            String status = "none";
            String ward = "";
            String bed = "";
            long admittedAt = 0;
            long arrivedAt = 0;
            String department = "";
            for (int i = 0; i < events.size(); i++) {
                AdtStream.Message e = events.get(i);
                if (voided[i] || e.trigger().startsWith("A1")) {
                    continue;
                }
                long t = e.eventTime();
                long hour = Math.floorDiv(t, HOUR) * HOUR;
                boolean endsWait = e.trigger().equals("A01") || e.trigger().equals("A06") || e.trigger().equals("A03");
                if (endsWait && arrivedAt > 0 && t >= arrivedAt) {
                    addWait(waits, department, t, t - arrivedAt, windowMs, advanceMs);
                }
                switch (e.trigger()) {
                    case "A01", "A06" -> {
                        if (!status.equals("admitted")) {
                            flow(flows, e.ward(), hour)[0]++;
                            admittedAt = t;
                        }
                        status = "admitted";
                        ward = e.ward();
                        bed = e.bed();
                        arrivedAt = 0;
                    }
                    case "A04" -> {
                        status = "registered";
                        ward = e.ward();
                        bed = e.bed();
                        admittedAt = 0;
                        boolean waitsHere = waitClasses.contains(e.patientClass());
                        arrivedAt = waitsHere ? t : 0;
                        department = waitsHere ? e.ward() : "";
                    }
                    case "A02" -> {
                        String from = status.equals("none") ? e.priorWard() : ward;
                        if (!from.isEmpty()) {
                            flow(flows, from, hour)[3]++;
                        }
                        flow(flows, e.ward(), hour)[2]++;
                        if (status.equals("none")) {
                            status = "admitted";
                        }
                        ward = e.ward();
                        bed = e.bed();
                    }
                    case "A03" -> {
                        if (!status.equals("none")) {
                            String unit = ward.isEmpty() ? e.ward() : ward;
                            long[] f = flow(flows, unit, hour);
                            f[1]++;
                            if (status.equals("admitted") && admittedAt > 0) {
                                f[4]++;
                                f[5] += (t - admittedAt) / 60_000L;
                            }
                        }
                        status = "none";
                        ward = "";
                        bed = "";
                        admittedAt = 0;
                        arrivedAt = 0;
                        department = "";
                    }
                    case "A07" -> {
                        status = "registered";
                        ward = e.ward();
                        bed = e.bed();
                        admittedAt = 0;
                        arrivedAt = 0;
                        department = "";
                    }
                    case "A08" -> {
                        if (!status.equals("none")) {
                            ward = e.ward();
                            bed = e.bed();
                        }
                    }
                    default -> throw new IllegalStateException(e.trigger());
                }
            }
            if (!status.equals("none") && !ward.isEmpty()) {
                census.computeIfAbsent(ward, k -> new TreeMap<>()).merge(bed.isEmpty() ? "-" : bed, 1, Integer::sum);
            }
        }
        Map<String, List<Long>> flowLists = new TreeMap<>();
        flows.forEach((k, v) -> {
            if (v[0] + v[1] + v[2] + v[3] + v[4] != 0) {
                flowLists.put(k, List.of(v[0], v[1], v[2], v[3], v[4], v[5]));
            }
        });
        waits.values().forEach(l -> l.sort(null));
        return new Expected(census, flowLists, waits);
    }

    /** Which events the cancels void: for each cancel, its latest unvoided target before it and everything between. */
    private static boolean[] voids(List<AdtStream.Message> events) {
        boolean[] voided = new boolean[events.size()];
        for (int c = 0; c < events.size(); c++) {
            String trigger = events.get(c).trigger();
            if (voided[c] || !trigger.startsWith("A1")) {
                continue;
            }
            Set<String> targets = switch (trigger) {
                case "A11" -> Set.of("A01", "A04", "A06");
                case "A12" -> Set.of("A02");
                default -> Set.of("A03");
            };
            for (int i = c - 1; i >= 0; i--) {
                if (!voided[i] && targets.contains(events.get(i).trigger())) {
                    for (int j = i; j < c; j++) {
                        voided[j] = true;
                    }
                    break;
                }
            }
        }
        return voided;
    }

    private static long[] flow(Map<String, long[]> flows, String unit, long hour) {
        return flows.computeIfAbsent(unit + "|" + hour, k -> new long[6]);
    }

    private static void addWait(Map<String, List<Long>> waits, String department, long end, long waitMs, long size,
            long advance) {
        for (long start = Math.floorDiv(end, advance) * advance; start > end - size; start -= advance) {
            waits.computeIfAbsent(department + "|" + start, k -> new ArrayList<>()).add(waitMs);
        }
    }

    /** Nearest-rank percentile of sorted values. */
    static long nearestRank(List<Long> sorted, int percent) {
        int rank = (int) Math.ceil(percent / 100.0 * sorted.size());
        return sorted.get(Math.max(1, rank) - 1);
    }
}
