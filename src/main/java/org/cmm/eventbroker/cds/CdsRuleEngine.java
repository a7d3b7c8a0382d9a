package org.cmm.eventbroker.cds;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Applies the rules to one patient's event and state; no I/O, so every rule is unit-tested as it runs.
 *
 * <p>An event changes the state (active medications, last results, pending follow-ups) unless it is a replay (its
 * offset is not above the last one applied from its topic-partition); the rules are evaluated in both cases, on the
 * state after the event, so an event processed again after a crash produces the same alerts, with the same ids.
 */
public final class CdsRuleEngine {

    /** The new state (null when unchanged) and the alerts to publish. */
    public record Evaluation(PatientState state, List<CdsAlert> alerts) {
    }

    /** A care gap whose period ended, and the follow-up entry to clear once its alert is on Kafka. */
    public record DueCareGap(CdsAlert alert, String followUpKey) {
    }

    private final CdsRules rules;

    public CdsRuleEngine(CdsRules rules) {
        this.rules = rules;
    }

    public CdsRules rules() {
        return rules;
    }

    public Evaluation evaluate(ClinicalEvent event, PatientState before) {
        PatientState state = before == null ? new PatientState() : before.copy();
        Long applied = state.applied.get(event.position());
        boolean replay = applied != null && event.offset() <= applied;
        PatientState.ActiveMedication previous = event.medication() == null ? null
                : state.activeMedications.get(event.medication().orderId());
        if (!replay) {
            apply(event, state);
            state.applied.put(event.position(), event.offset());
        }
        List<CdsAlert> alerts = new ArrayList<>();
        if (event.kind() == ClinicalEvent.Kind.LAB_RESULT) {
            criticalResults(event, alerts);
        }
        if (event.medication() != null && event.medication().active()) {
            boolean newToTheList = previous == null || previous.source().equals(event.reference());
            if (newToTheList) {
                interactions(event, state, alerts);
            }
        }
        return new Evaluation(replay ? null : state, alerts);
    }

    private void apply(ClinicalEvent event, PatientState state) {
        switch (event.kind()) {
            case LAB_RESULT -> {
                for (ClinicalEvent.Observation obs : event.observations()) {
                    // results come from several topics, so not necessarily in time order: times decide, not arrival
                    PatientState.LastResult last = state.lastResults.get(obs.code());
                    boolean laterResultKnown = last != null && last.at() > event.timestamp();
                    if (!laterResultKnown) {
                        state.lastResults.put(obs.code(), new PatientState.LastResult(event.subtype(), event.timestamp(), event.reference()));
                    }
                    for (CdsRules.CareGapRule rule : rules.careGaps()) {
                        if (!rule.observationCodes().contains(obs.code())) {
                            continue;
                        }
                        String key = rule.id() + "|" + obs.code();
                        PatientState.FollowUp open = state.followUps.get(key);
                        if (open != null && event.timestamp() >= open.indexAt()) {
                            state.followUps.remove(key); // followed up
                        }
                        if (rule.whenResultClasses().contains(event.subtype()) && !laterResultKnown) {
                            state.followUps.put(key, new PatientState.FollowUp(rule.id(), obs.code(), event.timestamp(),
                                    event.timestamp() + rule.followUpWithin().toMillis(), event.reference(), false));
                        }
                    }
                }
            }
            case MEDICATION_ORDER, DISPENSE -> {
                ClinicalEvent.Medication med = event.medication();
                if (med.active()) {
                    state.activeMedications.putIfAbsent(med.orderId(), new PatientState.ActiveMedication(med.code(),
                            List.copyOf(ingredients(med)), event.kind() == ClinicalEvent.Kind.DISPENSE ? "dispensed" : event.subtype(),
                            event.timestamp(), event.reference()));
                } else if (state.activeMedications.remove(med.orderId()) == null && !med.code().isEmpty()) {
                    state.activeMedications.values().removeIf(m -> med.code().equals(m.code()));
                }
            }
            case ADT -> {
                if ("a03".equalsIgnoreCase(event.subtype())) {
                    state.activeMedications.values().removeIf(m -> rules.medicationsEndingAtDischarge().contains(m.orderType()));
                }
            }
        }
    }

    private Set<String> ingredients(ClinicalEvent.Medication med) {
        Set<String> all = new LinkedHashSet<>();
        rules.drugInteractions().forEach(r -> all.addAll(r.table().ingredientsOf(med.code(), med.text())));
        return all;
    }

