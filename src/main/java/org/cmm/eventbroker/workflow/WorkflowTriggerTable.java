package org.cmm.eventbroker.workflow;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Which clinical event triggers what: the table {@code cmm.workflow.triggers.mapping}, kept as configuration because
 * sites differ (one starts a discharge workflow on A03, another on A16 pending discharge).
 *
 * <p>Written as comma separated entries {@code <message-type>.<trigger-event>=<workflow-type>:<action>}, the event
 * in the lower case of the topic names ({@code adt.a01=admission:start}), the workflow type 1-64 lower-case letters,
 * digits or hyphens (it becomes a topic name part, {@code workflow.triggers.<workflow-type>}, and a URL segment), the
 * action {@code start}, {@code resume} or {@code cancel}. An event has at most one entry. A malformed table fails the
 * start with a message naming the entry, rather than silently never firing.
 */
public final class WorkflowTriggerTable {

    /** One row: the workflow and what to do with it. */
    public record Rule(String workflowType, WorkflowAction action) {
    }

    private static final Pattern EVENT = Pattern.compile("[a-z0-9]{1,16}\\.[a-z0-9]{1,16}");
    static final Pattern WORKFLOW_TYPE = Pattern.compile("[a-z0-9]+(-[a-z0-9]+)*");

    private final Map<String, Rule> rules;

    private WorkflowTriggerTable(Map<String, Rule> rules) {
        this.rules = Collections.unmodifiableMap(rules);
    }

    /** Reads the table; throws IllegalArgumentException naming the first bad entry. */
    public static WorkflowTriggerTable parse(String table) {
        if (table == null || table.isBlank()) {
            throw new IllegalArgumentException("cmm.workflow.triggers.mapping is empty: no clinical event would trigger"
                    + " a workflow");
        }
        Map<String, Rule> rules = new LinkedHashMap<>();
        for (String raw : table.split(",")) {
            String entry = raw.trim();
            if (entry.isEmpty()) {
                continue;
            }
            int eq = entry.indexOf('=');
            int colon = entry.indexOf(':', eq + 1);
            if (eq < 0 || colon < 0) {
                throw new IllegalArgumentException("cmm.workflow.triggers.mapping entry '" + entry
                        + "' is not <message-type>.<trigger-event>=<workflow-type>:<start|resume|cancel>");
            }
            String event = entry.substring(0, eq).trim().toLowerCase(Locale.ROOT);
            String type = entry.substring(eq + 1, colon).trim();
            String actionCode = entry.substring(colon + 1).trim().toLowerCase(Locale.ROOT);
            if (!EVENT.matcher(event).matches()) {
                throw new IllegalArgumentException("cmm.workflow.triggers.mapping entry '" + entry + "': the event must be"
                        + " <message-type>.<trigger-event> in lower case, e.g. adt.a01");
            }
            if (type.length() > 64 || !WORKFLOW_TYPE.matcher(type).matches()) {
                throw new IllegalArgumentException("cmm.workflow.triggers.mapping entry '" + entry + "': the workflow type"
                        + " must be 1-64 lower-case letters, digits or hyphens");
            }
            WorkflowAction action = WorkflowAction.ofCode(actionCode);
            if (action == null) {
                throw new IllegalArgumentException("cmm.workflow.triggers.mapping entry '" + entry + "': the action must"
                        + " be start, resume or cancel");
            }
            if (rules.put(event, new Rule(type, action)) != null) {
                throw new IllegalArgumentException("cmm.workflow.triggers.mapping maps " + event + " twice");
            }
        }
        if (rules.isEmpty()) {
            throw new IllegalArgumentException("cmm.workflow.triggers.mapping has no entry");
        }
        return new WorkflowTriggerTable(rules);
    }

    /** The rule of an event ({@code adt.a01}), if the table has one. */
    public Optional<Rule> ruleFor(String event) {
        return event == null ? Optional.empty() : Optional.ofNullable(rules.get(event.toLowerCase(Locale.ROOT)));
    }

    /** Every event of the table, in table order. */
    public java.util.Set<String> events() {
        return rules.keySet();
    }
}
