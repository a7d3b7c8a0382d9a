package org.cmm.eventbroker.platform.security.kafka;

import java.util.Set;

import org.apache.kafka.common.security.auth.KafkaPrincipal;

/**
 * A Kafka principal that also carries the OIDC group and role claims of the token it authenticated with. Kafka's
 * authorizer request context has no token, so the claims the {@link RbacAuthorizer} binds roles to travel here, put
 * there by {@link CmmKafkaPrincipalBuilder} (the approach of Strimzi's OAuthKafkaPrincipal). Other mechanisms carry
 * empty sets.
 */
public final class CmmKafkaPrincipal extends KafkaPrincipal {

    private final Set<String> groups;
    private final Set<String> roleClaims;

    public CmmKafkaPrincipal(String principalType, String name, Set<String> groups, Set<String> roleClaims) {
        super(principalType, name);
        this.groups = Set.copyOf(groups);
        this.roleClaims = Set.copyOf(roleClaims);
    }

    public Set<String> groups() {
        return groups;
    }

    public Set<String> roleClaims() {
        return roleClaims;
    }

    @Override
    public boolean equals(Object o) {
        return super.equals(o) && groups.equals(((CmmKafkaPrincipal) o).groups)
                && roleClaims.equals(((CmmKafkaPrincipal) o).roleClaims);
    }

    @Override
    public int hashCode() {
        return 31 * super.hashCode() + groups.hashCode() * 17 + roleClaims.hashCode();
    }
}