    private void criticalResults(ClinicalEvent event, List<CdsAlert> alerts) {
        for (CdsRules.CriticalResultRule rule : rules.criticalResults()) {
            if (!rule.resultClasses().contains(event.subtype())) {
                continue;
            }
            List<String> codes = new ArrayList<>();
            List<String> flags = new ArrayList<>();
            for (ClinicalEvent.Observation obs : event.observations()) {
                boolean wanted = rule.observationCodes().isEmpty() ? !obs.flags().isEmpty() : rule.observationCodes().contains(obs.code());
                if (wanted && !codes.contains(obs.code())) {
                    codes.add(obs.code());
                    obs.flags().stream().filter(f -> !flags.contains(f)).forEach(flags::add);
                }
            }
            if (codes.isEmpty()) {
                continue;
            }
            String summary = "Lab result classified " + event.subtype() + ": " + String.join(", ", codes)
                    + (flags.isEmpty() ? "" : " flagged " + String.join(",", flags));
            alerts.add(CdsAlert.of(CdsRules.ABNORMAL_RESULT, rule.priority(), event.patientId(), rule.id(), summary, codes,
                    event.timestamp(), event.topic(), event.partition(), event.offset(), ""));
        }
    }

    private void interactions(ClinicalEvent event, PatientState state, List<CdsAlert> alerts) {
        ClinicalEvent.Medication med = event.medication();
        for (CdsRules.DrugInteractionRule rule : rules.drugInteractions()) {
            Set<String> mine = rule.table().ingredientsOf(med.code(), med.text());
            if (mine.isEmpty()) {
                continue;
            }
            for (Map.Entry<String, PatientState.ActiveMedication> other : state.activeMedications.entrySet()) {
                if (other.getKey().equals(med.orderId())) {
                    continue;
                }
                Set<String> theirs = new LinkedHashSet<>(other.getValue().ingredients());
                theirs.addAll(rule.table().ingredientsOf(other.getValue().code(), null));
                for (DrugInteractionTable.Interaction i : rule.table().between(mine, theirs)) {
                    if (i.severity().compareTo(rule.minimumSeverity()) < 0) {
                        continue;
                    }
                    List<String> codes = new ArrayList<>();
                    codes.add(med.code());
                    codes.add(other.getValue().code());
                    String summary = "Drug-drug interaction " + i.first() + " + " + i.second() + " (" + i.severity().topicPart()
                            + "): " + i.summary();
                    alerts.add(CdsAlert.of(CdsRules.DRUG_INTERACTION, i.severity(), event.patientId(), rule.id(), summary,
                            codes, event.timestamp(), event.topic(), event.partition(), event.offset(),
                            other.getKey() + "|" + i.first() + "|" + i.second()));
                }
            }
        }
    }

    /** The care gaps of one patient whose follow-up period ended by {@code nowMs} and were not reported yet. */
    public List<DueCareGap> dueCareGaps(String patientId, PatientState state, long nowMs) {
        List<DueCareGap> due = new ArrayList<>();
        for (Map.Entry<String, PatientState.FollowUp> e : state.followUps.entrySet()) {
            PatientState.FollowUp f = e.getValue();
            if (f.reported() || f.dueAt() > nowMs) {
                continue;
            }
            CdsRules.CareGapRule rule = rules.careGaps().stream().filter(r -> r.id().equals(f.ruleId())).findFirst().orElse(null);
            if (rule == null) {
                continue; // the rule was removed from the file; forgetCareGapsOfRemovedRules drops the entry
            }
            int at = f.source().lastIndexOf('@');
            int dash = f.source().lastIndexOf('-', at);
            String topic = f.source().substring(0, dash);
            int partition = Integer.parseInt(f.source().substring(dash + 1, at));
            long offset = Long.parseLong(f.source().substring(at + 1));
            String summary = "Care gap: no follow-up result of " + f.code() + " within " + human(rule.followUpWithin())
                    + " of a result classified " + String.join("/", rule.whenResultClasses());
            due.add(new DueCareGap(CdsAlert.of(CdsRules.CARE_GAP, rule.priority(), patientId, rule.id(), summary,
                    List.of(f.code()), f.dueAt(), topic, partition, offset, "care-gap|" + f.code()), e.getKey()));
        }
        return due;
    }

    /** The state after a care gap's alert was published: the follow-up is closed, or null when nothing changed. */
    public PatientState careGapReported(PatientState before, String followUpKey) {
        if (before == null || !before.followUps.containsKey(followUpKey)) {
            return null;
        }
        PatientState state = before.copy();
        state.followUps.remove(followUpKey);
        return state;
    }

    /** Drops pending follow-ups of rules no longer in the file (null when there were none). */
    public PatientState forgetCareGapsOfRemovedRules(PatientState before) {
        if (before == null) {
            return null;
        }
        Set<String> ids = new LinkedHashSet<>();
        rules.careGaps().forEach(r -> ids.add(r.id()));
        PatientState state = before.copy();
        boolean changed = false;
        for (Iterator<PatientState.FollowUp> it = state.followUps.values().iterator(); it.hasNext(); ) {
            if (!ids.contains(it.next().ruleId())) {
                it.remove();
                changed = true;
            }
        }
        return changed ? state : null;
    }

    private static String human(Duration d) {
        long s = d.toSeconds();
        return s % 86_400 == 0 ? s / 86_400 + " days" : s % 3_600 == 0 ? s / 3_600 + " hours" : s + " seconds";
    }
}
