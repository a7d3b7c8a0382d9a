package org.cmm.eventbroker.analytics;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * The per-patient stage (records keyed by patient, as hl7-topic-sink writes them): reads each ADT message, keeps the
 * patient's timeline in the {@value #STORE} store (changelogged), replays it, and forwards the change of the patient's
 * contributions ("+1 token" / "-1 token", keyed by aggregate). Messages the rules cannot use are forwarded untouched
 * with {@code dlq_reason}, for the dead-letter topic; they never change a metric.
 */
final class PatientTimelineProcessor implements Processor<String, byte[], String, PatientTimelineProcessor.Output> {

    static final String STORE = "analytics-patient-timelines";
    /** How often closed timelines past the retention are forgotten. */
    static final Duration CLEANUP_PERIOD = Duration.ofMinutes(1);

    /** Either a contribution change ({@code change} = "delta token") or a rejected message ({@code rejected}). */
    record Output(String change, byte[] rejected) {
        boolean isRejected() {
            return rejected != null;
        }
    }

    private final AnalyticsSettings settings;
    private final AnalyticsCounters counters;
    private final AnalyticsTopology.IntakeGate intakeGate;
    private ProcessorContext<String, Output> context;
    private KeyValueStore<String, String> timelines;

    PatientTimelineProcessor(AnalyticsSettings settings, AnalyticsCounters counters) {
        this(settings, counters, AnalyticsTopology.IntakeGate.NONE);
    }

    PatientTimelineProcessor(AnalyticsSettings settings, AnalyticsCounters counters, AnalyticsTopology.IntakeGate gate) {
        this.settings = settings;
        this.counters = counters;
        this.intakeGate = gate;
    }

    @Override
    public void init(ProcessorContext<String, Output> context) {
        this.context = context;
        this.timelines = context.getStateStore(STORE);
        context.schedule(CLEANUP_PERIOD, PunctuationType.WALL_CLOCK_TIME, this::forgetClosedTimelines);
    }

    @Override
    public void process(Record<String, byte[]> record) {
        try {
            intakeGate.awaitTurn(); // while the intake is saturated, its ACKs first (bounded wait)
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // stopping: process the record all the same
        }
        String patient = record.key();
        AdtEvent event;
        try {
            event = AdtEvent.read(patient, record.value(), settings, System.currentTimeMillis());
        } catch (AdtRejectedException e) {
            reject(record, e);
            return;
        }
        PatientTimeline before = AnalyticsJson.timeline(timelines.get(patient));
        if (before.contains(event.controlId())) {
            counters.duplicate();
            return;
        }
        if (before.size() >= settings.maxEventsPerPatient()) {
            reject(record, new AdtRejectedException("timeline-full",
                    "the patient's timeline holds cmm.analytics.max-events-per-patient events"));
            return;
        }
        PatientTimeline after = before.with(event);
        timelines.put(patient, AnalyticsJson.timeline(after));
        for (KeyValue<String, String> change : changes(before.contributions(settings.waitPatientClasses()),
                after.contributions(settings.waitPatientClasses()))) {
            context.forward(new Record<>(change.key, new Output(change.value, null), record.timestamp()));
        }
    }

    /** "+n token" / "-n token" for every token whose count differs, keyed by its aggregate. */
    static List<KeyValue<String, String>> changes(Map<String, Integer> before, Map<String, Integer> after) {
        Set<String> tokens = new HashSet<>(before.keySet());
        tokens.addAll(after.keySet());
        List<KeyValue<String, String>> changes = new ArrayList<>();
        tokens.stream().sorted().forEach(token -> {
            int delta = after.getOrDefault(token, 0) - before.getOrDefault(token, 0);
            if (delta != 0) {
                changes.add(KeyValue.pair(Contribution.aggregateKey(token), delta + " " + token));
            }
        });
        return changes;
    }

    private void reject(Record<String, byte[]> record, AdtRejectedException e) {
        counters.rejected(e.kind());
        Headers headers = new RecordHeaders(record.headers().toArray());
        headers.remove("dlq_reason");
        headers.add("dlq_reason", e.getMessage().getBytes(StandardCharsets.UTF_8));
        headers.remove("dlq_source");
        headers.add("dlq_source", "analytics-streams".getBytes(StandardCharsets.UTF_8));
        headers.remove("dlq_time");
        headers.add("dlq_time", Instant.now().toString().getBytes(StandardCharsets.UTF_8));
        context.recordMetadata().ifPresent(m -> {
            headers.remove("dlq_original_topic");
            headers.add("dlq_original_topic", m.topic().getBytes(StandardCharsets.UTF_8));
        });
        byte[] body = record.value() == null ? new byte[0] : record.value();
        context.forward(new Record<>(record.key(), new Output(null, body), record.timestamp(), headers));
    }

    /** Timelines whose patient left and whose last event is older than the retention are forgotten. */
    private void forgetClosedTimelines(long now) {
        List<String> forget = new ArrayList<>();
        try (KeyValueIterator<String, String> all = timelines.all()) {
            while (all.hasNext()) {
                KeyValue<String, String> kv = all.next();
                PatientTimeline t = AnalyticsJson.timeline(kv.value);
                if (t.lastEventTime() < now - settings.retentionMs() && t.closed(settings.waitPatientClasses())) {
                    forget.add(kv.key);
                }
            }
        }
        forget.forEach(timelines::delete);
    }
}
