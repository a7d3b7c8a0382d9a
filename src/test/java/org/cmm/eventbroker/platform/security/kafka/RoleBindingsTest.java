package org.cmm.eventbroker.platform.security.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;

import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.resource.ResourceType;
import org.junit.jupiter.api.Test;

class RoleBindingsTest {

    @Test
    void bindingsGiveUsersGroupsAndRoleClaimsTheirRoles() throws Exception {
        RoleBindings b = RoleBindings.parse("""
                # comment
                bind user:lis  lab-system
                bind group:/clinicians clinical-reader   # trailing comment
                bind role:pharmacy pharmacy-system,auditor
                super user:admin
                """, "test");
        assertEquals(Set.of("lab-system"), b.rolesOf("lis", Set.of(), Set.of()));
        assertEquals(Set.of("clinical-reader"), b.rolesOf("alice", Set.of("/clinicians"), Set.of()));
        assertEquals(Set.of("pharmacy-system", "auditor"), b.rolesOf("bob", Set.of(), Set.of("pharmacy")));
        assertEquals(Set.of(), b.rolesOf("nobody", Set.of("other"), Set.of("other")));
        assertEquals(Set.of("admin"), b.superUsers());
    }

    @Test
    void prefixedAndLiteralPatternsAndImpliedDescribe() throws Exception {
        RoleBindings b = RoleBindings.parse("""
                role exact Read topic:lab.results.critical
                role cfg AlterConfigs topic:x
                """, "test");
        Set<String> lab = Set.of("lab-system");
        assertTrue(b.grants(lab, AclOperation.WRITE, ResourceType.TOPIC, "lab.results.oru"));
        assertTrue(b.grants(lab, AclOperation.DESCRIBE, ResourceType.TOPIC, "lab.results.oru"), "Write implies Describe");
        assertFalse(b.grants(lab, AclOperation.READ, ResourceType.TOPIC, "lab.results.oru"));
        assertFalse(b.grants(lab, AclOperation.WRITE, ResourceType.TOPIC, "lab.resultsX"), "prefix is 'lab.results.'");
        assertFalse(b.grants(lab, AclOperation.WRITE, ResourceType.TOPIC, "hl7.adt.a01"));
        assertTrue(b.grants(lab, AclOperation.IDEMPOTENT_WRITE, ResourceType.CLUSTER, "kafka-cluster"));
        assertTrue(b.grants(Set.of("exact"), AclOperation.READ, ResourceType.TOPIC, "lab.results.critical"));
        assertFalse(b.grants(Set.of("exact"), AclOperation.READ, ResourceType.TOPIC, "lab.results.critical2"));
        assertTrue(b.grants(Set.of("cfg"), AclOperation.DESCRIBE_CONFIGS, ResourceType.TOPIC, "x"));
        assertFalse(b.grants(Set.of("cfg"), AclOperation.ALTER, ResourceType.TOPIC, "x"));
        assertTrue(b.grantsAny(lab, AclOperation.WRITE, ResourceType.TOPIC));
        assertFalse(b.grantsAny(Set.of("auditor"), AclOperation.WRITE, ResourceType.TOPIC));
    }

