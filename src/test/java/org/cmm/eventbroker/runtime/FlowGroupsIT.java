package org.cmm.eventbroker.runtime;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.camel.ServiceStatus;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The grouped Camel K Integrations of issues 15 and 16 start: a runtime of exactly the flows of the groups event-api
 * (with realtime-streams and schema-registry) and analytics-queries (with analytics-dashboard), as routes/flow-groups.yaml
 * declares them, loads the same files as their Integrations (the generator and {@code cmm.flows} both use
 * {@link Flows#filesOf}); every route of every flow of the group starts and each flow answers. One broker for both.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FlowGroupsIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Flows ROUTES = Flows.read(Path.of("routes"));

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private RuntimeUnderTest eventApi;
    private RuntimeUnderTest analytics;

    @BeforeAll
    void start() throws Exception {
        eventApi = RuntimeUnderTest.flows(ROUTES.groups().flowsOf("event-api").toArray(String[]::new)).start();
        Path state = Files.createTempDirectory("flow-groups-it");
        analytics = RuntimeUnderTest.flows(ROUTES.groups().flowsOf("analytics-queries").toArray(String[]::new))
                .broker(eventApi.broker())
                .with(Map.of("cmm.analytics.state-dir", state.toString(),
                        "cmm.analytics.session-timeout-ms", "6000"))
                .start();
    }

    @AfterAll
    void stop() throws Exception {
        if (analytics != null) {
            analytics.close();
        }
        if (eventApi != null) {
            eventApi.close();
        }
    }

    private static void everyRouteOfTheGroupRuns(RuntimeUnderTest env, String group) {
        List<String> flows = ROUTES.groups().flowsOf(group);
        assertTrue(flows.size() > 1, group + " is a group: " + flows);
        for (String flow : flows) {
            assertFalse(ROUTES.flow(flow).routeIds().isEmpty(), flow);
            for (String route : ROUTES.flow(flow).routeIds()) {
                assertEquals(ServiceStatus.Started, env.runtime().camelContext().getRouteController().getRouteStatus(route),
                        "route " + route + " of " + flow + " in the group " + group);
            }
        }
    }

    private HttpResponse<String> get(RuntimeUnderTest env, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + env.httpPort() + path))
                .timeout(Duration.ofSeconds(20)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void theEventApiGroupStartsWithTheRealtimeStreamsOnItsGatewayAndTheRegistrysSchemasInItsAsyncApi() throws Exception {
        everyRouteOfTheGroupRuns(eventApi, "event-api");
        // realtime-streams: its bean found the event API gateway at start (else the runtime would not have started)
        HttpResponse<String> catalog = get(eventApi, "/patient/streams");
        assertEquals(200, catalog.statusCode(), catalog.body());
        assertTrue(catalog.body().contains("results"), catalog.body());
        // schema-registry: the AsyncAPI document of the event API takes its JSON payloads from the registry beside it
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
            HttpResponse<String> doc = get(eventApi, "/asyncapi.json");
            assertEquals(200, doc.statusCode());
            JsonNode payload = JSON.readTree(doc.body()).path("components").path("messages").path("cdsAlertJson").path("payload");
            assertEquals("cmm.cds.alert.v1", payload.path("x-cmm-schema-registry").path("subject").asText(), payload.toString());
        });
    }

    @Test
    void theAnalyticsGroupStartsOneStreamsApplicationThatAnswersTheQueriesAndTheDashboard() throws Exception {
        everyRouteOfTheGroupRuns(analytics, "analytics-queries");
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
            HttpResponse<String> census = get(analytics, "/analytics/bed-occupancy");
            assertEquals(200, census.statusCode(), census.body());
        });
        HttpResponse<String> page = get(analytics, "/dashboard/");
        assertEquals(200, page.statusCode());
        assertTrue(page.body().contains("<html") || page.body().contains("<!DOCTYPE"), "the dashboard page");
    }
}
