package org.cmm.eventbroker.eventapi;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.vertx.ext.web.RoutingContext;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.cmm.eventbroker.platform.security.http.Caller;
import org.cmm.eventbroker.platform.security.http.HttpAccessGuard;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Usage of the event API per client (the token's principal, {@code anonymous} with access control off) and per API
 * (the endpoint's path template, and the topic it served): requests by outcome, records and bytes in and out, and
 * latency, as Prometheus metrics through the runtime's Micrometer registry ({@code cmm_eventapi_requests_total},
 * {@code cmm_eventapi_records_total}, {@code cmm_eventapi_bytes_total}, {@code cmm_eventapi_latency_seconds}); and,
 * every {@code intervalMs}, one usage event per client, API and topic that was used, on the usage topic
 * ({@code analytics.api.usage}) for the Analytics Platform. A stream is counted once, when it ends, with everything it
 * sent. Nothing of a request's content is recorded.
 */
final class ApiUsage {

    private static final Logger LOG = LoggerFactory.getLogger(ApiUsage.class);
    static final String RECORDS_IN = "cmm.eventapi.records.in";
    static final String RECORDS_OUT = "cmm.eventapi.records.out";
    private static final String STARTED = "cmm.eventapi.started";

    private record Key(String client, String api, String topic) {
    }

    private static final class Window {
        final LongAdder requests = new LongAdder();
        final LongAdder errors = new LongAdder();
        final LongAdder recordsIn = new LongAdder();
        final LongAdder recordsOut = new LongAdder();
        final LongAdder bytesIn = new LongAdder();
        final LongAdder bytesOut = new LongAdder();
        final LongAdder nanos = new LongAdder();
    }

    private final MeterRegistry meters;
    private final Map<String, Counter> counters = new ConcurrentHashMap<>();
    private final Map<String, Timer> timers = new ConcurrentHashMap<>();
    private final Map<Key, Window> windows = new ConcurrentHashMap<>();
    private final UsageTotals totals = new UsageTotals();

    ApiUsage(MeterRegistry meters) {
        this.meters = meters;
    }

    /** The first handler of an event API route: notes the start and records the request when its response ends. */
    void begin(RoutingContext ctx) {
        ctx.put(STARTED, System.nanoTime());
        ctx.addEndHandler(v -> {
            try {
                end(ctx);
            } catch (RuntimeException e) {
                LOG.debug("usage not recorded: {}", e.toString());
            }
        });
        ctx.next();
    }

    private void end(RoutingContext ctx) {
        Long started = ctx.get(STARTED);
        long nanos = started == null ? 0 : System.nanoTime() - started;
        Caller caller = ctx.get(HttpAccessGuard.CALLER);
        String client = caller == null ? "anonymous" : caller.name();
        String api = ctx.request().method().name() + " " + (ctx.currentRoute() == null || ctx.currentRoute().getPath()
                == null ? "?" : ctx.currentRoute().getPath());
        String topic = ctx.pathParam("topic") == null ? "" : ctx.pathParam("topic");
        int status = ctx.response().getStatusCode();
        String outcome = status < 400 ? "ok" : status < 500 ? "client_error" : "server_error";
        long in = value(ctx.get(RECORDS_IN));
        long out = value(ctx.get(RECORDS_OUT));
        long bytesIn = ctx.request().bytesRead();
        long bytesOut = ctx.response().bytesWritten();
        if (meters != null) {
            counter("cmm.eventapi.requests", "Event API requests per client, API, topic and outcome", client, api, topic,
                    "outcome", outcome).increment();
            if (in > 0) {
                counter("cmm.eventapi.records", "Records produced (in) and read (out) per client, API and topic", client,
                        api, topic, "direction", "in").increment(in);
            }
            if (out > 0) {
                counter("cmm.eventapi.records", "Records produced (in) and read (out) per client, API and topic", client,
                        api, topic, "direction", "out").increment(out);
            }
            counter("cmm.eventapi.bytes", "HTTP bytes received (in) and sent (out) per client, API and topic", client,
                    api, topic, "direction", "in").increment(bytesIn);
            counter("cmm.eventapi.bytes", "HTTP bytes received (in) and sent (out) per client, API and topic", client,
                    api, topic, "direction", "out").increment(bytesOut);
            timers.computeIfAbsent(api, a -> Timer.builder("cmm.eventapi.latency")
                    .description("Event API request latency (for streams: their duration)").tag("api", a)
                    .publishPercentileHistogram().register(meters)).record(nanos, TimeUnit.NANOSECONDS);
        }
        totals.record(client, api, topic, status, in, out, bytesIn, bytesOut, nanos);
        window(client, api, topic, status, in, out, bytesIn, bytesOut, nanos);
    }

    /** Adds one request to the current usage window of its client, API and topic (published by {@link #publish}). */
    void window(String client, String api, String topic, int status, long in, long out, long bytesIn, long bytesOut,
            long nanos) {
        Window w = windows.computeIfAbsent(new Key(client, api, topic), k -> new Window());
        w.requests.increment();
        if (status >= 400) {
            w.errors.increment();
        }
        w.recordsIn.add(in);
        w.recordsOut.add(out);
        w.bytesIn.add(bytesIn);
        w.bytesOut.add(bytesOut);
        w.nanos.add(nanos);
    }

    /** The totals since start, for the portal's usage page. */
    UsageTotals totals() {
        return totals;
    }

    private Counter counter(String name, String description, String client, String api, String topic, String tag,
            String value) {
        return counters.computeIfAbsent(name + '|' + client + '|' + api + '|' + topic + '|' + value,
                k -> Counter.builder(name).description(description).tag("client", client).tag("api", api)
                        .tag("topic", topic).tag(tag, value).register(meters));
    }

    /** Publishes one usage event per client, API and topic used since the last call, and starts a new window. */
    void publish(Producer<String, byte[]> producer, String usageTopic, Instant from, Instant to) {
        for (ProducerRecord<String, byte[]> record : drain(usageTopic, from, to)) {
            producer.send(record, (m, e) -> {
                if (e != null) {
                    LOG.warn("Usage event not written to {}: {}", usageTopic, e.getClass().getSimpleName());
                }
            });
        }
    }

    /** The usage events of the window since the last call (one per client, API and topic), which it ends. */
    List<ProducerRecord<String, byte[]>> drain(String usageTopic, Instant from, Instant to) {
        List<ProducerRecord<String, byte[]>> records = new java.util.ArrayList<>();
        for (Key key : windows.keySet()) {
            Window w = windows.remove(key);
            if (w == null || w.requests.sum() == 0) {
                continue;
            }
            ObjectNode event = RecordCodec.JSON.createObjectNode();
            event.put("client", key.client()).put("api", key.api()).put("topic", key.topic())
                    .put("from", from.toString()).put("to", to.toString())
                    .put("requests", w.requests.sum()).put("errors", w.errors.sum())
                    .put("records_in", w.recordsIn.sum()).put("records_out", w.recordsOut.sum())
                    .put("bytes_in", w.bytesIn.sum()).put("bytes_out", w.bytesOut.sum())
                    .put("mean_latency_ms", w.nanos.sum() / 1_000_000.0 / w.requests.sum());
            ProducerRecord<String, byte[]> record = new ProducerRecord<>(usageTopic, key.client(),
                    event.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
            record.headers().add("ce_type", usageTopic.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            record.headers().add("ce_source", "cmm-event-broker/event-api".getBytes(java.nio.charset.StandardCharsets.UTF_8));
            record.headers().add("content-type", "application/json".getBytes(java.nio.charset.StandardCharsets.UTF_8));
            records.add(record);
        }
        return records;
    }

    private static long value(Object o) {
        return o instanceof Number n ? n.longValue() : 0;
    }
}
