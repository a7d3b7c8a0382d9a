package org.cmm.eventbroker.eventapi;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.cmm.eventbroker.platform.security.audit.AuditEvent;
import org.cmm.eventbroker.platform.security.audit.AuditSink;
import org.cmm.eventbroker.platform.security.kafka.RoleBindings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The marketplace's subscribe action: an application asks for read access to a channel (a topic, or a topic family
 * {@code lab.results.*}); once an administrator approves it (or at once, for channels configured for automatic
 * approval) a role and a binding are appended to the role-bindings file the Kafka authorizer and the event API decide
 * with, so the application's Kafka principal ({@code user:<application>}) and its REST, SSE and WebSocket calls are
 * allowed from then on (the authorizer re-reads the file within its reload interval). Each approval is audited on
 * {@code security.audit.authorization}. The file is changed all or nothing: the new text is parsed as the authorizer
 * would before it replaces the old one (atomically, same permissions).
 *
 * <p>Requests are kept on a compacted topic ({@link SubscriptionJournal}) when one is configured: pending requests
 * survive a restart and are seen by every instance. Without one they are kept in memory only.
 */
final class Subscriptions {

    private static final Logger LOG = LoggerFactory.getLogger(Subscriptions.class);

    /** One request. */
    record Subscription(String id, String application, String channel, String requestedBy, Instant requestedAt,
            String status, String approvedBy, Instant approvedAt) {

        Subscription approved(String approver) {
            return new Subscription(id, application, channel, requestedBy, requestedAt, "approved", approver,
                    Instant.now());
        }
    }

    private final Path bindingsFile;
    private final List<String> autoApprove;
    private final AuditSink audit;
    private final Map<String, Subscription> all = new LinkedHashMap<>();
    private final SubscriptionJournal journal;

    Subscriptions(Path bindingsFile, List<String> autoApprove, AuditSink audit) {
        this(bindingsFile, autoApprove, audit, null);
    }

    Subscriptions(Path bindingsFile, List<String> autoApprove, AuditSink audit, SubscriptionJournal journal) {
        this.bindingsFile = bindingsFile;
        this.autoApprove = List.copyOf(autoApprove);
        this.audit = audit;
        this.journal = journal;
        refresh();
    }

    /** Takes in the requests other instances (or this one before a restart) wrote. */
    private void refresh() {
        if (journal != null) {
            journal.changes().forEach(s -> all.put(s.id(), s));
        }
    }

    private void store(Subscription s) {
        if (journal != null) {
            journal.save(s);
        }
        all.put(s.id(), s);
    }

    /** Records a request; approved at once when its channel is configured for automatic approval. */
    synchronized Subscription request(String application, String channel, String requestedBy, String address) {
        if (application == null || !application.matches("[A-Za-z0-9][A-Za-z0-9._@-]{0,127}")) {
            throw new ApiException(400, "application must be 1-128 letters, digits, '.', '_', '@' or '-'.");
        }
        if (channel == null || !channel.matches("[A-Za-z0-9._-]{1,249}\\*?")) {
            throw new ApiException(400, "channel must be a topic name, or a topic prefix ending in '*'.");
        }
        if (all.size() >= 10_000) {
            throw new ApiException(429, "Too many subscription requests.");
        }
        Subscription s = new Subscription(UUID.randomUUID().toString(), application, channel, requestedBy,
                Instant.now(), "pending", null, null);
        store(s);
        if (autoApprove.stream().anyMatch(p -> p.equals("*") || (p.endsWith("*")
                ? channel.startsWith(p.substring(0, p.length() - 1)) : p.equals(channel)))) {
            return approve(s.id(), "auto-approval", address);
        }
        return s;
    }

    /** Approves a pending request: writes its role binding, audits it. */
    synchronized Subscription approve(String id, String approver, String address) {
        refresh();
        Subscription s = all.get(id);
        if (s == null) {
            throw new ApiException(404, "No subscription request " + id + ".");
        }
        if (!"pending".equals(s.status())) {
            throw new ApiException(409, "The subscription is already " + s.status() + ".");
        }
        writeBinding(s, approver);
        Subscription approved = s.approved(approver);
        store(approved);
        audit.record(new AuditEvent(AuditEvent.Kind.AUTHORIZATION, approver, "http", true, "ApproveSubscription",
                "Topic", s.channel().endsWith("*") ? s.channel().substring(0, s.channel().length() - 1) : s.channel(),
                s.channel().endsWith("*") ? "PREFIXED" : "LITERAL", address, s.application(), s.id(), null,
                Instant.now()));
        LOG.info("Subscription {} approved by {}: {} reads {}", id, approver, s.application(), s.channel());
        return approved;
    }

    synchronized List<Subscription> list() {
        refresh();
        return new ArrayList<>(all.values());
    }

    private void writeBinding(Subscription s, String approver) {
        String role = "subscription-" + shortHash(s.application() + "|" + s.channel());
        String block = "\n# event API subscription " + s.id() + ": " + s.application() + " reads " + s.channel()
                + ", approved by " + approver.replaceAll("[\\r\\n#]", "_") + " at " + Instant.now() + "\n"
                + "role " + role + " Read topic:" + s.channel() + "\n"
                + "role " + role + " Read group:" + s.application() + "*\n"
                + "bind user:" + s.application() + " " + role + "\n";
        try {
            String current = Files.exists(bindingsFile) ? Files.readString(bindingsFile, StandardCharsets.UTF_8) : "";
            String next = current + (current.isEmpty() || current.endsWith("\n") ? "" : "\n") + block;
            RoleBindings.parse(next, bindingsFile.toString()); // all or nothing, as the authorizer reads it
            Path parent = bindingsFile.toAbsolutePath().getParent();
            Files.createDirectories(parent);
            Path temp = Files.createTempFile(parent, ".role-bindings", ".tmp");
            try {
                Files.writeString(temp, next, StandardCharsets.UTF_8);
                if (Files.exists(bindingsFile)) {
                    try {
                        Files.setPosixFilePermissions(temp, Files.getPosixFilePermissions(bindingsFile));
                    } catch (UnsupportedOperationException e) {
                        // not a POSIX file system: the default permissions
                    }
                } else {
                    Files.setPosixFilePermissions(temp, PosixFilePermissions.fromString("rw-------"));
                }
                Files.move(temp, bindingsFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(temp);
            }
        } catch (RoleBindings.InvalidRoleBindingsException e) {
            throw new ApiException(422, "The binding cannot be added: " + e.getMessage());
        } catch (IOException e) {
            LOG.error("Cannot write the role-bindings file {}: {}", bindingsFile, e.getMessage());
            throw new ApiException(500, "The role binding could not be written.");
        }
    }

    private static String shortHash(String text) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d, 0, 6);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
