package org.cmm.eventbroker.platform.security.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;
import java.util.Set;

import org.apache.kafka.common.security.auth.KafkaPrincipal;
import org.junit.jupiter.api.Test;

class CmmKafkaPrincipalBuilderTest {

    @Test
    void groupAndRoleClaimsAreReadFromTheTokenPayloadAtConfiguredPaths() {
        String payload = "{\"sub\":\"u1\",\"groups\":[\"/clinicians\",\"/night\"],\"realm_access\":{\"roles\":[\"auditor\"]},"
                + "\"cmm_roles\":\"lab\"}";
        String jwt = "eyJhbGciOiJSUzI1NiJ9." + Base64.getUrlEncoder().withoutPadding()
                .encodeToString(payload.getBytes(StandardCharsets.UTF_8)) + ".sig";
        var claims = CmmKafkaPrincipalBuilder.claims(jwt);
        assertEquals(Set.of("/clinicians", "/night"), CmmKafkaPrincipalBuilder.strings(claims, "groups"));
        assertEquals(Set.of("auditor"), CmmKafkaPrincipalBuilder.strings(claims, "realm_access.roles"));
        assertEquals(Set.of("lab"), CmmKafkaPrincipalBuilder.strings(claims, "cmm_roles"));
        assertEquals(Set.of(), CmmKafkaPrincipalBuilder.strings(claims, "missing.path"));
        assertEquals(Set.of(), CmmKafkaPrincipalBuilder.strings(CmmKafkaPrincipalBuilder.claims("garbage"), "groups"));
    }

    @Test
    void claimsSurviveTheTripFromBrokerToController() {
        CmmKafkaPrincipalBuilder builder = new CmmKafkaPrincipalBuilder();
        builder.configure(Map.of());
        CmmKafkaPrincipal principal = new CmmKafkaPrincipal("User", "u1", Set.of("/clinicians"), Set.of("auditor"));
        principal.tokenAuthenticated(true);
        KafkaPrincipal back = builder.deserialize(builder.serialize(principal));
        CmmKafkaPrincipal cmm = assertInstanceOf(CmmKafkaPrincipal.class, back);
        assertEquals(principal, cmm);
        assertEquals(Set.of("auditor"), cmm.roleClaims());
        assertTrue(cmm.tokenAuthenticated());
        KafkaPrincipal plain = builder.deserialize(builder.serialize(new KafkaPrincipal("User", "lis")));
        assertEquals(new KafkaPrincipal("User", "lis"), plain);
    }
}
