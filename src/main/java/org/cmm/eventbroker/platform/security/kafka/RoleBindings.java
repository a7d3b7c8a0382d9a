package org.cmm.eventbroker.platform.security.kafka;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourceType;

/**
 * The roles, role bindings and super users the {@link RbacAuthorizer} decides with, read from the declarative file
 * integrators edit (docs/security.md describes it). One statement a line, {@code #} starts a comment:
 *
 * <pre>
 * role  &lt;role&gt; &lt;Operation&gt;[,&lt;Operation&gt;...] &lt;resource&gt;   grants operations on a resource pattern
 * bind  &lt;subject&gt; &lt;role&gt;[,&lt;role&gt;...]                     gives a subject roles
 * super &lt;subject&gt;                                          everything, always (only user: subjects)
 * </pre>
 *
 * A resource is {@code topic:<name>}, {@code group:<name>} or {@code transactional-id:<name>} (a name ending in
 * {@code *} is a prefix, {@code *} alone is every name) or {@code cluster}. A subject is {@code user:<name>} (SCRAM
 * or PLAIN user, mapped certificate subject, OIDC subject), {@code group:<name>} (OIDC groups claim) or
 * {@code role:<name>} (OIDC roles claim). The built-in roles ({@link BuiltInRoles}) exist before the file's first
 * line; a {@code role} line adds grants to a built-in role or creates a new one.
 *
 * <p>Parsing is all or nothing: a file with an error is refused as a whole, naming the line and the reason, so the
 * authorizer keeps deciding with the last good set.
 */
public final class RoleBindings {

    /** An operation granted on a resource pattern. */
    public record Grant(Set<AclOperation> operations, ResourceType resourceType, String name, PatternType patternType) {

        boolean covers(AclOperation operation, ResourceType type, String resourceName) {
            if (type != resourceType || !implies(operations, operation)) {
                return false;
            }
            return switch (patternType) {
                case LITERAL -> name.equals("*") || name.equals(resourceName);
                // a prefix reaches a domain's data topics, never the platform's own topics in it
                case PREFIXED -> resourceName.startsWith(name)
                        && !(type == ResourceType.TOPIC && operation == AclOperation.WRITE && isPlatformTopic(resourceName));
                default -> false;
            };
        }
    }

    /**
     * The last name segments of the topics only the runtime writes inside a domain's prefix: de-duplication keys
     * ({@code hl7.dedup}, {@code device.http.dedup}), dead letters ({@code device.dlq}) and alert acknowledgements
     * ({@code device.alerts.acknowledgements}). A forged key would make the runtime drop a real message as a resend,
     * a forged acknowledgement would silence an alarm. Writing one needs a grant that names it, or every topic.
     */
    static final Set<String> PLATFORM_TOPIC_SEGMENTS = Set.of("dedup", "dlq", "acknowledgements");

    static boolean isPlatformTopic(String topic) {
        return PLATFORM_TOPIC_SEGMENTS.contains(topic.substring(topic.lastIndexOf('.') + 1));
    }

    /** A subject of a binding: a user, or an OIDC group or role claim value. */
    public record Subject(String kind, String name) {
        @Override
        public String toString() {
            return kind + ":" + name;
        }
    }

    /** Thrown for a file that cannot be used; the message names the source and line. */
    public static final class InvalidRoleBindingsException extends Exception {
        private final int line;

        InvalidRoleBindingsException(String source, int line, String reason) {
            super(source + " line " + line + ": " + reason);
            this.line = line;
        }

        /** The 1-based line of the first error. */
        public int line() {
            return line;
        }
    }

    static final Set<AclOperation> GRANTABLE = EnumSet.of(AclOperation.READ, AclOperation.WRITE, AclOperation.CREATE,
            AclOperation.DELETE, AclOperation.DESCRIBE, AclOperation.ALTER, AclOperation.DESCRIBE_CONFIGS,
            AclOperation.ALTER_CONFIGS, AclOperation.IDEMPOTENT_WRITE, AclOperation.CLUSTER_ACTION, AclOperation.ALL);

    private static final Set<String> SUBJECT_KINDS = Set.of("user", "group", "role");

    private final Map<String, List<Grant>> roles;
    private final Map<Subject, Set<String>> bindings;
    private final Set<String> superUsers;

    private RoleBindings(Map<String, List<Grant>> roles, Map<Subject, Set<String>> bindings, Set<String> superUsers) {
        this.roles = roles;
        this.bindings = bindings;
        this.superUsers = superUsers;
    }

    /** Reads a role-bindings file (UTF-8). */
    public static RoleBindings read(Path file) throws IOException, InvalidRoleBindingsException {
        return parse(Files.readString(file, StandardCharsets.UTF_8), file.toString());
    }