    @Test
    void aPrefixNeverGrantsWritingThePlatformsOwnTopics() throws Exception {
        RoleBindings b = RoleBindings.parse("role dedup-writer Write topic:hl7.dedup", "test");
        Set<String> gateway = Set.of("device-gateway");
        assertTrue(b.grants(gateway, AclOperation.WRITE, ResourceType.TOPIC, "device.patient-monitor.vitals"));
        assertTrue(b.grants(gateway, AclOperation.WRITE, ResourceType.TOPIC, "device.alerts.physiological"));
        // forged de-duplication keys would make the runtime drop real readings as resends; forged acknowledgements
        // would silence alarms; a forged dead letter would be put back as if the runtime had refused it
        assertFalse(b.grants(gateway, AclOperation.WRITE, ResourceType.TOPIC, "device.http.dedup"));
        assertFalse(b.grants(gateway, AclOperation.WRITE, ResourceType.TOPIC, "device.pcd.dedup"));
        assertFalse(b.grants(gateway, AclOperation.WRITE, ResourceType.TOPIC, "device.dlq"));
        assertFalse(b.grants(gateway, AclOperation.WRITE, ResourceType.TOPIC, "device.alerts.acknowledgements"));
        assertTrue(b.grants(gateway, AclOperation.READ, ResourceType.TOPIC, "device.alerts.acknowledgements"));
        Set<String> ehr = Set.of("ehr-sender");
        assertTrue(b.grants(ehr, AclOperation.WRITE, ResourceType.TOPIC, "hl7.adt.a01"));
        assertFalse(b.grants(ehr, AclOperation.WRITE, ResourceType.TOPIC, "hl7.dedup"));
        assertFalse(b.grants(ehr, AclOperation.WRITE, ResourceType.TOPIC, "ehr.dedup"));
        assertFalse(b.grants(ehr, AclOperation.WRITE, ResourceType.TOPIC, "hl7.dlq"));
        assertTrue(b.grants(ehr, AclOperation.DESCRIBE, ResourceType.TOPIC, "hl7.dedup"), "Describe is no write");
        assertTrue(b.grants(Set.of("clinical-reader"), AclOperation.READ, ResourceType.TOPIC,
                "device.alerts.acknowledgements"));
        // named exactly, or every topic (the runtime's own role): granted
        assertTrue(b.grants(Set.of("dedup-writer"), AclOperation.WRITE, ResourceType.TOPIC, "hl7.dedup"));
        assertTrue(b.grants(Set.of("integration-runtime"), AclOperation.WRITE, ResourceType.TOPIC, "device.http.dedup"));
        assertTrue(b.grants(Set.of("integration-runtime"), AclOperation.WRITE, ResourceType.TOPIC,
                "device.alerts.acknowledgements"));
    }

    @Test
    void operatorManagesTopicsButNeverReadsPatientData() throws Exception {
        RoleBindings b = RoleBindings.parse("", "test");
        Set<String> operator = Set.of("operator");
        assertTrue(b.grants(operator, AclOperation.CREATE, ResourceType.TOPIC, "hl7.adt.a01"));
        assertFalse(b.grants(operator, AclOperation.READ, ResourceType.TOPIC, "hl7.adt.a01"));
        assertFalse(b.grants(operator, AclOperation.WRITE, ResourceType.TOPIC, "hl7.adt.a01"));
    }

    @Test
    void errorsNameTheLineAndTheReason() {
        assertError("bind user:x lab-sytem", 1, "unknown role 'lab-sytem'");
        assertError("\n\nrole r Reed topic:a", 3, "unknown operation 'Reed'");
        assertError("role r Read queue:a", 1, "resource 'queue:a' must be");
        assertError("role r Read topic:a*b", 1, "'*' is allowed only at the end");
        assertError("# ok\nbind alice lab-system", 2, "subject 'alice' must be user:<name>");
        assertError("super group:admins", 1, "only a user: subject");
        assertError("grant user:x lab-system", 1, "unknown statement 'grant'");
        assertError("bind user:x", 1, "expected 'bind <subject> <role>[,<role>...]'");
        assertError("role Bad-Name Read topic:a", 1, "role name 'Bad-Name'");
    }

    private static void assertError(String text, int line, String reason) {
        RoleBindings.InvalidRoleBindingsException e = assertThrows(RoleBindings.InvalidRoleBindingsException.class,
                () -> RoleBindings.parse(text, "bindings.conf"));
        assertEquals(line, e.line(), e.getMessage());
        assertTrue(e.getMessage().startsWith("bindings.conf line " + line + ": "), e.getMessage());
        assertTrue(e.getMessage().contains(reason), e.getMessage());
    }
}
