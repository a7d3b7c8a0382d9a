package org.cmm.eventbroker.analytics;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * The per-aggregate stage (records keyed census|ward, flow|unit, wait|department after the repartition): applies the
 * contribution changes to the three stores the endpoints query, and publishes every changed aggregate. A wall-clock
 * punctuation closes the hourly flow buckets and the wait-time windows whose end (plus grace) has passed, publishing
 * them once more with {@code "final": true}, also when no event arrives any more; it also forgets what is older than
 * the retention. A late change to a closed window is still applied and published again (a correction, still final).
 */
final class MetricsAggregator implements Processor<String, String, String, String> {

    static final String BED_OCCUPANCY = "analytics-bed-occupancy";
    static final String PATIENT_FLOW = "analytics-patient-flow";
    static final String WAIT_TIMES = "analytics-wait-times";
    /** Header naming the metric of a published record (bed-occupancy, patient-flow, wait-times). */
    static final String METRIC_HEADER = "analytics_metric";

    private static final long HOUR = 3_600_000L;
    /** How often buckets and windows past the retention are forgotten (a scan of the stores). */
    static final Duration RETENTION_CHECK = Duration.ofMinutes(1);

    private final AnalyticsSettings settings;
    private ProcessorContext<String, String> context;
    private KeyValueStore<String, String> beds;
    private KeyValueStore<String, String> flows;
    private KeyValueStore<String, String> waits;
    /**
     * The flow buckets and wait windows not yet final, with the wall-clock time they close at (end plus grace): the
     * punctuation looks only at these instead of parsing every stored bucket each second. Built at init (after the
     * stores are restored) from one scan of the stores, then kept up to date by {@link #process}.
     */
    private final Map<String, Long> openFlows = new HashMap<>();
    private final Map<String, Long> openWaits = new HashMap<>();

    MetricsAggregator(AnalyticsSettings settings) {
        this.settings = settings;
    }

    @Override
    public void init(ProcessorContext<String, String> context) {
        this.context = context;
        this.beds = context.getStateStore(BED_OCCUPANCY);
        this.flows = context.getStateStore(PATIENT_FLOW);
        this.waits = context.getStateStore(WAIT_TIMES);
        openFlows.clear();
        openWaits.clear();
        index(flows, openFlows, f -> f.get("hourStartMs").asLong() + HOUR, settings.flowGraceMs());
        index(waits, openWaits, w -> w.get("windowEndMs").asLong(), settings.waitGraceMs());
        context.schedule(Duration.ofMillis(settings.punctuationMs()), PunctuationType.WALL_CLOCK_TIME, this::closeDue);
        context.schedule(RETENTION_CHECK, PunctuationType.WALL_CLOCK_TIME, this::forgetExpired);
    }

    private static void index(KeyValueStore<String, String> store, Map<String, Long> open,
            java.util.function.ToLongFunction<JsonNode> end, long grace) {
        try (KeyValueIterator<String, String> all = store.all()) {
            while (all.hasNext()) {
                KeyValue<String, String> kv = all.next();
                ObjectNode node = AnalyticsJson.object(kv.value);
                if (!node.path("final").asBoolean()) {
                    open.put(kv.key, end.applyAsLong(node) + grace);
                }
            }
        }
    }

    @Override
    public void process(Record<String, String> record) {
        String change = record.value();
        int space = change.indexOf(' ');
        int delta = Integer.parseInt(change.substring(0, space));
        String[] p = change.substring(space + 1).split("\\|", -1);
        switch (p[0]) {
            case "census" -> census(p[1], p[2], delta);
            case "flow" -> flow(p[1], Long.parseLong(p[2]), p[3], delta, 0L);
            case "los" -> flow(p[1], Long.parseLong(p[2]), "los", delta, Long.parseLong(p[3]));
            case "wait" -> wait(p[1], Long.parseLong(p[2]), Long.parseLong(p[3]), delta);
            default -> throw new IllegalStateException("unknown contribution " + p[0]);
        }
    }

    private void census(String ward, String bed, int delta) {
        ObjectNode w = AnalyticsJson.object(beds.get(ward));
        w.put("ward", ward);
        ObjectNode perBed = w.has("beds") ? (ObjectNode) w.get("beds") : w.putObject("beds");
        String bedKey = bed.isEmpty() ? "-" : bed;
        int count = perBed.path(bedKey).asInt(0) + delta;
        if (count == 0) {
            perBed.remove(bedKey);
        } else {
            perBed.put(bedKey, count);
        }
        w.put("occupied", w.path("occupied").asInt(0) + delta);
        String json = AnalyticsJson.text(w);
        beds.put(ward, json);
        publish("bed-occupancy", ward, json);
    }

