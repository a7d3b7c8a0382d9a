package org.cmm.eventbroker.platform.security.http;

import java.util.Collection;
import java.util.Set;

/**
 * Who called, as a verified bearer token says: the name the audit records carry and the roles and scopes the access
 * rules are checked against. Holds no token.
 *
 * @param name  {@code preferred_username}, else {@code client_id}/{@code azp}, else {@code sub}
 * @param roles realm roles, the roles of the configured clients and the scopes, all in one set
 */
public record Caller(String name, Set<String> roles) {

    public Caller {
        roles = Set.copyOf(roles);
    }

    /** Whether the caller holds at least one of {@code anyOf}. */
    public boolean holdsAny(Collection<String> anyOf) {
        return anyOf.stream().anyMatch(roles::contains);
    }
}
