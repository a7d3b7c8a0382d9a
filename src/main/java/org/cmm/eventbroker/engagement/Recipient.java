package org.cmm.eventbroker.engagement;

import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Whom a device belongs to and a notification is for: {@code patient/<id>} or {@code staff/<id>}. Patient and staff
 * ids live in different namespaces, so a staff id equal to some patient id never reaches that patient.
 */
public record Recipient(String kind, String id) {

    private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

    public static final String PATIENT = "patient";
    public static final String STAFF = "staff";

    /** {@code patient/<id>} or {@code staff/<id>}; anything else is empty. */
    public static Optional<Recipient> parse(String value) {
        if (value == null) {
            return Optional.empty();
        }
        int slash = value.indexOf('/');
        if (slash < 0) {
            return Optional.empty();
        }
        return of(value.substring(0, slash), value.substring(slash + 1));
    }

    public static Optional<Recipient> of(String kind, String id) {
        if (!(PATIENT.equals(kind) || STAFF.equals(kind)) || id == null || !ID.matcher(id).matches()) {
            return Optional.empty();
        }
        return Optional.of(new Recipient(kind, id));
    }

    @Override
    public String toString() {
        return kind + '/' + id;
    }
}
