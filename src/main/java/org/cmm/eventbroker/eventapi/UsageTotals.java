package org.cmm.eventbroker.eventapi;

import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * The event API's usage since this instance started, per client, per API (method and path template) and per channel
 * (topic), for the portal's usage page ({@code /portal/usage}): requests, errors, records and bytes in and out, and a
 * latency histogram with fixed buckets ({@link #BOUNDS_MS}), whose percentiles are the upper bound of the bucket the
 * percentile falls in. In memory, per instance; the Prometheus metrics and the usage events on
 * {@code analytics.api.usage} are the durable, cluster-wide record.
 */
final class UsageTotals {

    /** Upper bounds of the latency buckets in ms; the last one catches everything longer. */
    static final long[] BOUNDS_MS = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000, 60000,
            Long.MAX_VALUE};

    /** One client's, API's or channel's totals. */
    static final class Row {
        final String name;
        final LongAdder requests = new LongAdder();
        final LongAdder errors = new LongAdder();
        final LongAdder recordsIn = new LongAdder();
        final LongAdder recordsOut = new LongAdder();
        final LongAdder bytesIn = new LongAdder();
        final LongAdder bytesOut = new LongAdder();
        final AtomicLongArray buckets = new AtomicLongArray(BOUNDS_MS.length);

        Row(String name) {
            this.name = name;
        }

        void add(boolean error, long in, long out, long bytesIn, long bytesOut, long nanos) {
            requests.increment();
            if (error) {
                errors.increment();
            }
            recordsIn.add(in);
            recordsOut.add(out);
            this.bytesIn.add(bytesIn);
            this.bytesOut.add(bytesOut);
            long ms = nanos / 1_000_000;
            for (int i = 0; i < BOUNDS_MS.length; i++) {
                if (ms < BOUNDS_MS[i] || i == BOUNDS_MS.length - 1) {
                    buckets.incrementAndGet(i);
                    break;
                }
            }
        }

        /** The upper bound (ms) of the bucket holding the p-th percentile (0..100), or -1 without requests. */
        long percentileMs(double p) {
            long total = 0;
            for (int i = 0; i < buckets.length(); i++) {
                total += buckets.get(i);
            }
            if (total == 0) {
                return -1;
            }
            long rank = (long) Math.ceil(p / 100.0 * total);
            long seen = 0;
            for (int i = 0; i < buckets.length(); i++) {
                seen += buckets.get(i);
                if (seen >= Math.max(rank, 1)) {
                    return BOUNDS_MS[i];
                }
            }
            return BOUNDS_MS[BOUNDS_MS.length - 1];
        }

        double errorRate() {
            long r = requests.sum();
            return r == 0 ? 0 : (double) errors.sum() / r;
        }
    }

    private final Map<String, Row> clients = new ConcurrentHashMap<>();
    private final Map<String, Row> apis = new ConcurrentHashMap<>();
    private final Map<String, Row> channels = new ConcurrentHashMap<>();

    void record(String client, String api, String topic, int status, long in, long out, long bytesIn, long bytesOut,
            long nanos) {
        boolean error = status >= 400;
        clients.computeIfAbsent(client, Row::new).add(error, in, out, bytesIn, bytesOut, nanos);
        apis.computeIfAbsent(api, Row::new).add(error, in, out, bytesIn, bytesOut, nanos);
        if (topic != null && !topic.isEmpty()) {
            channels.computeIfAbsent(topic, Row::new).add(error, in, out, bytesIn, bytesOut, nanos);
        }
    }

    List<Row> clients() {
        return sorted(clients);
    }

    List<Row> apis() {
        return sorted(apis);
    }

    List<Row> channels() {
        return sorted(channels);
    }

    private static List<Row> sorted(Map<String, Row> rows) {
        return rows.values().stream().sorted(Comparator.comparingLong((Row r) -> -r.requests.sum())
                .thenComparing(r -> r.name)).toList();
    }
}
