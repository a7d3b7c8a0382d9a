package org.cmm.eventbroker.platform.metrics;

import java.util.List;
import java.util.concurrent.TimeUnit;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.component.kafka.KafkaConstants;
import org.apache.camel.component.kafka.KafkaEndpoint;
import org.apache.camel.spi.CamelEvent;
import org.apache.camel.spi.CamelEvent.ExchangeSendingEvent;
import org.apache.camel.spi.CamelEvent.ExchangeSentEvent;
import org.apache.camel.support.EventNotifierSupport;
import org.apache.kafka.clients.producer.RecordMetadata;

/**
 * Prometheus metrics per Kafka topic, beside Camel's per-route ones: how many records each flow published to each
 * topic and delivered from it, how many attempts failed, and how long they took. An operator sees at once that
 * {@code lab.results.critical} stopped flowing, or that deliveries from {@code lab.orders.chemistry} keep failing,
 * which route metrics (one route serves many topics) cannot show.
 *
 * <ul>
 *   <li>{@code cmm_topic_records_total{topic, direction="published"|"delivered", outcome="ok"|"failed"}}</li>
 *   <li>{@code cmm_topic_latency_seconds{topic, direction}}: the Kafka write (published) or the whole delivery
 *   attempt, peer's ACK included (delivered)</li>
 * </ul>
 * Published records are seen as Camel exchanges sent to a Kafka endpoint; deliveries are reported by the
 * {@code kafka-delivery} consumer. Tag values are topic names, which the topic conventions keep bounded.
 */
public class TopicMetrics extends EventNotifierSupport {

    /** Name under which the runtime binds this in the Camel registry. */
    public static final String BEAN_NAME = "cmmTopicMetrics";

    private static final String TOPIC_PROPERTY = "CamelCmmMetricsTopic";

    private final CamelContext camelContext;
    private volatile MeterRegistry registry;
    private final java.util.concurrent.ConcurrentHashMap<String, Counter> counters = new java.util.concurrent.ConcurrentHashMap<>();
    private final java.util.concurrent.ConcurrentHashMap<String, Timer> timers = new java.util.concurrent.ConcurrentHashMap<>();

    public TopicMetrics(CamelContext camelContext) {
        this.camelContext = camelContext;
        setIgnoreCamelContextEvents(true);
        setIgnoreCamelContextInitEvents(true);
        setIgnoreRouteEvents(true);
        setIgnoreServiceEvents(true);
        setIgnoreStepEvents(true);
        setIgnoreExchangeCreatedEvent(true);
        setIgnoreExchangeCompletedEvent(true);
        setIgnoreExchangeFailedEvents(true);
        setIgnoreExchangeRedeliveryEvents(true);
        setIgnoreExchangeAsyncProcessingStartedEvents(true);
    }

    /** The instance bound in the context's registry, or null when metrics are off. */
    public static TopicMetrics of(CamelContext context) {
        return context.getRegistry().lookupByNameAndType(BEAN_NAME, TopicMetrics.class);
    }

    @Override
    public boolean isEnabled(CamelEvent event) {
        return event instanceof ExchangeSendingEvent sending && sending.getEndpoint() instanceof KafkaEndpoint
                || event instanceof ExchangeSentEvent sent && sent.getEndpoint() instanceof KafkaEndpoint;
    }

    @Override
    public void notify(CamelEvent event) {
        if (event instanceof ExchangeSendingEvent sending) {
            // the topic header is consumed by the producer: remember it for the sent event
            Exchange exchange = sending.getExchange();
            String topic = exchange.getMessage().getHeader(KafkaConstants.OVERRIDE_TOPIC, String.class);
            exchange.setProperty(TOPIC_PROPERTY, topic != null ? topic
                    : ((KafkaEndpoint) sending.getEndpoint()).getConfiguration().getTopic());
        } else if (event instanceof ExchangeSentEvent sent) {
            Exchange exchange = sent.getExchange();
            String topic = exchange.getProperty(TOPIC_PROPERTY, String.class);
            Object meta = exchange.getMessage().getHeader(KafkaConstants.KAFKA_RECORD_META);
            if (meta instanceof List<?> list && !list.isEmpty() && list.get(0) instanceof RecordMetadata m) {
                topic = m.topic();
            }
            exchange.removeProperty(TOPIC_PROPERTY);
            record(topic == null ? "unknown" : topic, "published", !exchange.isFailed(),
                    TimeUnit.MILLISECONDS.toNanos(sent.getTimeTaken()));
        }
    }

    /** One delivery attempt of a record from this topic (kafka-delivery). */
    public void delivered(String topic, boolean ok, long nanos) {
        record(topic, "delivered", ok, nanos);
    }

    private void record(String topic, String direction, boolean ok, long nanos) {
        MeterRegistry meters = registry();
        if (meters == null) {
            return;
        }
        String outcome = ok ? "ok" : "failed";
        counters.computeIfAbsent(topic + '|' + direction + '|' + outcome, k -> Counter.builder("cmm.topic.records")
                .description("Records per topic, direction and outcome")
                .tag("topic", topic).tag("direction", direction).tag("outcome", outcome)
                .register(meters)).increment();
        timers.computeIfAbsent(topic + '|' + direction, k -> Timer.builder("cmm.topic.latency")
                .description("Kafka write (published) or delivery attempt (delivered)")
                .tag("topic", topic).tag("direction", direction)
                .register(meters)).record(nanos, TimeUnit.NANOSECONDS);
    }

    private MeterRegistry registry() {
        MeterRegistry r = registry;
        if (r == null) {
            r = camelContext.getRegistry().findSingleByType(MeterRegistry.class);
            registry = r;
        }
        return r;
    }
}
