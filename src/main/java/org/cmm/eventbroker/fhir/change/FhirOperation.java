package org.cmm.eventbroker.fhir.change;

import java.util.Locale;

/** What happened to a resource, as the last part of its topic name. */
public enum FhirOperation {
    CREATED, UPDATED, DELETED;

    public String eventName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * The operation a sender names ({@code create}, {@code update}, {@code delete}, or the past tense), or null when
     * {@code value} names none of them.
     */
    public static FhirOperation named(String value) {
        if (value == null) {
            return null;
        }
        return switch (value.trim().toLowerCase(Locale.ROOT)) {
            case "create", "created" -> CREATED;
            case "update", "updated" -> UPDATED;
            case "delete", "deleted" -> DELETED;
            default -> null;
        };
    }

    /** Without a named operation: the first version is a create, any later one an update. */
    public static FhirOperation fromVersion(String versionId) {
        return "1".equals(versionId) ? CREATED : UPDATED;
    }
}
