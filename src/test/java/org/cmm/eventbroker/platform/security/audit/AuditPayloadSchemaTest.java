package org.cmm.eventbroker.platform.security.audit;

import java.time.Instant;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.cmm.eventbroker.testsupport.PayloadSchemaCheck;
import org.junit.jupiter.api.Test;

/**
 * The payload schema registered for the audit topics (schemas/cmm.security.audit.v1.json, channel securityAudit of
 * eventapi/topic-families.yaml) describes the CloudEvents that AuditCloudEvents writes for each kind of decision: a
 * refused authentication, a granted authorization and a data access of one partition. A field always written, left
 * out, makes the event invalid.
 */
class AuditPayloadSchemaTest {

    private static ObjectNode json(AuditEvent event) {
        return PayloadSchemaCheck.parse(AuditCloudEvents.toJson(event).getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    @Test
    void everyKindOfAuditEventIsValidUnderCmmSecurityAuditV1() {
        PayloadSchemaCheck schema = PayloadSchemaCheck.of("cmm.security.audit.v1");
        ObjectNode authentication = json(AuditEvent.authentication("mllp", null, "SSL", false, "127.0.0.1",
                "no client certificate"));
        ObjectNode authorization = json(AuditEvent.authorization("http", "lab-system", "POST", "Endpoint",
                "/ehr/epic/patient/updated", true, "10.0.0.7", null));
        ObjectNode dataAccess = json(new AuditEvent(AuditEvent.Kind.DATA_ACCESS, "User:analytics", "kafka", true, "Read",
                "Topic", "hl7.adt.a01", "LITERAL", "10.0.0.8", "consumer-1", "17", null, Instant.now(), 2, 4711L));
        schema.valid(authentication).valid(authorization).valid(dataAccess)
                .invalidAfter(authorization, e -> e.remove("time"), "time is always written")
                .invalidAfter(authorization, e -> ((ObjectNode) e.get("data")).remove("result"),
                        "data.result is always written")
                .invalidAfter(dataAccess, e -> ((ObjectNode) e.get("data").get("dataAccess")).put("partition", "two"),
                        "a partition is a number")
                .invalidAfter(authentication, e -> e.put("type", "org.cmm.eventbroker.platform.security/other"),
                        "the type names one of the three audit topics");
    }
}
