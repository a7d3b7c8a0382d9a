package org.cmm.eventbroker.analytics;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * One patient's ADT events in event-time order, and what they add to the metrics. Whatever order the events arrive
 * in, and however often one is resent, the metrics are those of the events replayed in event-time order (EVN-2, else
 * MSH-7; then MSH-7, then MSH-10): each new event replays the timeline, and the difference between the contributions
 * before and after is what the aggregates receive. A duplicate (an MSH-10 already in the timeline) changes nothing.
 *
 * <p>The rules of the replay (docs/analytics.md):
 * <ul>
 * <li>A01 admit and A06 outpatient to inpatient: admitted at PV1-3 (an admission of that unit; the ED wait ends);
 * <li>A04 register: registered at PV1-3; with a patient class of cmm.analytics.wait-times.patient-classes an ED
 *     arrival at that department starts a wait;
 * <li>A02 transfer: moves to PV1-3 (a transfer out of the previous unit, or of PV1-6 when none is known, and a
 *     transfer into the new one);
 * <li>A03 discharge: leaves (a discharge of the unit, with the length of stay since the admission; the ED wait ends);
 * <li>A07 inpatient to outpatient: registered at PV1-3; A08 update: corrects the location of an open visit;
 * <li>A11, A12, A13 cancel the latest A01/A04/A06, A02, A03 before them: the patient returns to the state before the
 *     cancelled event, and what that event and the events between it and the cancel contributed is withdrawn. A
 *     cancel with nothing to cancel changes nothing.
 * </ul>
 * A patient counts in a ward's census while registered or admitted there with a location.
 */
public final class PatientTimeline {

    /** The events, ordered. */
    private final List<AdtEvent> events;

    static final Comparator<AdtEvent> ORDER = Comparator.comparingLong(AdtEvent::eventTime)
            .thenComparingLong(AdtEvent::messageTime).thenComparing(AdtEvent::controlId);

    public PatientTimeline(List<AdtEvent> events) {
        this.events = new ArrayList<>(events);
        this.events.sort(ORDER);
    }

    public List<AdtEvent> events() {
        return List.copyOf(events);
    }

    public int size() {
        return events.size();
    }

    public boolean contains(String controlId) {
        return events.stream().anyMatch(e -> e.controlId().equals(controlId));
    }

    /** This timeline with one more event (in its place by event time). */
    public PatientTimeline with(AdtEvent event) {
        List<AdtEvent> more = new ArrayList<>(events);
        more.add(event);
        return new PatientTimeline(more);
    }

    /** The latest event time, or 0. */
    public long lastEventTime() {
        return events.isEmpty() ? 0L : events.get(events.size() - 1).eventTime();
    }

    /** Whether the replay ends with the patient gone (no open visit): the timeline may then be forgotten. */
    public boolean closed(Set<String> waitClasses) {
        return replay(waitClasses).state.status == Status.NONE;
    }

    /** The metric contributions of the replay, as a multiset of tokens (see {@link Contribution}). */
    public Map<String, Integer> contributions(Set<String> waitClasses) {
        Replay r = replay(waitClasses);
        Map<String, Integer> tokens = new TreeMap<>();
        for (String t : r.tokens) {
            tokens.merge(t, 1, Integer::sum);
        }
        State s = r.state;
        if (s.status != Status.NONE && !s.ward.isEmpty()) {
            tokens.merge(Contribution.census(s.ward, s.bed), 1, Integer::sum);
        }
        return tokens;
    }

    enum Status { NONE, REGISTERED, ADMITTED }

    /** The patient's state at one point of the replay (immutable copies go on the history). */
    private record State(Status status, String ward, String bed, long admittedAt, long arrivedAt, String arrivalDepartment) {
        static final State NONE = new State(Status.NONE, "", "", 0L, 0L, "");
    }

    /** A state before an event that a later cancel may restore, with how many tokens there were then. */
    private record Undo(String trigger, State before, int tokens) {
    }

    private static final class Replay {
        State state = State.NONE;
        final List<String> tokens = new ArrayList<>();
        final Deque<Undo> history = new ArrayDeque<>();
    }

