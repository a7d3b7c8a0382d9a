package org.cmm.eventbroker.analytics;

import java.nio.charset.StandardCharsets;

import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.processor.TopicNameExtractor;
import org.apache.kafka.streams.state.Stores;

/**
 * The analytics topology: ADT topics (keyed by patient) -> {@link PatientTimelineProcessor} (patient timelines,
 * replayed in event-time order) -> contribution changes, repartitioned by aggregate -> {@link MetricsAggregator}
 * (census per ward, flow per unit and hour, wait-time windows per department) -> the three analytics.realtime.*
 * topics. Rejected messages go to the dead-letter topic untouched. Every store is persistent and changelogged, so an
 * instance restarting (or a standby taking over) rebuilds the state from Kafka.
 */
public final class AnalyticsTopology {

    private AnalyticsTopology() {
    }

    /** The topology as the runtime runs it: persistent (RocksDB) stores, each with its changelog topic. */
    public static Topology build(AnalyticsSettings settings, AnalyticsCounters counters) {
        return build(settings, counters, true);
    }

    /**
     * @param persistent false for in-memory stores (still changelogged): the unit tests, where a RocksDB flush at
     *                   every commit of the test driver would cost most of their time
     */
    public static Topology build(AnalyticsSettings settings, AnalyticsCounters counters, boolean persistent) {
        return build(settings, counters, persistent, IntakeGate.NONE);
    }

    /** Called before each ADT is processed: may hold the stream thread back while the intake is saturated. */
    @FunctionalInterface
    public interface IntakeGate {
        IntakeGate NONE = () -> { };

        void awaitTurn() throws InterruptedException;
    }

    /** @param gate the intake-first wait (issue 17 item 8; {@code IntakePriority#awaitTurnWhenBusy}) */
    public static Topology build(AnalyticsSettings settings, AnalyticsCounters counters, boolean persistent,
                                 IntakeGate gate) {
        StreamsBuilder builder = new StreamsBuilder();
        for (String store : new String[] {PatientTimelineProcessor.STORE, MetricsAggregator.BED_OCCUPANCY,
                MetricsAggregator.PATIENT_FLOW, MetricsAggregator.WAIT_TIMES}) {
            builder.addStateStore(Stores.keyValueStoreBuilder(persistent ? Stores.persistentKeyValueStore(store)
                    : Stores.inMemoryKeyValueStore(store), Serdes.String(), Serdes.String()));
        }
        KStream<String, PatientTimelineProcessor.Output> perPatient = builder
                .stream(settings.adtTopics(), Consumed.with(Serdes.String(), Serdes.ByteArray()).withName("adt-events"))
                .process(() -> new PatientTimelineProcessor(settings, counters, gate), Named.as("patient-timelines"),
                        PatientTimelineProcessor.STORE);
        perPatient.filter((k, v) -> v.isRejected(), Named.as("rejected-adt"))
                .mapValues(PatientTimelineProcessor.Output::rejected, Named.as("rejected-body"))
                .to(settings.deadLetterTopic(), Produced.with(Serdes.String(), Serdes.ByteArray())
                        .withName("analytics-dead-letters"));
        TopicNameExtractor<String, String> metricTopic = (key, value, context) -> {
            Header h = context.headers().lastHeader(MetricsAggregator.METRIC_HEADER);
            String metric = h == null ? "" : new String(h.value(), StandardCharsets.UTF_8);
            return switch (metric) {
                case "bed-occupancy" -> settings.bedOccupancyTopic();
                case "patient-flow" -> settings.patientFlowTopic();
                case "wait-times" -> settings.waitTimesTopic();
                default -> throw new IllegalStateException("record without a known " + MetricsAggregator.METRIC_HEADER);
            };
        };
        perPatient.filter((k, v) -> !v.isRejected(), Named.as("contribution-changes"))
                .mapValues(PatientTimelineProcessor.Output::change, Named.as("contribution-change"))
                .repartition(Repartitioned.with(Serdes.String(), Serdes.String()).withName("contributions"))
                .process(() -> new MetricsAggregator(settings), Named.as("metrics"), MetricsAggregator.BED_OCCUPANCY,
                        MetricsAggregator.PATIENT_FLOW, MetricsAggregator.WAIT_TIMES)
                .to(metricTopic, Produced.with(Serdes.String(), Serdes.String()).withName("metric-events"));
        return builder.build();
    }
}
