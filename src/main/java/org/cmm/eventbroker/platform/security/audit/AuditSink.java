package org.cmm.eventbroker.platform.security.audit;

import org.apache.camel.CamelContext;

/**
 * Where every way in reports its security decisions. The runtime binds one under {@link #REGISTRY_NAME}: it writes
 * {@link AuditEvent}s as CloudEvents to {@code security.audit.<kind>} through a bounded buffer, so recording never
 * blocks the caller (events dropped while the buffer is full are counted). {@link #record} must not throw.
 */
public interface AuditSink {

    String REGISTRY_NAME = "cmmAuditSink";

    /** Drops everything: the development posture, where nobody authenticates. */
    AuditSink NONE = event -> {
    };

    void record(AuditEvent event);

    /** The runtime's sink, or {@link #NONE} when none is bound. */
    static AuditSink of(CamelContext context) {
        AuditSink sink = context.getRegistry().lookupByNameAndType(REGISTRY_NAME, AuditSink.class);
        return sink != null ? sink : NONE;
    }
}
