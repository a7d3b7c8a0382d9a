package org.cmm.eventbroker.platform.security.kafka;

import java.util.concurrent.atomic.AtomicReference;

import org.cmm.eventbroker.platform.security.audit.AuditSink;

/**
 * Where the broker-side plug-ins (authorizer, principal builder, SASL servers, token validator) report. Kafka creates
 * them by class name, separately, so they cannot be handed a sink: the {@link RbacAuthorizer} installs the broker's
 * audit writer here when it is configured, and the others read it. One broker per JVM (the embedded broker, or a
 * Kafka broker with the plug-in jar).
 */
public final class KafkaAudit {

    /** The {@code source} of every event the Kafka side records. */
    public static final String SOURCE = "kafka";

    private static final AtomicReference<AuditSink> SINK = new AtomicReference<>(AuditSink.NONE);

    private KafkaAudit() {
    }

    public static AuditSink sink() {
        return SINK.get();
    }

    static void install(AuditSink sink) {
        SINK.set(sink == null ? AuditSink.NONE : sink);
    }

    /** Uninstalls {@code sink} if it is still the installed one (a newer broker may have replaced it). */
    static void uninstall(AuditSink sink) {
        SINK.compareAndSet(sink, AuditSink.NONE);
    }
}
