package org.cmm.eventbroker.platform.security.kafka;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.stream.Collectors;

import org.apache.kafka.common.Endpoint;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.config.types.Password;
import org.apache.kafka.common.errors.InvalidRequestException;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.security.auth.KafkaPrincipal;
import org.apache.kafka.server.authorizer.AclCreateResult;
import org.apache.kafka.server.authorizer.AclDeleteResult;
import org.apache.kafka.server.authorizer.Action;
import org.apache.kafka.server.authorizer.AuthorizableRequestContext;
import org.apache.kafka.server.authorizer.AuthorizationResult;
import org.apache.kafka.server.authorizer.Authorizer;
import org.apache.kafka.server.authorizer.AuthorizerServerInfo;
import org.cmm.eventbroker.platform.security.audit.AuditCloudEvents;
import org.cmm.eventbroker.platform.security.audit.AuditEvent;
import org.cmm.eventbroker.platform.security.audit.AuditSink;
import org.cmm.eventbroker.platform.security.audit.KafkaAuditWriter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Role-based access control for Kafka ({@code authorizer.class.name}): principals get roles from the role-bindings
 * file ({@link RoleBindings}), roles grant operations on topic, group, transactional-id and cluster patterns, and
 * everything else is denied. Loaded by the embedded broker and deployable as a jar into any Kafka 3.9 cluster.
 *
 * <p>Broker settings:
 * <ul>
 * <li>{@value #BINDINGS_FILE} (required): the role-bindings file. Read at start (an error refuses the start, naming
 * line and reason) and re-read when it changes, every {@value #RELOAD_INTERVAL_MS} ms (default 2000); a changed file
 * is taken once two polls in a row find it the same (time and size), so that a file met while an editor writes it in
 * place (truncated, or half written) is never taken; a changed file with an error is refused and the last good set
 * stays.</li>
 * <li>{@code super.users}: Kafka's own list ({@code User:a;User:b}), in addition to the file's {@code super} lines.</li>
 * <li>{@value #AUDIT_ALLOWED}: {@code none}, {@code first} (default: the first per principal, client and resource)
 * or {@code all}. Denials are always recorded (those Kafka marks to be logged: not the silent filtering of
 * topic listings).</li>
 * <li>{@value #PATIENT_TOPICS}: comma-separated topic prefixes whose reads by consumers are recorded on
 * {@code security.audit.data-access} (first fetch per principal, client and topic). With
 * {@code replica.selector.class=}{@link DataAccessReplicaSelector} these are recorded per partition there instead.</li>
 * <li>{@value #AUDIT_PRODUCER_PREFIX}{@code <producer setting>}: the audit writer's producer (at least
 * {@code bootstrap.servers}); without it, events go to the {@code org.cmm.eventbroker.platform.security.audit} log.</li>
 * </ul>
 * Decisions are cached per principal, operation and resource until the bindings change. ACLs are not used:
 * CreateAcls and DeleteAcls fail, DescribeAcls lists nothing.
 */
public class RbacAuthorizer implements Authorizer {

    public static final String BINDINGS_FILE = "cmm.authorizer.role.bindings.file";
    public static final String RELOAD_INTERVAL_MS = "cmm.authorizer.role.bindings.reload.interval.ms";
    public static final String AUDIT_ALLOWED = "cmm.authorizer.audit.allowed";
    public static final String PATIENT_TOPICS = "cmm.authorizer.audit.patient.topic.prefixes";
    public static final String AUDIT_PRODUCER_PREFIX = "cmm.authorizer.audit.producer.";
    public static final String DEFAULT_PATIENT_TOPICS = "hl7.,ehr.,lab.,pharmacy.,fhir.,device.,cds.,orders.,workflow.";

    private static final Logger LOG = LoggerFactory.getLogger(RbacAuthorizer.class);
    private static final Logger AUDIT_LOG = LoggerFactory.getLogger("org.cmm.eventbroker.platform.security.audit");
    private static final int CACHE_LIMIT = 100_000;

    /** One consistent set of bindings and the decisions made with it. */
    private record State(RoleBindings bindings, Set<String> superUsers,
            Map<DecisionKey, Boolean> decisions, FileTime modified, long size) {
    }

    private record DecisionKey(KafkaPrincipal principal, AclOperation operation, ResourceType type, String name) {
    }

    private volatile State state;
    private Path file;
    private Set<String> configuredSuperUsers = Set.of();
    private String auditAllowed = "first";
    private List<String> patientTopicPrefixes = List.of();
    private boolean selectorRecordsDataAccess;
    private final Set<Seen> firstSeen = ConcurrentHashMap.newKeySet();
    private final AtomicLong reloads = new AtomicLong();
    /** The changed version the last poll found (time and size), taken if the next poll finds it the same. */
    private volatile FileTime pendingModified;
    private volatile long pendingSize = -1;
    private ScheduledExecutorService watcher;
    private AuditSink audit = AuditSink.NONE;
    private KafkaAuditWriter auditWriter;

    @Override
    public void configure(Map<String, ?> configs) {
        Object path = configs.get(BINDINGS_FILE);
        if (path == null || path.toString().isBlank()) {
            throw new IllegalArgumentException(BINDINGS_FILE + " is not set: the RBAC authorizer needs a role-bindings "
                    + "file (docs/security.md)");
        }
        file = Path.of(path.toString().trim());
        Object supers = configs.get("super.users");
        if (supers != null && !supers.toString().isBlank()) {
            configuredSuperUsers = Arrays.stream(supers.toString().split(";")).map(String::trim)
                    .filter(s -> !s.isEmpty()).collect(Collectors.toUnmodifiableSet());
        }
        auditAllowed = setting(configs, AUDIT_ALLOWED, "first");
        if (!Set.of("none", "first", "all").contains(auditAllowed)) {
            throw new IllegalArgumentException(AUDIT_ALLOWED + " must be none, first or all, not '" + auditAllowed + "'");
        }
        // with the data-access replica selector, reads are recorded per partition there, not per topic here
        Object selector = configs.get("replica.selector.class");
        selectorRecordsDataAccess = selector != null
                && DataAccessReplicaSelector.class.getName().equals(selector.toString().trim());
        patientTopicPrefixes = Arrays.stream(setting(configs, PATIENT_TOPICS, DEFAULT_PATIENT_TOPICS)
                .split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
        try {
            state = load(file);
        } catch (IOException e) {
            throw new IllegalArgumentException("Cannot read the role-bindings file " + file + ": " + e.getMessage(), e);
        } catch (RoleBindings.InvalidRoleBindingsException e) {
            throw new IllegalArgumentException("Refusing the role-bindings file: " + e.getMessage(), e);
        }
        LOG.info("RBAC authorizer: {} role bindings and {} super users from {}", state.bindings().bindings().size(),
                state.superUsers().size(), file);
        configureAudit(configs);
        AuditingSaslServerProvider.install();
        long interval = Long.parseLong(setting(configs, RELOAD_INTERVAL_MS, "2000"));
        if (interval > 0) {
            watcher = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "cmm-role-bindings-watcher");
                t.setDaemon(true);
                return t;
            });
            watcher.scheduleWithFixedDelay(this::reloadIfChanged, interval, interval, TimeUnit.MILLISECONDS);
        }
    }

    private static String setting(Map<String, ?> configs, String key, String defaultValue) {
        Object value = configs.get(key);
        return value == null || value.toString().isBlank() ? defaultValue : value.toString().trim();
    }

    private void configureAudit(Map<String, ?> configs) {
        Properties producer = new Properties();
        configs.forEach((k, v) -> {
            if (k.startsWith(AUDIT_PRODUCER_PREFIX) && v != null) {
                producer.put(k.substring(AUDIT_PRODUCER_PREFIX.length()), v instanceof Password p ? p.value() : v.toString());
            }
        });
        if (producer.containsKey("bootstrap.servers")) {
            auditWriter = new KafkaAuditWriter(producer, KafkaAuditWriter.DEFAULT_CAPACITY);
            audit = auditWriter;
        } else {
            LOG.info("No {}bootstrap.servers: audit events go to the org.cmm.eventbroker.platform.security.audit log",
                    AUDIT_PRODUCER_PREFIX);
            audit = event -> AUDIT_LOG.info("{}", AuditCloudEvents.toJson(event));
        }
        KafkaAudit.install(audit);
    }

    private State load(Path path) throws IOException, RoleBindings.InvalidRoleBindingsException {
        FileTime modified = Files.getLastModifiedTime(path);
        long size = Files.size(path);
        RoleBindings bindings = RoleBindings.read(path);
        Set<String> supers = new HashSet<>(configuredSuperUsers);
        bindings.superUsers().forEach(name -> supers.add(KafkaPrincipal.USER_TYPE + ":" + name));
        return new State(bindings, Set.copyOf(supers), new ConcurrentHashMap<>(), modified, size);
    }

    /**
     * Re-reads the file when its time or size changed and held still since the previous poll; keeps the last good
     * set when it has an error.
     */
    void reloadIfChanged() {
        State current = state;
        try {
            FileTime modified = Files.getLastModifiedTime(file);
            long size = Files.size(file);
            if (modified.equals(current.modified()) && size == current.size()) {
                pendingModified = null;
                return;
            }
            if (!modified.equals(pendingModified) || size != pendingSize) {
                // first sight of this version: an editor may still be writing it (truncated, half written)
                pendingModified = modified;
                pendingSize = size;
                return;
            }
            pendingModified = null;
            try {
                State next = load(file);
                state = next;
                firstSeen.clear();
                reloads.incrementAndGet();
                LOG.info("Role bindings reloaded from {}: {} bindings, {} super users", file,
                        next.bindings().bindings().size(), next.superUsers().size());
            } catch (RoleBindings.InvalidRoleBindingsException e) {
                // remember the refused version, so it is reported once, not at every poll
                state = new State(current.bindings(), current.superUsers(), current.decisions(), modified, size);
                LOG.error("Refusing the changed role-bindings file, keeping the last good set: {}", e.getMessage());
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("Cannot read the role-bindings file {}: {}; keeping the last good set", file, e.getMessage());
        }
    }

    /** How many times a changed file was taken (tests wait for it). */
    public long reloads() {
        return reloads.get();
    }

    @Override
    public Map<Endpoint, ? extends CompletionStage<Void>> start(AuthorizerServerInfo serverInfo) {
        return serverInfo.endpoints().stream()
                .collect(Collectors.toMap(Function.identity(), e -> CompletableFuture.completedFuture(null)));
    }

    @Override
    public List<AuthorizationResult> authorize(AuthorizableRequestContext context, List<Action> actions) {
        State current = state;
        List<AuthorizationResult> results = new ArrayList<>(actions.size());
        for (Action action : actions) {
            ResourcePattern resource = action.resourcePattern();
            boolean allowed = decide(current, context.principal(), action.operation(), resource.resourceType(),
                    resource.name());
            results.add(allowed ? AuthorizationResult.ALLOWED : AuthorizationResult.DENIED);
            audit(context, action, allowed);
        }
        return results;
    }

    @Override
    public AuthorizationResult authorizeByResourceType(AuthorizableRequestContext context, AclOperation op,
            ResourceType resourceType) {
        State current = state;
        KafkaPrincipal principal = context.principal();
        if (current.superUsers().contains(principalKey(principal))) {
            return AuthorizationResult.ALLOWED;
        }
        if (current.bindings().grantsAny(rolesOf(current, principal), op, resourceType)) {
            return AuthorizationResult.ALLOWED;
        }
        // Kafka asks this after a denied IdempotentWrite on the cluster (InitProducerId of an idempotent producer, asked
        // with logIfDenied=false): this denial is the one the client gets, so it is the one audited
        String clientId = context.clientId();
        if (clientId == null || !clientId.startsWith(KafkaAuditWriter.CLIENT_ID)) {
            KafkaAudit.sink().record(new AuditEvent(AuditEvent.Kind.AUTHORIZATION, principal.toString(),
                    KafkaAudit.SOURCE, false, RoleBindings.displayName(op), displayType(resourceType), "*", "ANY",
                    context.clientAddress() == null ? null : context.clientAddress().getHostAddress(), clientId,
                    String.valueOf(context.correlationId()), "no role of " + principal + " grants "
                            + RoleBindings.displayName(op) + " on any " + displayType(resourceType), Instant.now()));
        }
        return AuthorizationResult.DENIED;
    }

    /** The decision for one principal, operation and resource, cached until the bindings change. */
    boolean decide(State current, KafkaPrincipal principal, AclOperation operation, ResourceType type, String name) {
        if (current.superUsers().contains(principalKey(principal))) {
            return true;
        }
        DecisionKey key = new DecisionKey(principal, operation, type, name);
        Boolean cached = current.decisions().get(key);
        if (cached != null) {
            return cached;
        }
        boolean allowed = current.bindings().grants(rolesOf(current, principal), operation, type, name);
        if (current.decisions().size() >= CACHE_LIMIT) {
            current.decisions().clear();
        }
        current.decisions().put(key, allowed);
        return allowed;
    }

    /** For tests and tools: the decision with the current bindings. */
    public boolean isAllowed(KafkaPrincipal principal, AclOperation operation, ResourceType type, String name) {
        return decide(state, principal, operation, type, name);
    }

    private static String principalKey(KafkaPrincipal principal) {
        return principal.getPrincipalType() + ":" + principal.getName();
    }

    private static Set<String> rolesOf(State current, KafkaPrincipal principal) {
        if (principal instanceof CmmKafkaPrincipal cmm) {
            return current.bindings().rolesOf(principal.getName(), cmm.groups(), cmm.roleClaims());
        }
        return current.bindings().rolesOf(principal.getName(), Set.of(), Set.of());
    }

    /** "First per principal, client and resource": what was already recorded (cleared when the bindings change). */
    private record Seen(KafkaPrincipal principal, InetAddress address, String clientId, AclOperation operation,
            ResourceType type, String name, boolean dataAccess) {
    }

    private void audit(AuthorizableRequestContext context, Action action, boolean allowed) {
        String clientId = context.clientId();
        if (clientId != null && clientId.startsWith(KafkaAuditWriter.CLIENT_ID)) {
            return; // the audit writer's own requests
        }
        ResourcePattern resource = action.resourcePattern();
        if (allowed && !selectorRecordsDataAccess && action.operation() == AclOperation.READ
                && resource.resourceType() == ResourceType.TOPIC
                && context.requestType() == ApiKeys.FETCH.id && isPatientTopic(resource.name())
                && remember(new Seen(context.principal(), context.clientAddress(), clientId, AclOperation.READ,
                        ResourceType.TOPIC, resource.name(), true))) {
            KafkaAudit.sink().record(event(AuditEvent.Kind.DATA_ACCESS, context, action, true, null));
        }
        if (!allowed) {
            if (action.logIfDenied()) {
                KafkaAudit.sink().record(event(AuditEvent.Kind.AUTHORIZATION, context, action, false,
                        "no role of " + context.principal() + " grants " + RoleBindings.displayName(action.operation())));
            }
        } else if (action.logIfAllowed() && switch (auditAllowed) {
            case "all" -> true;
            case "first" -> remember(new Seen(context.principal(), context.clientAddress(), clientId,
                    action.operation(), resource.resourceType(), resource.name(), false));
            default -> false;
        }) {
            KafkaAudit.sink().record(event(AuditEvent.Kind.AUTHORIZATION, context, action, true, null));
        }
    }

    private boolean remember(Seen key) {
        if (firstSeen.size() >= CACHE_LIMIT) {
            firstSeen.clear();
        }
        return firstSeen.add(key);
    }

    private boolean isPatientTopic(String topic) {
        for (String prefix : patientTopicPrefixes) {
            if (topic.startsWith(prefix)) {
                return true;
            }
        }
        return false;
    }

    private static AuditEvent event(AuditEvent.Kind kind, AuthorizableRequestContext context, Action action,
            boolean granted, String reason) {
        ResourcePattern resource = action.resourcePattern();
        return new AuditEvent(kind, context.principal().toString(), KafkaAudit.SOURCE, granted,
                RoleBindings.displayName(action.operation()), displayType(resource.resourceType()), resource.name(),
                resource.patternType().name(),
                context.clientAddress() == null ? null : context.clientAddress().getHostAddress(), context.clientId(),
                String.valueOf(context.correlationId()), reason, Instant.now());
    }

    private static String displayType(ResourceType type) {
        return switch (type) {
            case TOPIC -> "Topic";
            case GROUP -> "Group";
            case CLUSTER -> "Cluster";
            case TRANSACTIONAL_ID -> "TransactionalId";
            case DELEGATION_TOKEN -> "DelegationToken";
            case USER -> "User";
            default -> type.name();
        };
    }

    @Override
    public List<? extends CompletionStage<AclCreateResult>> createAcls(
            AuthorizableRequestContext context, List<AclBinding> bindings) {
        return bindings.stream().map(b -> CompletableFuture.completedFuture(new AclCreateResult(
                new InvalidRequestException("ACLs are not used by the RBAC authorizer: edit the role-bindings file"))))
                .toList();
    }

    @Override
    public List<? extends CompletionStage<AclDeleteResult>> deleteAcls(
            AuthorizableRequestContext context, List<AclBindingFilter> filters) {
        return filters.stream().map(f -> CompletableFuture.completedFuture(new AclDeleteResult(
                new InvalidRequestException("ACLs are not used by the RBAC authorizer: edit the role-bindings file"))))
                .toList();
    }

    @Override
    public Iterable<AclBinding> acls(AclBindingFilter filter) {
        return List.of();
    }

    @Override
    public void close() {
        if (watcher != null) {
            watcher.shutdownNow();
        }
        KafkaAudit.uninstall(audit);
        if (auditWriter != null) {
            auditWriter.close();
        }
    }
}
