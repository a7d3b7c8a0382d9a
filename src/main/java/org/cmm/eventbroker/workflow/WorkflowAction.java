package org.cmm.eventbroker.workflow;

import java.util.Locale;

/** What a trigger asks the workflow engine to do with the instance of its business key. */
public enum WorkflowAction {
    START, RESUME, CANCEL;

    /** The lower-case name used in trigger events and the mapping table. */
    public String code() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The action of a lower-case code, or null when there is none of that name. */
    public static WorkflowAction ofCode(String code) {
        for (WorkflowAction a : values()) {
            if (a.code().equals(code)) {
                return a;
            }
        }
        return null;
    }
}