    /** Parses role-bindings text on top of the built-in roles; {@code source} names it in error messages. */
    public static RoleBindings parse(String text, String source) throws InvalidRoleBindingsException {
        Map<String, List<Grant>> roles = new LinkedHashMap<>();
        try {
            parseInto(BuiltInRoles.DEFINITIONS, "built-in roles", roles, new LinkedHashMap<>(), new HashSet<>());
        } catch (InvalidRoleBindingsException e) {
            throw new IllegalStateException(e);
        }
        Map<Subject, Set<String>> bindings = new LinkedHashMap<>();
        Set<String> superUsers = new HashSet<>();
        parseInto(text, source, roles, bindings, superUsers);
        roles.replaceAll((k, v) -> List.copyOf(v));
        bindings.replaceAll((k, v) -> Set.copyOf(v));
        return new RoleBindings(Map.copyOf(roles), Map.copyOf(bindings), Set.copyOf(superUsers));
    }

    private static void parseInto(String text, String source, Map<String, List<Grant>> roles,
            Map<Subject, Set<String>> bindings, Set<String> superUsers) throws InvalidRoleBindingsException {
        String[] lines = text.split("\r?\n", -1);
        // roles first, so a binding may name a role defined further down
        for (int pass = 0; pass < 2; pass++) {
            for (int i = 0; i < lines.length; i++) {
                String line = stripComment(lines[i]);
                if (line.isEmpty()) {
                    continue;
                }
                String[] words = line.split("\\s+");
                String keyword = words[0].toLowerCase(Locale.ROOT);
                int number = i + 1;
                switch (keyword) {
                    case "role" -> {
                        if (pass == 0) {
                            expectWords(words, 4, "role <role> <Operation>[,<Operation>...] <resource>", source, number);
                            String role = roleName(words[1], source, number);
                            roles.computeIfAbsent(role, r -> new ArrayList<>())
                                    .add(grant(words[2], words[3], source, number));
                        }
                    }
                    case "bind" -> {
                        if (pass == 1) {
                            expectWords(words, 3, "bind <subject> <role>[,<role>...]", source, number);
                            Subject subject = subject(words[1], source, number);
                            Set<String> bound = bindings.computeIfAbsent(subject, s -> new HashSet<>());
                            for (String role : words[2].split(",")) {
                                if (!roles.containsKey(role)) {
                                    throw new InvalidRoleBindingsException(source, number, "unknown role '" + role
                                            + "' (known: " + String.join(", ", roles.keySet()) + ")");
                                }
                                bound.add(role);
                            }
                        }
                    }
                    case "super" -> {
                        if (pass == 1) {
                            expectWords(words, 2, "super user:<name>", source, number);
                            Subject subject = subject(words[1], source, number);
                            if (!subject.kind().equals("user")) {
                                throw new InvalidRoleBindingsException(source, number,
                                        "only a user: subject can be a super user, not " + subject);
                            }
                            superUsers.add(subject.name());
                        }
                    }
                    default -> throw new InvalidRoleBindingsException(source, number, "unknown statement '" + words[0]
                            + "' (expected role, bind or super)");
                }
            }
        }
    }

    private static String stripComment(String line) {
        int hash = line.indexOf('#');
        return (hash >= 0 ? line.substring(0, hash) : line).strip();
    }

    private static void expectWords(String[] words, int count, String usage, String source, int line)
            throws InvalidRoleBindingsException {
        if (words.length != count) {
            throw new InvalidRoleBindingsException(source, line, "expected '" + usage + "' but found " + words.length
                    + " words");
        }
    }

    private static String roleName(String name, String source, int line) throws InvalidRoleBindingsException {
        if (!name.matches("[a-z0-9][a-z0-9-]*")) {
            throw new InvalidRoleBindingsException(source, line, "role name '" + name
                    + "' must be lower-case letters, digits and '-'");
        }
        return name;
    }

    private static Subject subject(String word, String source, int line) throws InvalidRoleBindingsException {
        int colon = word.indexOf(':');
        String kind = colon > 0 ? word.substring(0, colon).toLowerCase(Locale.ROOT) : "";
        if (!SUBJECT_KINDS.contains(kind) || colon == word.length() - 1) {
            throw new InvalidRoleBindingsException(source, line, "subject '" + word
                    + "' must be user:<name>, group:<name> or role:<name>");
        }
        return new Subject(kind, word.substring(colon + 1));
    }

