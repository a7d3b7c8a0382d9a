package org.cmm.eventbroker.platform.security.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

class AuditingSaslServerProviderTest {

    @Test
    void theClaimedUserIsReadWithoutThePassword() {
        assertEquals("ehr", AuditingSaslServerProvider.claimedUser("PLAIN",
                "\0ehr\0secret-password".getBytes(StandardCharsets.UTF_8)));
        assertEquals("ehr", AuditingSaslServerProvider.claimedUser("PLAIN",
                "authz\0ehr\0secret-password".getBytes(StandardCharsets.UTF_8)));
        assertEquals("", AuditingSaslServerProvider.claimedUser("PLAIN", "garbage".getBytes(StandardCharsets.UTF_8)));
        assertEquals("lis,a=b", AuditingSaslServerProvider.claimedUser("SCRAM-SHA-512",
                "n,,n=lis=2Ca=3Db,r=fyko+d2lbbFgONRv9qkxdawL".getBytes(StandardCharsets.UTF_8)));
    }
}
