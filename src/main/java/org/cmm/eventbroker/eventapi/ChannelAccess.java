package org.cmm.eventbroker.eventapi;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.resource.ResourceType;
import org.cmm.eventbroker.platform.security.http.Caller;
import org.cmm.eventbroker.platform.security.kafka.RoleBindings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who may read or write which topic through the event API: the same role-bindings file the Kafka authorizer decides
 * with ({@code cmm.kafka.security.role-bindings}; docs/security.md), read again whenever it changes, so one binding
 * grants an application its Kafka principal and its REST/SSE/WebSocket calls alike. A caller is the subject
 * {@code user:<name>} (the token's {@code preferred_username}, client id or subject) with its token roles as
 * {@code role:<role>} subjects. A file that cannot be read or parsed denies everything (and says so in the log),
 * never allows.
 */
final class ChannelAccess {

    private static final Logger LOG = LoggerFactory.getLogger(ChannelAccess.class);

    private final boolean enabled;
    private final Path file;
    private volatile RoleBindings bindings;
    private volatile long stamp = -1;

    ChannelAccess(boolean enabled, Path file) {
        this.enabled = enabled;
        this.file = file;
    }

    boolean enabled() {
        return enabled;
    }

    Path file() {
        return file;
    }

    /** Whether the caller may do {@code operation} (READ or WRITE) on the topic; always true with access control off. */
    boolean allows(Caller caller, AclOperation operation, String topic) {
        return allows(caller, operation, ResourceType.TOPIC, topic);
    }

    /** Whether the caller may do {@code operation} on the named resource (a topic or a consumer group). */
    boolean allows(Caller caller, AclOperation operation, ResourceType type, String name) {
        if (!enabled) {
            return true;
        }
        if (caller == null) {
            return false;
        }
        RoleBindings current = current();
        if (current == null) {
            return false;
        }
        if (current.superUsers().contains(caller.name())) {
            return true;
        }
        Set<String> roles = current.rolesOf(caller.name(), Set.of(), caller.roles());
        return current.grants(roles, operation, type, name);
    }

    /** The bindings as the file says now (re-read when its size or modification time changed), or null. */
    synchronized RoleBindings current() {
        try {
            long now = Files.exists(file) ? Files.getLastModifiedTime(file).toMillis() * 31 + Files.size(file) : -2;
            if (now != stamp || bindings == null) {
                bindings = now == -2 ? null : RoleBindings.read(file);
                stamp = now;
                if (bindings == null) {
                    LOG.warn("The role-bindings file {} does not exist: the event API denies every channel", file);
                }
            }
        } catch (Exception e) {
            LOG.error("Cannot use the role-bindings file {} ({}): the event API keeps the last good set", file,
                    e.getMessage());
        }
        return bindings;
    }
}
