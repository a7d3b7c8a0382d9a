package org.cmm.eventbroker.analytics;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.cmm.eventbroker.eventapi.LocalJwksIssuerStandIn;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.cmm.eventbroker.testsupport.DevToolsBrowser;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.cmm.eventbroker.testsupport.TestPeers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The live dashboard with access control on ({@code cmm.access.enabled=true}, tokens from a local OIDC issuer
 * STAND-IN, as EventApiAccessIT): the page loads without a header but holds no data; its event stream opens only with
 * a single-use ticket bought with a token holding analytics-reader (POST /dashboard/tickets); in headless Chromium the
 * user's token, typed into the page, buys a ticket for each stream, the numbers show, and every stream that ends
 * (stream-max-ms, 3 s here) is followed at once by a new one with a new ticket; the token is never in a URL.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AnalyticsDashboardAccessIT {

    private static final ObjectMapper JSON = new ObjectMapper();

    private LocalJwksIssuerStandIn issuer;
    private RuntimeUnderTest env;
    private Path folder;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private String base;

    @BeforeAll
    void start() throws Exception {
        folder = Files.createTempDirectory("analytics-access-it");
        issuer = new LocalJwksIssuerStandIn("cmm-event-broker");
        env = RuntimeUnderTest.flows("analytics-dashboard").with(Map.of(
                "cmm.access.enabled", "true",
                "cmm.security.oidc.issuer", issuer.issuer(),
                "cmm.security.oidc.jwks-uri", issuer.jwksUri(),
                "cmm.security.oidc.audience", "cmm-event-broker",
                "cmm.analytics.state-dir", folder.resolve("state").toString(),
                "cmm.analytics.standby-replicas", "0",
                "cmm.analytics.session-timeout-ms", "6000",
                "cmm.analytics.dashboard.refresh-ms", "300",
                "cmm.analytics.dashboard.stream-max-ms", "3000")).start();
        base = "http://127.0.0.1:" + env.httpPort();
    }

    @AfterAll
    void stop() throws Exception {
        if (env != null) {
            env.close();
        }
        if (issuer != null) {
            issuer.close();
        }
    }

    @Test
    void theDashboardOpensItsStreamOnlyWithASingleUseTicketAndShowsTheCensusInHeadlessChromium() throws Exception {
        String reader = issuer.token("ward-manager", List.of(), List.of("analytics-reader"), 300);
        String other = issuer.token("someone-else", List.of(), List.of("clinician"), 300);
        long now = System.currentTimeMillis() - 60_000L;
        try (KafkaProducer<String, byte[]> producer = KafkaClients.forBootstrap(env.bootstrapServers())
                .producer("dashboard-access-it", Map.of())) {
            for (int i = 1; i <= 3; i++) {
                producer.send(new ProducerRecord<>("hl7.adt.a01", "ACC-P" + i, AdtStream.er7("HOSP", "ACC-P" + i,
                        "ACC" + i, "A01", now, now, "I", "CARDIO", i + "-A", "", "", "")
                        .getBytes(StandardCharsets.ISO_8859_1))).get();
            }
        }

        // the page is open but holds no data; the stream and the tickets are guarded
        HttpResponse<String> page = send(HttpRequest.newBuilder(URI.create(base + "/dashboard/")).GET());
        assertEquals(200, page.statusCode());
        assertTrue(page.body().contains("data-secured=\"true\""));
        assertFalse(page.body().contains("data-ward="), "no census in the page itself");
        assertEquals(401, send(HttpRequest.newBuilder(URI.create(base + "/dashboard/events")).GET()).statusCode());
        assertEquals(401, send(HttpRequest.newBuilder(URI.create(base + "/dashboard/tickets"))
                .POST(HttpRequest.BodyPublishers.noBody())).statusCode(), "no token");
        assertEquals(403, ticketAnswer(other).statusCode(), "a token without analytics-reader");
        String ticket = JSON.readTree(ticketAnswer(reader).body()).path("ticket").asText();
        HttpResponse<InputStream> stream = http.send(HttpRequest.newBuilder(URI.create(base
                + "/dashboard/events?ticket=" + ticket)).GET().build(), HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, stream.statusCode());
        try (BufferedReader events = new BufferedReader(new InputStreamReader(stream.body(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = events.readLine()) != null && !line.startsWith("event: dashboard")) {
                // the retry line first
            }
            assertEquals("event: dashboard", line);
        }
        assertEquals(401, send(HttpRequest.newBuilder(URI.create(base + "/dashboard/events?ticket=" + ticket)).GET())
                .statusCode(), "a ticket is single-use");

        // a browser: the user types the token; the page buys a ticket for each stream
        Path chromium = TestPeers.require("chromium");
        try (DevToolsBrowser browser = DevToolsBrowser.open(chromium, folder.resolve("chromium"), base + "/dashboard/")) {
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300)).untilAsserted(() ->
                    assertEquals("false", browser.evaluate("String(document.getElementById('signin').hidden)")));
            browser.evaluate("document.getElementById('token').value = " + JSON.writeValueAsString(reader)
                    + "; document.getElementById('signin').requestSubmit(); 'sent'");
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(300)).untilAsserted(() ->
                    assertEquals("3", browser.evaluate("(document.querySelector('[data-ward=\"CARDIO\"]"
                            + "[data-metric=occupied]') || {textContent: ''}).textContent"), () -> state(browser)));
            // streams end every 3 s; each time the page opens the next one with a new ticket
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(300)).untilAsserted(() ->
                    assertTrue(Integer.parseInt(browser.evaluate("document.getElementById('link').dataset.opens"))
                            >= 4, "the stream was opened again after each end"));
            assertEquals("3", browser.evaluate("document.querySelector('[data-ward=\"CARDIO\"][data-metric=occupied]')"
                    + ".textContent"));
            String urls = browser.evaluate("performance.getEntriesByType('resource').map(e => e.name).join(' ')");
            assertTrue(urls.contains("/dashboard/events?ticket="), urls);
            assertFalse(urls.contains(reader), "the token is never in a URL");
            assertFalse(browser.evaluate("document.documentElement.outerHTML").contains(reader),
                    "nor left in the page");
            browser.screenshot(Path.of("target", "analytics-dashboard-secured.png"));
        }
    }

    /** What the page shows about its stream (for a failure's message). */
    private static String state(DevToolsBrowser browser) {
        try {
            return browser.evaluate("document.getElementById('link').textContent + ' / ' + document.getElementById("
                    + "'signin-status').textContent + ' / opens ' + document.getElementById('link').dataset.opens"
                    + " + ' / ' + document.getElementById('dashboard').textContent.slice(0, 200)");
        } catch (Exception e) {
            return e.toString();
        }
    }

    private HttpResponse<String> ticketAnswer(String token) throws Exception {
        return send(HttpRequest.newBuilder(URI.create(base + "/dashboard/tickets"))
                .header("Authorization", "Bearer " + token).POST(HttpRequest.BodyPublishers.noBody()));
    }

    private HttpResponse<String> send(HttpRequest.Builder request) throws Exception {
        return http.send(request.timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
    }
}