    private static Grant grant(String operationList, String resource, String source, int line)
            throws InvalidRoleBindingsException {
        Set<AclOperation> operations = EnumSet.noneOf(AclOperation.class);
        for (String word : operationList.split(",")) {
            operations.add(operation(word, source, line));
        }
        if (resource.equalsIgnoreCase("cluster")) {
            return new Grant(operations, ResourceType.CLUSTER, "kafka-cluster", PatternType.LITERAL);
        }
        int colon = resource.indexOf(':');
        String type = colon > 0 ? resource.substring(0, colon).toLowerCase(Locale.ROOT) : "";
        ResourceType resourceType = switch (type) {
            case "topic" -> ResourceType.TOPIC;
            case "group" -> ResourceType.GROUP;
            case "transactional-id" -> ResourceType.TRANSACTIONAL_ID;
            default -> null;
        };
        String name = colon > 0 ? resource.substring(colon + 1) : "";
        if (resourceType == null || name.isEmpty()) {
            throw new InvalidRoleBindingsException(source, line, "resource '" + resource
                    + "' must be topic:<name>, group:<name>, transactional-id:<name> or cluster");
        }
        if (name.equals("*")) {
            return new Grant(operations, resourceType, "*", PatternType.LITERAL);
        }
        if (name.endsWith("*")) {
            String prefix = name.substring(0, name.length() - 1);
            if (prefix.contains("*")) {
                throw new InvalidRoleBindingsException(source, line, "'*' is allowed only at the end of '" + name + "'");
            }
            return new Grant(operations, resourceType, prefix, PatternType.PREFIXED);
        }
        if (name.contains("*")) {
            throw new InvalidRoleBindingsException(source, line, "'*' is allowed only at the end of '" + name + "'");
        }
        return new Grant(operations, resourceType, name, PatternType.LITERAL);
    }

    private static AclOperation operation(String word, String source, int line) throws InvalidRoleBindingsException {
        String wanted = word.replace("_", "").toLowerCase(Locale.ROOT);
        for (AclOperation operation : GRANTABLE) {
            if (operation.name().replace("_", "").toLowerCase(Locale.ROOT).equals(wanted)) {
                return operation;
            }
        }
        throw new InvalidRoleBindingsException(source, line, "unknown operation '" + word + "' (known: "
                + GRANTABLE.stream().map(RoleBindings::displayName).collect(Collectors.joining(", ")) + ")");
    }

    /** {@code DESCRIBE_CONFIGS} as the file writes it: {@code DescribeConfigs}. */
    static String displayName(AclOperation operation) {
        return Arrays.stream(operation.name().split("_"))
                .map(w -> w.charAt(0) + w.substring(1).toLowerCase(Locale.ROOT))
                .collect(Collectors.joining());
    }

    /**
     * Kafka's implied operations (as its own authorizers): Read, Write, Delete and Alter imply Describe; AlterConfigs
     * implies DescribeConfigs; All implies everything.
     */
    static boolean implies(Set<AclOperation> granted, AclOperation wanted) {
        if (granted.contains(wanted) || granted.contains(AclOperation.ALL)) {
            return true;
        }
        if (wanted == AclOperation.DESCRIBE) {
            return granted.contains(AclOperation.READ) || granted.contains(AclOperation.WRITE)
                    || granted.contains(AclOperation.DELETE) || granted.contains(AclOperation.ALTER);
        }
        return wanted == AclOperation.DESCRIBE_CONFIGS && granted.contains(AclOperation.ALTER_CONFIGS);
    }

    public Map<String, List<Grant>> roles() {
        return roles;
    }

    public Map<Subject, Set<String>> bindings() {
        return bindings;
    }

    public Set<String> superUsers() {
        return superUsers;
    }

    /** The roles of a principal: bound to its user name, to any of its groups or to any of its role claims. */
    public Set<String> rolesOf(String userName, Set<String> groups, Set<String> roleClaims) {
        Set<String> result = new HashSet<>(bindings.getOrDefault(new Subject("user", userName), Set.of()));
        for (String group : groups) {
            result.addAll(bindings.getOrDefault(new Subject("group", group), Set.of()));
        }
        for (String role : roleClaims) {
            result.addAll(bindings.getOrDefault(new Subject("role", role), Set.of()));
        }
        return result;
    }

    /** Whether these roles grant the operation on the named resource. */
    public boolean grants(Set<String> roleNames, AclOperation operation, ResourceType type, String resourceName) {
        for (String role : roleNames) {
            for (Grant grant : roles.getOrDefault(role, List.of())) {
                if (grant.covers(operation, type, resourceName)) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Whether these roles grant the operation on any resource of the type (Kafka's authorizeByResourceType). */
    public boolean grantsAny(Set<String> roleNames, AclOperation operation, ResourceType type) {
        for (String role : roleNames) {
            for (Grant grant : roles.getOrDefault(role, List.of())) {
                if (grant.resourceType() == type && implies(grant.operations(), operation)) {
                    return true;
                }
            }
        }
        return false;
    }
}
