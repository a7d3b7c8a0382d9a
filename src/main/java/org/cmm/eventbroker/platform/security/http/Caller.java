package org.cmm.eventbroker.platform.security.http;

import java.util.Collection;
import java.util.Optional;
import java.util.Set;

/**
 * Who called, as a verified bearer token says: the name the audit records carry and the roles and scopes the access
 * rules are checked against, and the patient the token is about when it carries a SMART on FHIR style {@code patient}
 * claim (a patient app's token). Holds no token.
 *
 * @param name    {@code preferred_username}, else {@code client_id}/{@code azp}, else {@code sub}
 * @param roles   realm roles, the roles of the configured clients and the scopes, all in one set
 * @param patient the token's {@code patient} claim, or null when it has none
 */
public record Caller(String name, Set<String> roles, String patient) {

    public Caller {
        roles = Set.copyOf(roles);
        patient = patient == null || patient.isBlank() ? null : patient;
    }

    /** A caller without a patient context (services, staff, client certificates). */
    public Caller(String name, Set<String> roles) {
        this(name, roles, null);
    }

    /** Whether the caller holds at least one of {@code anyOf}. */
    public boolean holdsAny(Collection<String> anyOf) {
        return anyOf.stream().anyMatch(roles::contains);
    }

    /** The patient the token is about ({@code patient} claim), if any. */
    public Optional<String> patientContext() {
        return Optional.ofNullable(patient);
    }
}
