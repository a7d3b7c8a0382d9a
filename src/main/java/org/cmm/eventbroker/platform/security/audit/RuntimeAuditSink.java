package org.cmm.eventbroker.platform.security.audit;

import org.apache.camel.CamelContext;
import org.apache.camel.support.service.ServiceSupport;
import org.cmm.eventbroker.platform.kafka.KafkaClients;

/**
 * The runtime's {@link AuditSink} (bound as {@link AuditSink#REGISTRY_NAME} when security is on): a
 * {@link KafkaAuditWriter} whose producer is the runtime's own ({@link KafkaClients}, so it authenticates as the
 * runtime's service principal), made on the first event, after the Kafka component is configured. Stops with Camel.
 */
public final class RuntimeAuditSink extends ServiceSupport implements AuditSink {

    private final CamelContext context;
    private volatile KafkaAuditWriter writer;

    public RuntimeAuditSink(CamelContext context) {
        this.context = context;
    }

    @Override
    public void record(AuditEvent event) {
        try {
            writer().record(event);
        } catch (RuntimeException e) {
            // record must not throw: a sink that cannot be made yet (no Kafka settings) loses nothing but this event,
            // and says so
            org.slf4j.LoggerFactory.getLogger(RuntimeAuditSink.class).warn("Audit event not recorded: {}",
                    e.getMessage());
        }
    }

    /** Events dropped because the buffer was full (0 before the first event). */
    public long dropped() {
        KafkaAuditWriter w = writer;
        return w == null ? 0 : w.dropped();
    }

    private KafkaAuditWriter writer() {
        KafkaAuditWriter w = writer;
        if (w == null) {
            synchronized (this) {
                w = writer;
                if (w == null) {
                    w = new KafkaAuditWriter(KafkaClients.of(context).producerProperties(KafkaAuditWriter.CLIENT_ID),
                            KafkaAuditWriter.DEFAULT_CAPACITY);
                    writer = w;
                }
            }
        }
        return w;
    }

    @Override
    protected void doStop() {
        KafkaAuditWriter w = writer;
        if (w != null) {
            w.close();
        }
    }
}
