package org.cmm.eventbroker.platform.security.audit;

import java.time.Instant;
import java.util.Objects;

/**
 * One security decision, as the audit topics carry it (CloudEvents shaped like Confluent's audit log): who
 * ({@code principal}), through which way in ({@code source}: {@code kafka}, {@code http}, {@code mllp},
 * {@code websocket}, {@code management}), what was asked ({@code operation} on {@code resourceType}
 * {@code resourceName}), and whether it was granted. Never message contents, never a secret.
 *
 * @param kind          which audit topic: authentication, authorization or data access
 * @param principal     the authenticated identity, or what the caller claimed when authentication failed
 *                      ({@code ANONYMOUS} when nothing was presented)
 * @param source        the way in: kafka, http, mllp, websocket, management
 * @param granted       the decision
 * @param operation     e.g. {@code Read}, {@code Write}, {@code POST}, {@code bind}; for authentication the
 *                      mechanism (SCRAM-SHA-512, PLAIN, OAUTHBEARER, SSL, BEARER)
 * @param resourceType  e.g. {@code Topic}, {@code Group}, {@code TransactionalId}, {@code Cluster}, {@code Endpoint}
 * @param resourceName  e.g. {@code hl7.adt.a01} or {@code /ehr/epic/patient/updated}; may be null
 * @param patternType   {@code LITERAL} or {@code PREFIXED} for Kafka resources; may be null
 * @param clientAddress the peer's IP address; may be null
 * @param clientId      Kafka client id or HTTP user agent; may be null
 * @param correlationId Kafka correlation id or request id; may be null
 * @param reason        why it was refused (no content, no secret); may be null
 * @param time          when it was decided
 * @param partition     data access: the partition read; else null
 * @param logEndOffset  data access: the partition's log end offset at the first read (the reader's position was at
 *                      or before it: Kafka hands the fetch offset itself to no plug-in); else null
 */
public record AuditEvent(Kind kind, String principal, String source, boolean granted, String operation,
        String resourceType, String resourceName, String patternType, String clientAddress, String clientId,
        String correlationId, String reason, Instant time, Integer partition, Long logEndOffset) {

    /** A decision about a whole resource (no partition). */
    public AuditEvent(Kind kind, String principal, String source, boolean granted, String operation,
            String resourceType, String resourceName, String patternType, String clientAddress, String clientId,
            String correlationId, String reason, Instant time) {
        this(kind, principal, source, granted, operation, resourceType, resourceName, patternType, clientAddress,
                clientId, correlationId, reason, time, null, null);
    }

    /** The three audit topics' event kinds. */
    public enum Kind {
        AUTHENTICATION("authentication"), AUTHORIZATION("authorization"), DATA_ACCESS("data-access");

        private final String topicSuffix;

        Kind(String topicSuffix) {
            this.topicSuffix = topicSuffix;
        }

        /** The last part of {@code security.audit.<suffix>}. */
        public String topicSuffix() {
            return topicSuffix;
        }
    }

    public AuditEvent {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(time, "time");
        principal = principal == null || principal.isBlank() ? "ANONYMOUS" : principal;
    }

    /** An authentication outcome at one way in. */
    public static AuditEvent authentication(String source, String principal, String mechanism, boolean granted,
            String clientAddress, String reason) {
        return new AuditEvent(Kind.AUTHENTICATION, principal, source, granted, mechanism, null, null, null,
                clientAddress, null, null, reason, Instant.now());
    }

    /** An authorization decision at one way in. */
    public static AuditEvent authorization(String source, String principal, String operation, String resourceType,
            String resourceName, boolean granted, String clientAddress, String reason) {
        return new AuditEvent(Kind.AUTHORIZATION, principal, source, granted, operation, resourceType, resourceName,
                null, clientAddress, null, null, reason, Instant.now());
    }
}
