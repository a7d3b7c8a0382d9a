package org.cmm.eventbroker.platform.security.http;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.cmm.eventbroker.platform.security.audit.AuditEvent;
import org.cmm.eventbroker.platform.security.audit.AuditSink;

/**
 * Keeps the audit events in memory, standing in for (K)'s Kafka audit writer (not on this branch): bound under
 * {@link AuditSink#REGISTRY_NAME}, it receives exactly what the real sink would.
 */
final class RecordingAuditSink implements AuditSink {

    private final List<AuditEvent> events = new CopyOnWriteArrayList<>();

    @Override
    public void record(AuditEvent event) {
        events.add(event);
    }

    List<AuditEvent> events() {
        return List.copyOf(events);
    }
}
