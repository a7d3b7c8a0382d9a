package org.cmm.eventbroker.eventapi;

import java.time.Instant;
import java.util.List;
import java.util.Locale;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The portal's usage summary ({@code GET /portal/usage}; the same figures as JSON at {@code GET /portal/api/usage}):
 * per client, per API and per channel, requests, error rate, records and bytes in and out and latency percentiles, as
 * tables and server-side SVG bar charts (no script, no external library). The figures are this instance's since it
 * started ({@link UsageTotals}).
 */
final class UsagePage {

    private static final String[] COLUMNS = {"requests", "errors", "error rate", "records in", "records out",
            "bytes in", "bytes out", "p50 ms", "p95 ms", "p99 ms"};

    private UsagePage() {
    }

    static String html(UsageTotals totals) {
        StringBuilder b = new StringBuilder(8192);
        b.append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Event API usage</title><style>")
                .append("body{font-family:sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse;margin:.5em 0 1.5em}")
                .append("td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}td:first-child,th:first-child")
                .append("{text-align:left}th{background:#f3f3f3}svg text{font:12px sans-serif}.ok{fill:#3a7bd5}")
                .append(".err{fill:#d9534f}</style></head><body><h1>Event API usage</h1><p>Since this instance started, as of ")
                .append(Instant.now()).append(". Latency percentiles are the upper bound of their histogram bucket. ")
                .append("<a href=\"/portal/\">Portal</a> · <a href=\"/portal/api/usage\">JSON</a></p>");
        section(b, "clients", "Per client", totals.clients());
        section(b, "apis", "Per API", totals.apis());
        section(b, "channels", "Per channel", totals.channels());
        return b.append("</body></html>").toString();
    }

    private static void section(StringBuilder b, String id, String title, List<UsageTotals.Row> rows) {
        b.append("<section id=\"").append(id).append("\"><h2>").append(title).append("</h2>");
        if (rows.isEmpty()) {
            b.append("<p>No requests yet.</p></section>");
            return;
        }
        chart(b, id, rows);
        b.append("<table><tr><th>").append(id.equals("clients") ? "client" : id.equals("apis") ? "API" : "channel")
                .append("</th>");
        for (String c : COLUMNS) {
            b.append("<th>").append(c).append("</th>");
        }
        b.append("</tr>");
        for (UsageTotals.Row r : rows) {
            b.append("<tr data-name=\"").append(escape(r.name)).append("\"><td>").append(escape(r.name)).append("</td>");
            cell(b, "requests", Long.toString(r.requests.sum()));
            cell(b, "errors", Long.toString(r.errors.sum()));
            cell(b, "error-rate", String.format(Locale.ROOT, "%.1f%%", 100 * r.errorRate()));
            cell(b, "records-in", Long.toString(r.recordsIn.sum()));
            cell(b, "records-out", Long.toString(r.recordsOut.sum()));
            cell(b, "bytes-in", Long.toString(r.bytesIn.sum()));
            cell(b, "bytes-out", Long.toString(r.bytesOut.sum()));
            cell(b, "p50", ms(r.percentileMs(50)));
            cell(b, "p95", ms(r.percentileMs(95)));
            cell(b, "p99", ms(r.percentileMs(99)));
            b.append("</tr>");
        }
        b.append("</table></section>");
    }

    /** Horizontal bars: requests per row, the erroneous part in red. */
    private static void chart(StringBuilder b, String id, List<UsageTotals.Row> rows) {
        long max = rows.stream().mapToLong(r -> r.requests.sum()).max().orElse(1);
        int labelWidth = 360;
        int barWidth = 480;
        int height = rows.size() * 22 + 10;
        b.append("<svg id=\"chart-").append(id).append("\" width=\"").append(labelWidth + barWidth + 80)
                .append("\" height=\"").append(height).append("\" role=\"img\" aria-label=\"requests per ")
                .append(id).append("\">");
        int y = 5;
        for (UsageTotals.Row r : rows) {
            long requests = r.requests.sum();
            long errors = r.errors.sum();
            int ok = (int) Math.round((double) (requests - errors) / max * barWidth);
            int err = (int) Math.round((double) errors / max * barWidth);
            String label = r.name.length() > 55 ? r.name.substring(0, 54) + "…" : r.name;
            b.append("<text x=\"0\" y=\"").append(y + 13).append("\">").append(escape(label)).append("</text>")
                    .append("<rect class=\"ok\" x=\"").append(labelWidth).append("\" y=\"").append(y)
                    .append("\" width=\"").append(ok).append("\" height=\"16\"/>")
                    .append("<rect class=\"err\" x=\"").append(labelWidth + ok).append("\" y=\"").append(y)
                    .append("\" width=\"").append(err).append("\" height=\"16\"/>")
                    .append("<text x=\"").append(labelWidth + ok + err + 6).append("\" y=\"").append(y + 13)
                    .append("\">").append(requests).append(errors > 0 ? " (" + errors + " errors)" : "")
                    .append("</text>");
            y += 22;
        }
        b.append("</svg>");
    }

    static ObjectNode json(UsageTotals totals) {
        ObjectNode out = RecordCodec.JSON.createObjectNode().put("kind", "ApiUsage").put("as_of", Instant.now().toString());
        rows(out.putArray("clients"), totals.clients());
        rows(out.putArray("apis"), totals.apis());
        rows(out.putArray("channels"), totals.channels());
        return out;
    }

    private static void rows(ArrayNode array, List<UsageTotals.Row> rows) {
        for (UsageTotals.Row r : rows) {
            array.addObject().put("name", r.name).put("requests", r.requests.sum()).put("errors", r.errors.sum())
                    .put("error_rate", r.errorRate()).put("records_in", r.recordsIn.sum())
                    .put("records_out", r.recordsOut.sum()).put("bytes_in", r.bytesIn.sum())
                    .put("bytes_out", r.bytesOut.sum()).put("p50_ms", r.percentileMs(50))
                    .put("p95_ms", r.percentileMs(95)).put("p99_ms", r.percentileMs(99));
        }
    }

    private static void cell(StringBuilder b, String metric, String value) {
        b.append("<td data-metric=\"").append(metric).append("\">").append(value).append("</td>");
    }

    private static String ms(long ms) {
        return ms < 0 ? "-" : ms == Long.MAX_VALUE ? "&gt;60000" : "&le;" + ms;
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
