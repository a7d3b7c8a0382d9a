package org.cmm.eventbroker.cds;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Reads and validates the rules file (routes/cds/cds-rules.yaml, format documented at its top). Any problem stops the
 * runtime at start with a message naming the file, the rule and the field: a rule that silently never fires is worse
 * than a runtime that does not start.
 */
public final class CdsRulesFile {

    private static final Set<String> RESULT_CLASSES = Set.of("normal", "abnormal", "critical");
    private static final Set<String> KINDS = Set.of("critical-result", "drug-interaction", "care-gap");

    private CdsRulesFile() {
    }

    public static CdsRules load(String location) {
        Object root = RulesResource.loadYaml(location, "CDS rules file");
        String file = "CDS rules file " + location;
        if (!(root instanceof Map<?, ?> top)) {
            throw new InvalidCdsRulesException(file + ": expected a mapping with 'rules'");
        }
        for (Object key : top.keySet()) {
            if (!Set.of("rules", "medications").contains(String.valueOf(key))) {
                throw new InvalidCdsRulesException(file + ": unknown top-level field '" + key + "' (known: rules, medications)");
            }
        }
        Set<String> endAtDischarge = new LinkedHashSet<>();
        if (top.get("medications") != null) {
            if (!(top.get("medications") instanceof Map<?, ?> meds)) {
                throw new InvalidCdsRulesException(file + ": field 'medications' must be a mapping");
            }
            DrugInteractionTable.strings(meds.get("endAtDischarge"), file + ": field 'medications.endAtDischarge'")
                    .forEach(t -> endAtDischarge.add(t.toLowerCase(Locale.ROOT)));
        }
        if (!(top.get("rules") instanceof List<?> rules) || rules.isEmpty()) {
            throw new InvalidCdsRulesException(file + ": field 'rules' must be a non-empty list");
        }
        List<CdsRules.CriticalResultRule> critical = new ArrayList<>();
        List<CdsRules.DrugInteractionRule> interactions = new ArrayList<>();
        List<CdsRules.CareGapRule> careGaps = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        int index = 0;
        for (Object item : rules) {
            String at = file + ": rules[" + index++ + "]";
            if (!(item instanceof Map<?, ?> rule)) {
                throw new InvalidCdsRulesException(at + " must be a mapping");
            }
            Object idValue = rule.get("id");
            if (idValue == null || !String.valueOf(idValue).matches("[a-z0-9]+(-[a-z0-9]+)*")) {
                throw new InvalidCdsRulesException(at + " field 'id' must be a kebab-case name (was " + idValue + ")");
            }
            String id = String.valueOf(idValue);
            at = file + ": rule '" + id + "'";
            if (!ids.add(id)) {
                throw new InvalidCdsRulesException(at + " field 'id': used by more than one rule");
            }
            String kind = rule.get("kind") == null ? null : String.valueOf(rule.get("kind"));
            if (!KINDS.contains(kind)) {
                throw new InvalidCdsRulesException(at + " field 'kind' must be one of " + new java.util.TreeSet<>(KINDS) + " (was " + kind + ")");
            }
            if (rule.get("description") == null || String.valueOf(rule.get("description")).isBlank()) {
                throw new InvalidCdsRulesException(at + " field 'description' is missing");
            }
            switch (kind) {
                case "critical-result" -> {
                    allowOnly(rule, at, "resultClasses", "observationCodes", "priority");
                    critical.add(new CdsRules.CriticalResultRule(id, resultClasses(rule, "resultClasses", at, true),
                            set(rule, "observationCodes", at), priority(rule, "priority", at)));
                }
                case "drug-interaction" -> {
                    allowOnly(rule, at, "table", "minimumSeverity");
                    Object table = rule.get("table");
                    if (table == null || String.valueOf(table).isBlank()) {
                        throw new InvalidCdsRulesException(at + " field 'table' is missing (e.g. classpath:cds/drug-interactions.yaml)");
                    }
                    DrugInteractionTable loaded;
                    try {
                        loaded = DrugInteractionTable.load(String.valueOf(table));
                    } catch (InvalidCdsRulesException e) {
                        throw new InvalidCdsRulesException(at + " field 'table': " + e.getMessage());
                    }
                    AlertPriority minimum = rule.get("minimumSeverity") == null ? AlertPriority.LOW
                            : priority(rule, "minimumSeverity", at);
                    interactions.add(new CdsRules.DrugInteractionRule(id, loaded, minimum));
                }
                default -> {
                    allowOnly(rule, at, "observationCodes", "whenResultClasses", "followUpWithin", "priority");
                    Set<String> codes = set(rule, "observationCodes", at);
                    if (codes.isEmpty()) {
                        throw new InvalidCdsRulesException(at + " field 'observationCodes' must list at least one OBX-3 code");
                    }
                    careGaps.add(new CdsRules.CareGapRule(id, codes, resultClasses(rule, "whenResultClasses", at, true),
                            duration(rule, "followUpWithin", at), priority(rule, "priority", at)));
                }
            }
        }
        return new CdsRules(List.copyOf(critical), List.copyOf(interactions), List.copyOf(careGaps), Set.copyOf(endAtDischarge));
    }

    private static void allowOnly(Map<?, ?> rule, String at, String... fields) {
        Set<String> known = new LinkedHashSet<>(List.of("id", "kind", "description"));
        known.addAll(List.of(fields));
        for (Object key : rule.keySet()) {
            if (!known.contains(String.valueOf(key))) {
                throw new InvalidCdsRulesException(at + " field '" + key + "' is not a field of this kind (known: " + known + ")");
            }
        }
    }

    private static Set<String> set(Map<?, ?> rule, String field, String at) {
        return new LinkedHashSet<>(DrugInteractionTable.strings(rule.get(field), at + " field '" + field + "'"));
    }

    private static Set<String> resultClasses(Map<?, ?> rule, String field, String at, boolean required) {
        Set<String> classes = new LinkedHashSet<>();
        for (String c : set(rule, field, at)) {
            String lower = c.toLowerCase(Locale.ROOT);
            if (!RESULT_CLASSES.contains(lower)) {
                throw new InvalidCdsRulesException(at + " field '" + field + "': '" + c + "' is not a result class (normal, abnormal, critical)");
            }
            classes.add(lower);
        }
        if (required && classes.isEmpty()) {
            throw new InvalidCdsRulesException(at + " field '" + field + "' must list at least one result class");
        }
        return classes;
    }

    private static AlertPriority priority(Map<?, ?> rule, String field, String at) {
        Object value = rule.get(field);
        AlertPriority p = AlertPriority.parse(value == null ? null : String.valueOf(value));
        if (p == null) {
            throw new InvalidCdsRulesException(at + " field '" + field + "' must be one of low, medium, high, critical (was " + value + ")");
        }
        return p;
    }

    private static Duration duration(Map<?, ?> rule, String field, String at) {
        Object value = rule.get(field);
        if (value == null) {
            throw new InvalidCdsRulesException(at + " field '" + field + "' is missing (an ISO-8601 duration such as P90D or PT30S)");
        }
        try {
            Duration d = Duration.parse(String.valueOf(value).trim().toUpperCase(Locale.ROOT));
            if (d.isNegative() || d.isZero()) {
                throw new InvalidCdsRulesException(at + " field '" + field + "' must be positive (was " + value + ")");
            }
            return d;
        } catch (DateTimeParseException e) {
            throw new InvalidCdsRulesException(at + " field '" + field + "' is not an ISO-8601 duration such as P90D or PT30S (was " + value + ")");
        }
    }
}
