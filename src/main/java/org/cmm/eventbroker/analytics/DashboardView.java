package org.cmm.eventbroker.analytics;

import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Renders the dashboard's content (census per ward, flow per hour, wait-time percentiles) as one line of HTML with
 * server-side SVG bar charts: the page shows it at load and replaces it with each server-sent event, so the browser
 * needs no chart library and nothing from the network but this server. Numbers carry data-* attributes (which ward,
 * unit or department and which metric) so they can be read by a test or a screen reader's table navigation.
 */
public final class DashboardView {

    /** How many of the most recent hours the flow chart shows. */
    static final int FLOW_HOURS = 12;

    private final ZoneId zone;
    private final DateTimeFormatter hourFormat = DateTimeFormatter.ofPattern("dd MMM HH:mm", Locale.ROOT);

    public DashboardView(ZoneId zone) {
        this.zone = zone;
    }

    /** The dashboard's content, without line breaks (one server-sent event data line). */
    public String render(JsonNode census, JsonNode flows, JsonNode waits) {
        StringBuilder html = new StringBuilder(4096);
        census(html, census);
        flow(html, flows);
        waits(html, waits);
        return html.toString().replace('\n', ' ').replace('\r', ' ');
    }

    private void census(StringBuilder html, JsonNode census) {
        html.append("<section class=\"card\" id=\"census\"><h2>Bed occupancy</h2>");
        if (census.isEmpty()) {
            html.append("<p class=\"empty\">No patient in a ward.</p></section>");
            return;
        }
        int max = 1;
        int total = 0;
        for (JsonNode w : census) {
            max = Math.max(max, w.path("occupied").asInt());
            total += w.path("occupied").asInt();
        }
        html.append("<p class=\"kpi\">Patients in beds: <strong data-metric=\"census-total\">").append(total)
                .append("</strong></p>");
        html.append(bars(census, "ward", "occupied", max, "census"));
        html.append("<table><thead><tr><th>Ward</th><th>Occupied</th><th>Beds in use</th></tr></thead><tbody>");
        for (JsonNode w : census) {
            String ward = esc(w.path("ward").asText());
            html.append("<tr><td>").append(ward).append("</td><td data-ward=\"").append(ward)
                    .append("\" data-metric=\"occupied\">").append(w.path("occupied").asInt()).append("</td><td>")
                    .append(w.path("beds").size()).append("</td></tr>");
        }
        html.append("</tbody></table></section>");
    }

    private void flow(StringBuilder html, JsonNode flows) {
        html.append("<section class=\"card\" id=\"flow\"><h2>Patient flow per hour</h2>");
        if (flows.isEmpty()) {
            html.append("<p class=\"empty\">No admission, transfer or discharge yet.</p></section>");
            return;
        }
        TreeSet<Long> hours = new TreeSet<>();
        flows.forEach(f -> hours.add(f.path("hourStartMs").asLong()));
        List<Long> shown = new ArrayList<>(hours.descendingSet()).subList(0, Math.min(FLOW_HOURS, hours.size()));
        long first = shown.get(shown.size() - 1);
        Map<Long, int[]> perHour = new TreeMap<>();
        Map<String, long[]> perUnit = new TreeMap<>();
        for (JsonNode f : flows) {
            long h = f.path("hourStartMs").asLong();
            if (h < first) {
                continue;
            }
            int[] hour = perHour.computeIfAbsent(h, k -> new int[2]);
            hour[0] += f.path("admissions").asInt();
            hour[1] += f.path("discharges").asInt();
            long[] unit = perUnit.computeIfAbsent(f.path("unit").asText(), k -> new long[6]);
            unit[0] += f.path("admissions").asInt();
            unit[1] += f.path("discharges").asInt();
            unit[2] += f.path("transfersIn").asInt();
            unit[3] += f.path("transfersOut").asInt();
            unit[4] += f.path("lengthOfStayCount").asInt();
            unit[5] += f.path("lengthOfStayTotalMinutes").asLong();
        }
        html.append(hourChart(perHour));
        html.append("<table><thead><tr><th>Unit</th><th>Admissions</th><th>Discharges</th><th>Transfers in</th>"
                + "<th>Transfers out</th><th>Mean stay (h)</th></tr></thead><tbody>");
        perUnit.forEach((unit, n) -> {
            String u = esc(unit);
            html.append("<tr><td>").append(u).append("</td>");
            cell(html, "unit", u, "admissions", String.valueOf(n[0]));
            cell(html, "unit", u, "discharges", String.valueOf(n[1]));
            cell(html, "unit", u, "transfers-in", String.valueOf(n[2]));
            cell(html, "unit", u, "transfers-out", String.valueOf(n[3]));
            cell(html, "unit", u, "mean-stay-hours", n[4] == 0 ? "-"
                    : String.format(Locale.ROOT, "%.1f", n[5] / (double) n[4] / 60.0));
            html.append("</tr>");
        });
        html.append("</tbody></table><p class=\"note\">Last ").append(shown.size())
                .append(" hour(s) with movements, from ").append(esc(hourFormat.format(Instant.ofEpochMilli(first)
                        .atZone(zone)))).append(".</p></section>");
    }

