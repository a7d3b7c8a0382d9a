package org.cmm.eventbroker.platform.security.kafka;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.security.auth.KafkaPrincipal;
import org.apache.kafka.common.security.auth.SecurityProtocol;
import org.apache.kafka.server.authorizer.Action;
import org.apache.kafka.server.authorizer.AuthorizableRequestContext;
import org.apache.kafka.server.authorizer.AuthorizationResult;
import org.cmm.eventbroker.platform.security.audit.AuditEvent;
import org.cmm.eventbroker.testsupport.LogCapture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RbacAuthorizerTest {

    @TempDir
    Path dir;

    private final RbacAuthorizer authorizer = new RbacAuthorizer();
    private final List<AuditEvent> audited = new CopyOnWriteArrayList<>();

    @AfterEach
    void close() {
        authorizer.close();
    }

    private Path configure(String bindings, Map<String, Object> extra) throws Exception {
        Path file = dir.resolve("role-bindings.conf");
        Files.writeString(file, bindings);
        Map<String, Object> configs = new java.util.HashMap<>(Map.of(RbacAuthorizer.BINDINGS_FILE, file.toString(),
                RbacAuthorizer.RELOAD_INTERVAL_MS, "100", "super.users", "User:broker"));
        configs.putAll(extra);
        authorizer.configure(configs);
        KafkaAudit.install(audited::add);
        return file;
    }

    private static KafkaPrincipal user(String name) {
        return new KafkaPrincipal(KafkaPrincipal.USER_TYPE, name);
    }

    private static Action action(AclOperation op, ResourceType type, String name) {
        return new Action(op, new ResourcePattern(type, name, PatternType.LITERAL), 1, true, true);
    }

    private AuthorizationResult authorize(KafkaPrincipal principal, int apiKey, Action action) {
        return authorizer.authorize(new Context(principal, apiKey, "client-1"), List.of(action)).get(0);
    }

    @Test
    void denyByDefaultAndRolesGrantWhatTheySay() throws Exception {
        configure("bind user:lis lab-system\nsuper user:admin\n", Map.of());
        Action writeResults = action(AclOperation.WRITE, ResourceType.TOPIC, "lab.results.oru");
        assertEquals(AuthorizationResult.ALLOWED, authorize(user("lis"), ApiKeys.PRODUCE.id, writeResults));
        assertEquals(AuthorizationResult.DENIED, authorize(user("stranger"), ApiKeys.PRODUCE.id, writeResults));
        assertEquals(AuthorizationResult.DENIED, authorize(user("lis"), ApiKeys.PRODUCE.id,
                action(AclOperation.WRITE, ResourceType.TOPIC, "hl7.adt.a01")));
        assertEquals(AuthorizationResult.ALLOWED, authorize(user("admin"), ApiKeys.DELETE_TOPICS.id,
                action(AclOperation.DELETE, ResourceType.TOPIC, "hl7.adt.a01")), "super user from the file");
        assertEquals(AuthorizationResult.ALLOWED, authorize(user("broker"), ApiKeys.PRODUCE.id, writeResults),
                "super user from super.users");
        assertEquals(AuthorizationResult.ALLOWED, authorizer.authorizeByResourceType(
                new Context(user("lis"), ApiKeys.INIT_PRODUCER_ID.id, "c"), AclOperation.WRITE, ResourceType.TOPIC));
        assertEquals(AuthorizationResult.DENIED, authorizer.authorizeByResourceType(
                new Context(user("stranger"), ApiKeys.INIT_PRODUCER_ID.id, "c"), AclOperation.WRITE, ResourceType.TOPIC));
    }

    @Test
    void oidcGroupAndRoleClaimsOnThePrincipalBindRoles() throws Exception {
        configure("bind group:/clinicians clinical-reader\nbind role:device-gw device-gateway\n", Map.of());
        KafkaPrincipal clinician = new CmmKafkaPrincipal("User", "3f1c-sub", Set.of("/clinicians"), Set.of());
        KafkaPrincipal gateway = new CmmKafkaPrincipal("User", "svc-gw", Set.of(), Set.of("device-gw"));
        assertTrue(authorizer.isAllowed(clinician, AclOperation.READ, ResourceType.TOPIC, "fhir.resource.changed"));
        assertFalse(authorizer.isAllowed(clinician, AclOperation.WRITE, ResourceType.TOPIC, "fhir.resource.changed"));
        assertTrue(authorizer.isAllowed(gateway, AclOperation.WRITE, ResourceType.TOPIC, "device.vitals"));
        assertFalse(authorizer.isAllowed(user("3f1c-sub"), AclOperation.READ, ResourceType.TOPIC, "fhir.resource.changed"),
                "the same subject without the group claim");
    }

    @Test
    void deniedAlwaysAuditedAllowedOnlyTheFirstTimeAndPatientReadsAsDataAccess() throws Exception {
        configure("bind user:reader clinical-reader\n", Map.of());
        Action read = action(AclOperation.READ, ResourceType.TOPIC, "lab.results.oru");
        authorize(user("reader"), ApiKeys.FETCH.id, read);
        authorize(user("reader"), ApiKeys.FETCH.id, read);
        authorize(user("mallory"), ApiKeys.FETCH.id, read);
        authorize(user("mallory"), ApiKeys.FETCH.id, read);
        List<AuditEvent> authz = audited.stream().filter(e -> e.kind() == AuditEvent.Kind.AUTHORIZATION).toList();
        assertEquals(3, authz.size(), authz.toString());
        assertEquals(1, authz.stream().filter(AuditEvent::granted).count());
        AuditEvent denied = authz.stream().filter(e -> !e.granted()).findFirst().orElseThrow();
        assertEquals("User:mallory", denied.principal());
        assertEquals("Read", denied.operation());
        assertEquals("Topic", denied.resourceType());
        assertEquals("lab.results.oru", denied.resourceName());
        assertEquals("client-1", denied.clientId());
        assertEquals("127.0.0.1", denied.clientAddress());
        List<AuditEvent> data = audited.stream().filter(e -> e.kind() == AuditEvent.Kind.DATA_ACCESS).toList();
        assertEquals(1, data.size(), data.toString());
        assertEquals("User:reader", data.get(0).principal());
    }

    @Test
    void theAuditWritersOwnRequestsAreNotAudited() throws Exception {
        configure("", Map.of());
        authorizer.authorize(new Context(user("broker"), ApiKeys.PRODUCE.id, "cmm-audit-writer"),
                List.of(action(AclOperation.WRITE, ResourceType.TOPIC, "security.audit.authorization")));
        assertEquals(List.of(), audited);
    }

    @Test
    void aChangedFileTakesEffectWithinSecondsAndABadOneKeepsTheLastGoodSet() throws Exception {
        Path file = configure("bind user:lis lab-system\n", Map.of());
        KafkaPrincipal lis = user("lis");
        assertFalse(authorizer.isAllowed(lis, AclOperation.READ, ResourceType.TOPIC, "hl7.adt.a01"));

        Files.writeString(file, "bind user:lis lab-system,clinical-reader\n");
        await().atMost(Duration.ofSeconds(10))
                .until(() -> authorizer.isAllowed(lis, AclOperation.READ, ResourceType.TOPIC, "hl7.adt.a01"));

        try (LogCapture logs = LogCapture.attach()) {
            long reloads = authorizer.reloads();
            Files.writeString(file, "bind user:lis lab-system\nbind user:lis no-such-role\n");
            await().atMost(Duration.ofSeconds(10)).until(() -> logs.lines().stream()
                    .anyMatch(l -> l.contains("line 2: unknown role 'no-such-role'")));
            assertEquals(reloads, authorizer.reloads());
            assertTrue(authorizer.isAllowed(lis, AclOperation.READ, ResourceType.TOPIC, "hl7.adt.a01"),
                    "last good set kept");
        }
    }

    @Test
    void aFileMetWhileBeingWrittenIsTakenOnlyOnceItHoldsStill() throws Exception {
        // no watcher: the test polls, so that a poll meets the file exactly between an editor's truncate and write
        Path file = configure("bind user:lis lab-system,clinical-reader\n", Map.of(RbacAuthorizer.RELOAD_INTERVAL_MS, "0"));
        KafkaPrincipal lis = user("lis");
        assertTrue(authorizer.isAllowed(lis, AclOperation.READ, ResourceType.TOPIC, "hl7.adt.a01"));

        Files.writeString(file, ""); // truncated, not yet written
        authorizer.reloadIfChanged();
        assertTrue(authorizer.isAllowed(lis, AclOperation.READ, ResourceType.TOPIC, "hl7.adt.a01"),
                "a half-written file met by one poll revokes nobody's rights");
        assertEquals(0, authorizer.reloads());

        Files.writeString(file, "bind user:lis lab-system\n");
        authorizer.reloadIfChanged();
        assertTrue(authorizer.isAllowed(lis, AclOperation.READ, ResourceType.TOPIC, "hl7.adt.a01"),
                "first sight of a version: the editor may still be writing it");
        authorizer.reloadIfChanged();
        assertFalse(authorizer.isAllowed(lis, AclOperation.READ, ResourceType.TOPIC, "hl7.adt.a01"),
                "the same version at the next poll is taken");
        assertEquals(1, authorizer.reloads());
    }

    @Test
    void aBadFileAtStartRefusesWithLineAndReason() throws Exception {
        Path file = dir.resolve("bad.conf");
        Files.writeString(file, "bind user:lis lab-system\nrole x Fly topic:a\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> authorizer.configure(Map.of(RbacAuthorizer.BINDINGS_FILE, file.toString())));
        assertTrue(e.getMessage().contains("line 2: unknown operation 'Fly'"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new RbacAuthorizer().configure(Map.of()),
                "no file: fail closed");
    }

    /** The request context a broker hands its authorizer (plain values, not a mock). */
    private record Context(KafkaPrincipal principal, int requestType, String clientId)
            implements AuthorizableRequestContext {
        @Override
        public String listenerName() {
            return "SASL_SSL";
        }

        @Override
        public SecurityProtocol securityProtocol() {
            return SecurityProtocol.SASL_SSL;
        }

        @Override
        public InetAddress clientAddress() {
            return InetAddress.getLoopbackAddress();
        }

        @Override
        public int requestVersion() {
            return 0;
        }

        @Override
        public int correlationId() {
            return 7;
        }
    }
}