    private void flow(String unit, long hourStart, String kind, int delta, long losMinutes) {
        String key = unit + "|" + hourStart;
        ObjectNode f = AnalyticsJson.object(flows.get(key));
        if (!f.has("unit")) {
            f.put("unit", unit);
            f.put("hourStart", Instant.ofEpochMilli(hourStart).toString());
            f.put("hourStartMs", hourStart);
            f.put("admissions", 0);
            f.put("discharges", 0);
            f.put("transfersIn", 0);
            f.put("transfersOut", 0);
            f.put("lengthOfStayCount", 0);
            f.put("lengthOfStayTotalMinutes", 0L);
            f.put("final", false);
            openFlows.put(key, hourStart + HOUR + settings.flowGraceMs());
        }
        switch (kind) {
            case Contribution.ADMISSION -> f.put("admissions", f.get("admissions").asInt() + delta);
            case Contribution.DISCHARGE -> f.put("discharges", f.get("discharges").asInt() + delta);
            case Contribution.TRANSFER_IN -> f.put("transfersIn", f.get("transfersIn").asInt() + delta);
            case Contribution.TRANSFER_OUT -> f.put("transfersOut", f.get("transfersOut").asInt() + delta);
            default -> {
                f.put("lengthOfStayCount", f.get("lengthOfStayCount").asInt() + delta);
                f.put("lengthOfStayTotalMinutes", f.get("lengthOfStayTotalMinutes").asLong() + delta * losMinutes);
            }
        }
        int n = f.get("lengthOfStayCount").asInt();
        if (n > 0) {
            f.put("meanLengthOfStayMinutes", f.get("lengthOfStayTotalMinutes").asLong() / (double) n);
        } else {
            f.putNull("meanLengthOfStayMinutes");
        }
        String json = AnalyticsJson.text(f);
        flows.put(key, json);
        publish("patient-flow", key, json);
    }

    private void wait(String department, long endTime, long waitMs, int delta) {
        long size = settings.waitWindowMs();
        long advance = settings.waitAdvanceMs();
        long lastStart = Math.floorDiv(endTime, advance) * advance;
        for (long start = lastStart - size + advance; start <= lastStart; start += advance) {
            String key = department + "|" + start;
            ObjectNode w = AnalyticsJson.object(waits.get(key));
            if (!w.has("department")) {
                w.put("department", department);
                w.put("windowStart", Instant.ofEpochMilli(start).toString());
                w.put("windowEnd", Instant.ofEpochMilli(start + size).toString());
                w.put("windowStartMs", start);
                w.put("windowEndMs", start + size);
                w.put("final", false);
                w.putArray("samplesMs");
                openWaits.put(key, start + size + settings.waitGraceMs());
            }
            List<Long> samples = new ArrayList<>();
            w.get("samplesMs").forEach(s -> samples.add(s.asLong()));
            for (int i = 0; i < Math.abs(delta); i++) {
                if (delta > 0) {
                    samples.add(waitMs);
                } else {
                    samples.remove(Long.valueOf(waitMs));
                }
            }
            samples.sort(null);
            ArrayNode array = w.putArray("samplesMs");
            samples.forEach(array::add);
            w.put("count", samples.size());
            putPercentile(w, "p50Minutes", samples, 0.5);
            putPercentile(w, "p90Minutes", samples, 0.9);
            String json = AnalyticsJson.text(w);
            waits.put(key, json);
            publish("wait-times", key, json);
        }
    }

    /** Nearest rank: the smallest sample with at least q of the samples at or below it; null without samples. */
    static Long percentile(List<Long> sorted, double q) {
        if (sorted.isEmpty()) {
            return null;
        }
        int rank = (int) Math.ceil(q * sorted.size());
        return sorted.get(Math.max(rank, 1) - 1);
    }

    private static void putPercentile(ObjectNode w, String field, List<Long> sorted, double q) {
        Long ms = percentile(sorted, q);
        if (ms == null) {
            w.putNull(field);
        } else {
            w.put(field, ms / 60_000.0);
        }
    }

    /** Wall clock: closes (publishes as final) the open buckets and windows whose end plus grace has passed. */
    private void closeDue(long now) {
        closeDue(flows, openFlows, "patient-flow", now);
        closeDue(waits, openWaits, "wait-times", now);
    }

    private void closeDue(KeyValueStore<String, String> store, Map<String, Long> open, String metric, long now) {
        for (Iterator<Map.Entry<String, Long>> it = open.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<String, Long> due = it.next();
            if (due.getValue() > now) {
                continue;
            }
            it.remove();
            String json = store.get(due.getKey());
            if (json == null) {
                continue;
            }
            ObjectNode node = AnalyticsJson.object(json);
            if (!node.path("final").asBoolean()) {
                node.put("final", true);
                String text = AnalyticsJson.text(node);
                store.put(due.getKey(), text);
                publish(metric, due.getKey(), text);
            }
        }
    }

    /** Wall clock: forgets the buckets and windows that ended more than the retention ago. */
    private void forgetExpired(long now) {
        forgetExpired(flows, openFlows, now, f -> f.get("hourStartMs").asLong() + HOUR);
        forgetExpired(waits, openWaits, now, w -> w.get("windowEndMs").asLong());
    }

    private void forgetExpired(KeyValueStore<String, String> store, Map<String, Long> open, long now,
            java.util.function.ToLongFunction<JsonNode> end) {
        List<String> forget = new ArrayList<>();
        try (KeyValueIterator<String, String> all = store.all()) {
            while (all.hasNext()) {
                KeyValue<String, String> kv = all.next();
                if (end.applyAsLong(AnalyticsJson.object(kv.value)) < now - settings.retentionMs()) {
                    forget.add(kv.key);
                }
            }
        }
        forget.forEach(key -> {
            store.delete(key);
            open.remove(key);
        });
    }

    private void publish(String metric, String key, String json) {
        RecordHeaders headers = new RecordHeaders();
        headers.add(METRIC_HEADER, metric.getBytes(StandardCharsets.UTF_8));
        context.forward(new Record<>(key, json, context.currentSystemTimeMs(), headers));
    }
}
