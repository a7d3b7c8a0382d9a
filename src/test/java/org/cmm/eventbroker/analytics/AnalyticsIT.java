package org.cmm.eventbroker.analytics;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.cmm.eventbroker.platform.kafka.TopicsToEnd;
import org.cmm.eventbroker.testsupport.DevToolsBrowser;
import org.cmm.eventbroker.testsupport.MllpTestClient;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.cmm.eventbroker.testsupport.TestPeers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The streaming analytics end to end: a generated ADT stream (admissions, transfers, discharges, cancels, resent
 * duplicates, events out of order, bad input) through the real MLLP listener (flow hl7-mllp-inbound) into Kafka, the
 * analytics Streams application of the runtime (flows analytics-queries and analytics-dashboard), and its results on
 * the analytics.realtime.* topics and at /analytics/*, compared with {@link AnalyticsOracle}: halfway, after a restart
 * of the runtime with an empty state folder (state rebuilt from the changelog topics), and at the end. Then the live
 * dashboard in headless Chromium: it shows those numbers and follows a new admission without a reload.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AnalyticsIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long WINDOW = 3_600_000L;
    private static final long ADVANCE = 900_000L;

    private Path folder;

    private RuntimeUnderTest env;
    private final HttpClient http = HttpClient.newHttpClient();
    private final List<AdtStream.Message> sent = new ArrayList<>();

    @BeforeAll
    void start() throws Exception {
        folder = Files.createTempDirectory("analytics-it");
        env = RuntimeUnderTest.flows("hl7-mllp-inbound", "analytics-queries", "analytics-dashboard").with(Map.of(
                "cmm.analytics.state-dir", folder.resolve("state-1").toString(),
                "cmm.analytics.wards", String.join(",", AdtStream.WARDS),
                "cmm.analytics.patient-flow.grace-ms", "1000",
                "cmm.analytics.wait-times.grace-ms", "1000",
                "cmm.analytics.punctuation-interval-ms", "500",
                "cmm.analytics.session-timeout-ms", "6000",
                "cmm.analytics.dashboard.refresh-ms", "300",
                "cmm.analytics.dashboard.stream-max-ms", "8000")).start();
    }

    @AfterAll
    void stop() throws Exception {
        if (env != null) {
            env.close();
        }
    }

    @Test
    @Order(1)
    void streamsResultsEqualTheOracleBeforeAndAfterARestartWithStateFromTheChangelogs() throws Exception {
        List<AdtStream.Message> stream = new AdtStream(2026, System.currentTimeMillis()).generate("IT", 40);
        int half = stream.size() / 2;
        send(stream.subList(0, half));
        AnalyticsOracle.Expected firstHalf = expected();
        awaitEndpointsEqual(firstHalf);

        // restart with an empty state folder: the stores come back from their changelog topics
        env.stopRuntime();
        env.startRuntime(Map.of("cmm.analytics.state-dir", folder.resolve("state-2").toString()));
        awaitEndpointsEqual(firstHalf);

        send(stream.subList(half, stream.size()));
        AnalyticsOracle.Expected all = expected();
        assertFalse(all.occupiedPerWard().isEmpty(), "patients remain in beds");
        assertFalse(all.percentiles().isEmpty(), "ED waits ended");
        awaitEndpointsEqual(all);

        // the topics: the last event per key is the oracle's value; every flow hour is closed by the wall clock
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
            Map<String, JsonNode> census = lastPerKey("analytics.realtime.bed-occupancy");
            Map<String, Integer> occupied = new TreeMap<>();
            census.forEach((ward, w) -> {
                if (w.path("occupied").asInt() != 0) {
                    occupied.put(ward, w.path("occupied").asInt());
                }
            });
            assertEquals(all.occupiedPerWard(), occupied);
            Map<String, JsonNode> flows = lastPerKey("analytics.realtime.patient-flow");
            assertEquals(all.flows(), flows(flows.values()));
            assertTrue(flows.values().stream().allMatch(f -> f.path("final").asBoolean()),
                    "every hour of the stream is past: published as final without further traffic");
            assertEquals(all.percentiles(), waits(lastPerKey("analytics.realtime.wait-times").values()));
        });

        // the bad input: dead-lettered untouched with its reason, never counted
        List<ConsumerRecord<String, byte[]>> dead = readCommitted("analytics.dlq");
        List<String> badIds = stream.stream().filter(m -> m.badKind() != null).map(AdtStream.Message::controlId).toList();
        assertEquals(badIds.size(), dead.size());
        for (ConsumerRecord<String, byte[]> r : dead) {
            String body = new String(r.value(), StandardCharsets.ISO_8859_1);
            assertTrue(badIds.stream().anyMatch(id -> body.contains("|" + id + "|")), "an expected bad message");
            assertFalse(header(r, "dlq_reason").isBlank());
            assertTrue(header(r, "dlq_original_topic").startsWith("hl7.adt."));
        }
        AnalyticsStreams analytics = env.runtime().camelContext().getRegistry().lookupByNameAndType("analyticsStreams",
                AnalyticsStreams.class);
        assertTrue(analytics.rejectedCounts().values().stream().mapToLong(Long::longValue).sum() > 0,
                "rejections are counted");
    }

    @Test
    @Order(2)
    void dashboardShowsTheNumbersAndFollowsANewAdmissionLiveInHeadlessChromium() throws Exception {
        Path chromium = TestPeers.require("chromium");
        AnalyticsOracle.Expected all = expected();
        awaitEndpointsEqual(all);
        String url = "http://127.0.0.1:" + env.httpPort() + "/dashboard/";
        try (DevToolsBrowser browser = DevToolsBrowser.open(chromium, folder.resolve("chromium"), url)) {
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300)).untilAsserted(() ->
                    assertEquals(all.occupiedPerWard(), shownCensus(browser)));
            browser.evaluate("window.loadedOnce = 'yes'");
            for (Map.Entry<String, List<Long>> p : latestWindows(all).entrySet()) {
                String d = p.getKey();
                assertEquals(String.valueOf(p.getValue().get(0)), shown(browser, "department", d, "count"));
                assertEquals(DashboardView.minutes(p.getValue().get(1) / 60_000.0), shown(browser, "department", d, "p50"));
                assertEquals(DashboardView.minutes(p.getValue().get(2) / 60_000.0), shown(browser, "department", d, "p90"));
            }

            // one more admission: the page follows over server-sent events, without a reload
            long now = System.currentTimeMillis() - 60_000L;
            AdtStream.Message admission = new AdtStream.Message("ITLIVE1", "LIVE1", "A01", now, now, "I", "ICU",
                    "9-B", "", "", null, AdtStream.er7("HOSP", "ITLIVE1", "LIVE1", "A01", now, now, "I", "ICU",
                            "9-B", "", "", ""));
            send(List.of(admission));
            Map<String, Integer> expectedCensus = expected().occupiedPerWard();
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300)).untilAsserted(() ->
                    assertEquals(expectedCensus, shownCensus(browser)));
            assertEquals("yes", browser.evaluate("window.loadedOnce"), "the page was not reloaded");
            assertTrue(Integer.parseInt(browser.evaluate("document.getElementById('link').dataset.updates")) > 0,
                    "updated by server-sent events");

            // each event stream ends after stream-max-ms (8 s here) and the page opens it again by itself
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300)).untilAsserted(() ->
                    assertTrue(Integer.parseInt(browser.evaluate("document.getElementById('link').dataset.opens || '0'"))
                            >= 2, "the event stream was opened again after it ended"));
            assertEquals(expectedCensus, shownCensus(browser));
            System.out.println("dashboard event stream: " + browser.evaluate("document.getElementById('link').textContent")
                    + ", opened " + browser.evaluate("document.getElementById('link').dataset.opens") + " time(s), "
                    + browser.evaluate("document.getElementById('link').dataset.updates") + " update(s)");
            Path desktop = Path.of("target", "analytics-dashboard.png");
            browser.screenshot(desktop);
            assertTrue(Files.size(desktop) > 10_000, "a screenshot was taken");
            // readable on a phone: no horizontal scrolling at 390 px
            browser.viewport(390, 844, true);
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertTrue(Integer.parseInt(browser.evaluate(
                    "String(document.documentElement.scrollWidth)")) <= 390, "fits a 390 px wide screen"));
            browser.screenshot(Path.of("target", "analytics-dashboard-phone.png"));
        }
    }

    // ---- helpers

    private void send(List<AdtStream.Message> messages) throws Exception {
        try (MllpTestClient mllp = new MllpTestClient(env.mllpPort())) {
            for (AdtStream.Message m : messages) {
                String ack = mllp.sendAndReceive(m.er7());
                assertTrue(ack.contains("MSA|AA|"), "accepted by the MLLP flow: " + m.controlId());
                sent.add(m);
            }
        }
    }

    private AnalyticsOracle.Expected expected() {
        return AnalyticsOracle.compute(sent, Set.of("E"), WINDOW, ADVANCE);
    }

    private void awaitEndpointsEqual(AnalyticsOracle.Expected expected) {
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
            Map<String, Integer> occupied = new TreeMap<>();
            for (JsonNode w : get("/analytics/bed-occupancy")) {
                occupied.put(w.path("ward").asText(), w.path("occupied").asInt());
            }
            assertEquals(expected.occupiedPerWard(), occupied);
            assertEquals(expected.flows(), flows(iterable(get("/analytics/patient-flow"))));
            assertEquals(expected.percentiles(), waits(iterable(get("/analytics/wait-times"))));
        });
    }

    private JsonNode get(String path) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + env.httpPort() + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), path + ": " + r.body());
        return JSON.readTree(r.body());
    }

    private static Iterable<JsonNode> iterable(JsonNode array) {
        List<JsonNode> l = new ArrayList<>();
        array.forEach(l::add);
        return l;
    }

    private static Map<String, List<Long>> flows(Iterable<JsonNode> rows) {
        Map<String, List<Long>> m = new TreeMap<>();
        for (JsonNode f : rows) {
            List<Long> v = List.of(f.get("admissions").asLong(), f.get("discharges").asLong(), f.get("transfersIn").asLong(),
                    f.get("transfersOut").asLong(), f.get("lengthOfStayCount").asLong(),
                    f.get("lengthOfStayTotalMinutes").asLong());
            if (v.get(0) + v.get(1) + v.get(2) + v.get(3) + v.get(4) != 0) {
                m.put(f.get("unit").asText() + "|" + f.get("hourStartMs").asLong(), v);
            }
        }
        return m;
    }

    private static Map<String, List<Long>> waits(Iterable<JsonNode> rows) {
        Map<String, List<Long>> m = new TreeMap<>();
        for (JsonNode w : rows) {
            if (w.path("count").asInt() > 0) {
                m.put(w.get("department").asText() + "|" + w.get("windowStartMs").asLong(), List.of(w.get("count").asLong(),
                        Math.round(w.get("p50Minutes").asDouble() * 60_000), Math.round(w.get("p90Minutes").asDouble() * 60_000)));
            }
        }
        return m;
    }

    /** Per department, the oracle's latest window with waits: what the dashboard shows. */
    private static Map<String, List<Long>> latestWindows(AnalyticsOracle.Expected expected) {
        Map<String, List<Long>> latest = new TreeMap<>();
        Map<String, Long> start = new TreeMap<>();
        expected.percentiles().forEach((k, v) -> {
            String d = k.substring(0, k.lastIndexOf('|'));
            long s = Long.parseLong(k.substring(k.lastIndexOf('|') + 1));
            if (!start.containsKey(d) || start.get(d) < s) {
                start.put(d, s);
                latest.put(d, v);
            }
        });
        return latest;
    }

    private Map<String, JsonNode> lastPerKey(String topic) throws Exception {
        Map<String, JsonNode> last = new LinkedHashMap<>();
        for (ConsumerRecord<String, byte[]> r : readCommitted(topic)) {
            last.put(r.key(), JSON.readTree(r.value()));
        }
        return last;
    }

    /** What a downstream consumer of the transactional output sees (read_committed). */
    private List<ConsumerRecord<String, byte[]>> readCommitted(String topic) {
        List<ConsumerRecord<String, byte[]>> records = new ArrayList<>();
        try (KafkaConsumer<String, byte[]> consumer = KafkaClients.forBootstrap(env.bootstrapServers())
                .consumer("analytics-it", null, Map.of("isolation.level", "read_committed"))) {
            TopicsToEnd.read(consumer, List.of(topic), 0, Duration.ofSeconds(30), records::add);
        }
        return records;
    }

    private static String header(ConsumerRecord<?, ?> r, String name) {
        return r.headers().lastHeader(name) == null ? "" : new String(r.headers().lastHeader(name).value(),
                StandardCharsets.UTF_8);
    }

    private static Map<String, Integer> shownCensus(DevToolsBrowser browser) throws Exception {
        String pairs = browser.evaluate("Array.from(document.querySelectorAll('[data-ward][data-metric=occupied]'))"
                + ".map(e => e.dataset.ward + '=' + e.textContent).join(';')");
        Map<String, Integer> m = new TreeMap<>();
        if (!pairs.isEmpty()) {
            for (String p : pairs.split(";")) {
                m.put(p.substring(0, p.indexOf('=')), Integer.parseInt(p.substring(p.indexOf('=') + 1)));
            }
        }
        return m;
    }

    private static String shown(DevToolsBrowser browser, String kind, String name, String metric) throws Exception {
        return browser.evaluate("(document.querySelector('[data-" + kind + "=\"" + name + "\"][data-metric=\"" + metric
                + "\"]') || {textContent: ''}).textContent");
    }
}