    private Replay replay(Set<String> waitClasses) {
        Replay r = new Replay();
        for (AdtEvent e : events) {
            State s = r.state;
            long t = e.eventTime();
            long hour = Contribution.hour(t);
            switch (e.trigger()) {
                case "A01", "A06" -> {
                    r.history.push(new Undo(e.trigger(), s, r.tokens.size()));
                    endWait(r, s, t);
                    if (s.status == Status.ADMITTED) {
                        // already admitted: only the location changes (no second admission)
                        r.state = new State(Status.ADMITTED, e.ward(), e.bed(), s.admittedAt, 0L, "");
                    } else {
                        r.tokens.add(Contribution.flow(e.ward(), hour, Contribution.ADMISSION));
                        r.state = new State(Status.ADMITTED, e.ward(), e.bed(), t, 0L, "");
                    }
                }
                case "A04" -> {
                    r.history.push(new Undo(e.trigger(), s, r.tokens.size()));
                    boolean waits = waitClasses.contains(e.patientClass());
                    r.state = new State(Status.REGISTERED, e.ward(), e.bed(), 0L, waits ? t : 0L, waits ? e.ward() : "");
                }
                case "A02" -> {
                    r.history.push(new Undo(e.trigger(), s, r.tokens.size()));
                    String from = s.status != Status.NONE ? s.ward : e.priorWard();
                    if (!from.isEmpty()) {
                        r.tokens.add(Contribution.flow(from, hour, Contribution.TRANSFER_OUT));
                    }
                    r.tokens.add(Contribution.flow(e.ward(), hour, Contribution.TRANSFER_IN));
                    Status status = s.status == Status.NONE ? Status.ADMITTED : s.status;
                    r.state = new State(status, e.ward(), e.bed(), s.admittedAt, s.arrivedAt, s.arrivalDepartment);
                }
                case "A03" -> {
                    r.history.push(new Undo(e.trigger(), s, r.tokens.size()));
                    endWait(r, s, t);
                    if (s.status != Status.NONE) {
                        String unit = s.ward.isEmpty() ? e.ward() : s.ward;
                        r.tokens.add(Contribution.flow(unit, hour, Contribution.DISCHARGE));
                        if (s.status == Status.ADMITTED && s.admittedAt > 0) {
                            r.tokens.add(Contribution.lengthOfStay(unit, hour, (t - s.admittedAt) / 60_000L));
                        }
                    }
                    r.state = State.NONE;
                }
                case "A07" -> {
                    r.history.push(new Undo(e.trigger(), s, r.tokens.size()));
                    r.state = new State(Status.REGISTERED, e.ward(), e.bed(), 0L, 0L, "");
                }
                case "A08" -> {
                    if (s.status != Status.NONE) {
                        r.state = new State(s.status, e.ward(), e.bed(), s.admittedAt, s.arrivedAt, s.arrivalDepartment);
                    }
                }
                case "A11" -> cancel(r, Set.of("A01", "A04", "A06"));
                case "A12" -> cancel(r, Set.of("A02"));
                case "A13" -> cancel(r, Set.of("A03"));
                default -> {
                    // other triggers are rejected when read
                }
            }
        }
        return r;
    }

    /** An ED wait ends with the admission decision (A01/A06) or the departure (A03). */
    private static void endWait(Replay r, State s, long t) {
        if (s.arrivedAt > 0 && t >= s.arrivedAt) {
            r.tokens.add(Contribution.wait(s.arrivalDepartment, t, t - s.arrivedAt));
        }
    }

    private static void cancel(Replay r, Set<String> cancels) {
        Undo found = null;
        for (Undo u : r.history) {
            if (cancels.contains(u.trigger())) {
                found = u;
                break;
            }
        }
        if (found == null) {
            return;
        }
        while (!r.history.isEmpty()) {
            Undo u = r.history.pop();
            if (u == found) {
                break;
            }
        }
        r.state = found.before();
        while (r.tokens.size() > found.tokens()) {
            r.tokens.remove(r.tokens.size() - 1);
        }
    }
}
