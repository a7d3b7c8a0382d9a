package org.cmm.eventbroker.cds;

import java.time.Duration;
import java.util.List;
import java.util.Set;

/**
 * The rules of routes/cds/cds-rules.yaml, validated: what the rules engine fires on. Each rule kind has a fixed alert
 * type (the middle part of {@code cds.<alert-type>.<priority>}).
 */
public record CdsRules(List<CriticalResultRule> criticalResults, List<DrugInteractionRule> drugInteractions,
                       List<CareGapRule> careGaps, Set<String> medicationsEndingAtDischarge) {

    public static final String ABNORMAL_RESULT = "abnormal-result";
    public static final String DRUG_INTERACTION = "drug-interaction";
    public static final String CARE_GAP = "care-gap";

    /** A lab result of one of the classes (lab.results.<class>), optionally only for some OBX-3 codes. */
    public record CriticalResultRule(String id, Set<String> resultClasses, Set<String> observationCodes,
                                     AlertPriority priority) {
    }

    /** A new medication interacting with one of the patient's active ones, per the table; priority = its severity. */
    public record DrugInteractionRule(String id, DrugInteractionTable table, AlertPriority minimumSeverity) {
    }

    /** A result of one of the codes, in one of the classes, not followed by a result of the same code in time. */
    public record CareGapRule(String id, Set<String> observationCodes, Set<String> whenResultClasses,
                              Duration followUpWithin, AlertPriority priority) {
    }
}