    private void waits(StringBuilder html, JsonNode waits) {
        html.append("<section class=\"card\" id=\"waits\"><h2>ED wait times</h2>");
        // the latest window with waits per department
        Map<String, JsonNode> latest = new LinkedHashMap<>();
        for (JsonNode w : waits) {
            if (w.path("count").asInt() == 0) {
                continue;
            }
            JsonNode seen = latest.get(w.path("department").asText());
            if (seen == null || seen.path("windowStartMs").asLong() < w.path("windowStartMs").asLong()) {
                latest.put(w.path("department").asText(), w);
            }
        }
        if (latest.isEmpty()) {
            html.append("<p class=\"empty\">No ED wait ended yet.</p></section>");
            return;
        }
        double max = 1;
        for (JsonNode w : latest.values()) {
            max = Math.max(max, w.path("p90Minutes").asDouble());
        }
        int y = 0;
        StringBuilder svg = new StringBuilder();
        for (JsonNode w : latest.values()) {
            String d = esc(w.path("department").asText());
            svg.append("<text x=\"0\" y=\"").append(y + 14).append("\">").append(d).append("</text>");
            bar(svg, y + 2, w.path("p50Minutes").asDouble() / max, "p50");
            bar(svg, y + 14, w.path("p90Minutes").asDouble() / max, "p90");
            y += 32;
        }
        html.append("<svg class=\"chart\" viewBox=\"0 0 400 ").append(y).append("\" role=\"img\" aria-label=\"p50 and p90 ED"
                + " wait per department\">").append(svg).append("</svg><p class=\"legend\"><span class=\"p50\"></span>p50 "
                + "<span class=\"p90\"></span>p90 (latest window with waits)</p>");
        html.append("<table><thead><tr><th>Department</th><th>Waits</th><th>p50 (min)</th><th>p90 (min)</th>"
                + "<th>Window</th></tr></thead><tbody>");
        for (JsonNode w : latest.values()) {
            String d = esc(w.path("department").asText());
            html.append("<tr><td>").append(d).append("</td>");
            cell(html, "department", d, "count", String.valueOf(w.path("count").asInt()));
            cell(html, "department", d, "p50", minutes(w.path("p50Minutes").asDouble()));
            cell(html, "department", d, "p90", minutes(w.path("p90Minutes").asDouble()));
            html.append("<td>").append(esc(hourFormat.format(Instant.ofEpochMilli(w.path("windowStartMs").asLong())
                    .atZone(zone)))).append(" - ").append(esc(hourFormat.format(Instant.ofEpochMilli(
                    w.path("windowEndMs").asLong()).atZone(zone)))).append("</td></tr>");
        }
        html.append("</tbody></table></section>");
    }

    /** Minutes as the dashboard shows them (one decimal). */
    public static String minutes(double minutes) {
        return String.format(Locale.ROOT, "%.1f", minutes);
    }

    private static void cell(StringBuilder html, String kind, String name, String metric, String value) {
        html.append("<td data-").append(kind).append("=\"").append(name).append("\" data-metric=\"").append(metric)
                .append("\">").append(value).append("</td>");
    }

    private static String bars(JsonNode rows, String label, String value, int max, String css) {
        StringBuilder svg = new StringBuilder();
        int y = 0;
        for (JsonNode r : rows) {
            svg.append("<text x=\"0\" y=\"").append(y + 14).append("\">").append(esc(r.path(label).asText()))
                    .append("</text>");
            bar(svg, y + 2, r.path(value).asDouble() / max, css);
            svg.append("<text class=\"v\" x=\"396\" y=\"").append(y + 14).append("\" text-anchor=\"end\">")
                    .append(r.path(value).asInt()).append("</text>");
            y += 22;
        }
        return "<svg class=\"chart\" viewBox=\"0 0 400 " + y + "\" role=\"img\" aria-label=\"occupied beds per ward\">"
                + svg + "</svg>";
    }

    private static void bar(StringBuilder svg, int y, double fraction, String css) {
        long width = Math.max(1, Math.round(Math.min(1.0, fraction) * 250));
        svg.append("<rect class=\"").append(css).append("\" x=\"110\" y=\"").append(y).append("\" width=\"").append(width)
                .append("\" height=\"14\" rx=\"2\"/>");
    }

    private String hourChart(Map<Long, int[]> perHour) {
        int max = 1;
        for (int[] n : perHour.values()) {
            max = Math.max(max, Math.max(n[0], n[1]));
        }
        int width = Math.max(1, perHour.size()) * 40;
        StringBuilder svg = new StringBuilder();
        int x = 0;
        DateTimeFormatter hh = DateTimeFormatter.ofPattern("HH", Locale.ROOT);
        for (Map.Entry<Long, int[]> e : perHour.entrySet()) {
            int a = (int) Math.round(e.getValue()[0] * 100.0 / max);
            int d = (int) Math.round(e.getValue()[1] * 100.0 / max);
            svg.append("<rect class=\"admissions\" x=\"").append(x + 6).append("\" y=\"").append(110 - a)
                    .append("\" width=\"13\" height=\"").append(a).append("\"/>");
            svg.append("<rect class=\"discharges\" x=\"").append(x + 21).append("\" y=\"").append(110 - d)
                    .append("\" width=\"13\" height=\"").append(d).append("\"/>");
            svg.append("<text x=\"").append(x + 20).append("\" y=\"126\" text-anchor=\"middle\">")
                    .append(hh.format(Instant.ofEpochMilli(e.getKey()).atZone(zone))).append("</text>");
            x += 40;
        }
        return "<svg class=\"chart\" viewBox=\"0 0 " + width + " 130\" role=\"img\" aria-label=\"admissions and discharges"
                + " per hour\">" + svg + "</svg><p class=\"legend\"><span class=\"admissions\"></span>admissions "
                + "<span class=\"discharges\"></span>discharges</p>";
    }

    private static String esc(String s) {
        StringBuilder out = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            switch (c) {
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '&' -> out.append("&amp;");
                case '"' -> out.append("&quot;");
                case '\'' -> out.append("&#39;");
                default -> out.append(c);
            }
        }
        return out.toString();
    }
}
