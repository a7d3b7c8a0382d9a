package org.cmm.eventbroker.eventapi;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.cmm.eventbroker.testsupport.TestPeers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The portal's usage page (/portal/usage) in headless Chromium after known traffic (development posture): the figures
 * per API and per channel are exactly what the test's requests imply (requests, errors, error rate, records in and
 * out), the charts are there, latency percentiles are given, and a screenshot is kept as target/portal-usage.png.
 */
class ApiUsagePageIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String PRODUCE = "POST /v3/clusters/:cluster_id/topics/:topic/records";
    private static final String READ = "GET /v3/clusters/:cluster_id/topics/:topic/records";
    private static RuntimeUnderTest env;
    private static HttpClient http;
    private static String base;

    @BeforeAll
    static void start() throws Exception {
        env = RuntimeUnderTest.flows("event-api").start();
        try (Admin admin = KafkaClients.forBootstrap(env.bootstrapServers()).admin("usage-page-it", Map.of())) {
            admin.createTopics(List.of(new NewTopic("usage.orders", 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
        }
        http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        base = "http://127.0.0.1:" + env.httpPort();
    }

    @AfterAll
    static void stop() throws Exception {
        if (env != null) {
            env.close();
        }
    }

    @Test
    void theUsagePageShowsWhatTheTrafficImpliesPerApiAndChannel() throws Exception {
        String cluster = JSON.readTree(send("GET", "/v3/clusters", null, 200)).path("data").get(0).path("cluster_id")
                .asText();
        String records = "/v3/clusters/" + cluster + "/topics/usage.orders/records";
        // 3 good produce requests carrying 4 records (one carries two: the proxy's streaming mode), 2 malformed ones
        send("POST", records, "{\"value\":{\"type\":\"JSON\",\"data\":{\"n\":1}}}"
                + "{\"value\":{\"type\":\"JSON\",\"data\":{\"n\":2}}}", 200);
        send("POST", records, "{\"value\":{\"type\":\"JSON\",\"data\":{\"n\":3}}}", 200);
        send("POST", records, "{\"value\":{\"type\":\"STRING\",\"data\":\"four\"}}", 200);
        send("POST", records, "{\"value\":", 400);
        send("POST", records, "[1,2", 400);
        // 1 read returning the 4 records
        JsonNode page = JSON.readTree(send("GET", records + "?max=10&timeout_ms=2000", null, 200));
        assertEquals(4, page.path("data").size());

        String chromium = TestPeers.require("chromium").toString();
        Path profile = Files.createTempDirectory("chromium-usage");
        String dom = chromium(chromium, profile.resolve("a"), "--dump-dom", base + "/portal/usage");
        Map<String, String> produce = row(dom, "apis", PRODUCE);
        assertEquals("5", produce.get("requests"), dom);
        assertEquals("2", produce.get("errors"));
        assertEquals("40.0%", produce.get("error-rate"));
        assertEquals("4", produce.get("records-in"));
        assertEquals("0", produce.get("records-out"));
        assertTrue(Long.parseLong(produce.get("bytes-in")) > 0);
        Map<String, String> read = row(dom, "apis", READ);
        assertEquals("1", read.get("requests"));
        assertEquals("0.0%", read.get("error-rate"));
        assertEquals("4", read.get("records-out"));
        assertTrue(read.get("p50").startsWith("≤") && read.get("p99").startsWith("≤"), read.toString());
        Map<String, String> channel = row(dom, "channels", "usage.orders");
        assertEquals("6", channel.get("requests"));
        assertEquals("2", channel.get("errors"));
        assertEquals("33.3%", channel.get("error-rate"));
        assertEquals("4", channel.get("records-in"));
        assertEquals("4", channel.get("records-out"));
        Map<String, String> client = row(dom, "clients", "anonymous");
        assertTrue(Long.parseLong(client.get("requests")) >= 7, "the cluster lookup, 5 produce requests, 1 read");
        assertTrue(dom.contains("id=\"chart-apis\"") && dom.contains("id=\"chart-channels\"")
                && dom.contains("id=\"chart-clients\""), "one chart per table");
        assertTrue(dom.contains("5 (2 errors)"), "the produce API's bar is labelled with its requests and errors");

        // the same figures as JSON
        JsonNode usage = JSON.readTree(send("GET", "/portal/api/usage", null, 200));
        JsonNode api = null;
        for (JsonNode a : usage.path("apis")) {
            if (a.path("name").asText().equals(PRODUCE)) {
                api = a;
            }
        }
        assertEquals(5, api.path("requests").asInt(), usage.toString());
        assertEquals(0.4, api.path("error_rate").asDouble(), 1e-9);

        Path screenshot = Path.of("target", "portal-usage.png").toAbsolutePath();
        chromium(chromium, profile.resolve("b"), "--screenshot=" + screenshot, base + "/portal/usage");
        assertTrue(Files.size(screenshot) > 5_000, "a screenshot was taken");
    }

    /** The cells of one row of a section's table, by their data-metric. */
    private static Map<String, String> row(String dom, String section, String name) {
        int start = dom.indexOf("<section id=\"" + section + "\"");
        assertTrue(start >= 0, "section " + section);
        String body = dom.substring(start, dom.indexOf("</section>", start));
        int at = body.indexOf("<tr data-name=\"" + name + "\"");
        assertTrue(at >= 0, name + " in " + section + ": " + body);
        String tr = body.substring(at, body.indexOf("</tr>", at));
        Map<String, String> cells = new HashMap<>();
        Matcher m = Pattern.compile("<td data-metric=\"([a-z0-9-]+)\">([^<]*)</td>").matcher(tr);
        while (m.find()) {
            cells.put(m.group(1), m.group(2));
        }
        return cells;
    }

    private static String send(String method, String path, String body, int status) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            request.header("Content-Type", "application/json");
        }
        HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(status, response.statusCode(), method + " " + path + ": " + response.body());
        return response.body();
    }

    private static String chromium(String executable, Path userDataDir, String mode, String url) throws Exception {
        List<String> command = new ArrayList<>(List.of("timeout", "90", executable, "--headless", "--no-sandbox",
                "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--user-data-dir=" + userDataDir, "--window-size=1200,900", mode, url));
        Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(90, TimeUnit.SECONDS), "Chromium finished");
        return new String(out, StandardCharsets.UTF_8);
    }
}
