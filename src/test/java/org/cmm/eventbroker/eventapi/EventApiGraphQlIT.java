package org.cmm.eventbroker.eventapi;

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
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

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
 * GraphQL (routes/eventapi/event-api-graphql-beans.camel.yaml, with the event-api flow) and the WebSocket stream against a real broker, with access
 * control on (tokens from a local JWKS issuer STAND-IN, as EventApiAccessIT; the point is the role bindings): events
 * produced by kcat are received by the npm graphql-ws client over graphql-transport-ws (filtered by key, resumed
 * exactly after an event id) and by a Node ws client on /ws/streams/{topic} (same semantics as SSE: key filter,
 * last_event_id resume, a single-use ticket). Queries over the catalog, the depth and complexity limits in GraphQL's
 * error shape, and a channel without a role binding denied on every path.
 */
class EventApiGraphQlIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path NODE = Path.of("src/test/node");
    private static RuntimeUnderTest env;
    private static LocalJwksIssuerStandIn issuer;
    private static HttpClient http;
    private static String base;
    private static String reader;
    private static String kcat;

    @BeforeAll
    static void start() throws Exception {
        kcat = TestPeers.require("kcat").toString();
        issuer = new LocalJwksIssuerStandIn("cmm-event-broker");
        Path bindings = Files.createTempDirectory("graphql-bindings").resolve("kafka-role-bindings.conf");
        Files.writeString(bindings, """
                # the dashboard reads the GraphQL test topics; nobody else has a binding
                role gql-reader Read topic:gql.events
                role gql-reader Read topic:gql.ws
                role gql-reader Read topic:lab.results.critical
                bind user:dashboard gql-reader
                """);
        env = RuntimeUnderTest.flows("event-api").with(Map.of(
                "cmm.access.enabled", "true",
                "cmm.security.oidc.issuer", issuer.issuer(),
                "cmm.security.oidc.jwks-uri", issuer.jwksUri(),
                "cmm.security.oidc.audience", "cmm-event-broker",
                "cmm.kafka.security.role-bindings", bindings.toString())).start();
        try (Admin admin = KafkaClients.forBootstrap(env.bootstrapServers()).admin("event-api-graphql-it", Map.of())) {
            admin.createTopics(List.of(new NewTopic("gql.events", 2, (short) 1), new NewTopic("gql.ws", 1, (short) 1),
                    new NewTopic("gql.secret", 1, (short) 1), new NewTopic("lab.results.critical", 1, (short) 1)))
                    .all().get(30, TimeUnit.SECONDS);
        }
        http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        base = "http://127.0.0.1:" + env.httpPort();
        reader = issuer.token("dashboard", List.of(), List.of(), 600);
        if (!Files.isDirectory(NODE.resolve("node_modules/graphql-ws")) || !Files.isDirectory(NODE.resolve("node_modules/ws"))) {
            node(600, "npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts");
        }
        kcatProduce("lab.results.critical", "p-9:{\"result\":\"K 6.9\"}\n");
    }

    @AfterAll
    static void stop() throws Exception {
        if (env != null) {
            env.close();
        }
        if (issuer != null) {
            issuer.close();
        }
    }

    @Test
    void queriesAnswerTheTopicCatalogItsChannelsAndTheLatestEventsOfAKey() throws Exception {
        JsonNode catalog = graphql(reader, """
                { cluster { id } topics(prefix: "lab.") { name partitionCount partitions { id leader }
                    contentTypes channel { address messages { contentType payloadSchema } } } }""", Map.of());
        assertFalse(catalog.has("errors"), catalog.toString());
        assertFalse(catalog.path("data").path("cluster").path("id").asText().isBlank());
        JsonNode lab = catalog.path("data").path("topics").get(0);
        assertEquals("lab.results.critical", lab.path("name").asText(), catalog.toString());
        assertEquals(1, lab.path("partitionCount").asInt());
        assertEquals("lab.results.{resultClass}", lab.path("channel").path("address").asText(), lab.toString());
        assertTrue(lab.path("contentTypes").size() > 0, lab.toString());

        JsonNode latest = graphql(reader, """
                query($key: String) { topic(name: "lab.results.critical") {
                    latest(key: $key, limit: 5) { id key offset value { type data } } } }""", Map.of("key", "p-9"));
        JsonNode events = latest.path("data").path("topic").path("latest");
        assertEquals(1, events.size(), latest.toString());
        assertEquals("JSON", events.get(0).path("value").path("type").asText());
        assertEquals("K 6.9", events.get(0).path("value").path("data").path("result").asText());
        // the event id is a position: the REST cursor read continues after it (nothing after it yet)
        JsonNode page = graphql(reader, "query($p: String) { topic(name: \"lab.results.critical\") { events(position: $p)"
                + " { events { offset } nextPosition } } }", Map.of("p", events.get(0).path("id").asText()));
        assertEquals(0, page.path("data").path("topic").path("events").path("events").size(), page.toString());
        assertTrue(graphql(reader, "{ topic(name: \"no.such.topic\") { name } }", Map.of()).path("data").path("topic")
                .isNull(), "an unknown topic is null");
    }

    @Test
    void deepOrCostlyQueriesAndBadRequestsAreAnsweredInGraphQlsErrorShape() throws Exception {
        StringBuilder deep = new StringBuilder("{ __schema { types { fields { type ");
        for (int i = 0; i < 20; i++) {
            deep.append("{ ofType ");
        }
        deep.append("{ name }");
        deep.append(" }".repeat(20)).append(" } } } }");
        JsonNode tooDeep = graphql(reader, deep.toString(), Map.of());
        assertTrue(tooDeep.path("errors").get(0).path("message").asText().toLowerCase().contains("depth"), tooDeep.toString());
        assertTrue(tooDeep.path("data").isMissingNode() || tooDeep.path("data").isNull(), "nothing ran");

        JsonNode tooCostly = graphql(reader, "{ topics { name latest(limit: 500) { id key headers { name text } "
                + "value { type data } } } }", Map.of());
        assertTrue(tooCostly.path("errors").get(0).path("message").asText().toLowerCase().contains("complexity"),
                tooCostly.toString());

        HttpResponse<String> malformed = post("/graphql", reader, "{\"query\": ");
        assertEquals(400, malformed.statusCode());
        assertEquals("BAD_REQUEST", JSON.readTree(malformed.body()).path("errors").get(0).path("extensions").path("code")
                .asText());
        JsonNode syntax = graphql(reader, "{ topics { name ", Map.of());
        assertTrue(syntax.path("errors").size() > 0, syntax.toString());
        HttpResponse<String> sdl = http.send(HttpRequest.newBuilder(URI.create(base + "/graphql/schema.graphqls")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertTrue(sdl.body().contains("type Subscription"), "the schema is open: it describes the API, not data");
        assertEquals(401, post("/graphql", null, "{\"query\":\"{ cluster { id } }\"}").statusCode());
    }

    @Test
    void aChannelWithoutARoleBindingIsDeniedToQueriesSubscriptionsAndAnonymousSockets() throws Exception {
        JsonNode denied = graphql(reader, "{ topic(name: \"gql.secret\") { name latest { id } } }", Map.of());
        assertEquals("FORBIDDEN", denied.path("errors").get(0).path("extensions").path("code").asText(), denied.toString());
        JsonNode listed = graphql(reader, "{ topics { name } }", Map.of());
        assertFalse(listed.toString().contains("gql.secret"), "only what the caller may describe is listed");

        List<JsonNode> subscription = graphqlWs("subscription($t: String!) { events(topic: $t) { id } }",
                Map.of("t", "gql.secret"), 1, reader);
        JsonNode last = subscription.get(subscription.size() - 1);
        assertEquals("FORBIDDEN", last.path("error").get(0).path("extensions").path("code").asText(), last.toString());

        List<JsonNode> anonymous = graphqlWs("subscription { events(topic: \"gql.events\") { id } }", Map.of(), 1, null);
        assertEquals(4403, anonymous.get(anonymous.size() - 1).path("closed").path("code").asInt(), anonymous.toString());
    }

    @Test
    void theGraphQlWsClientReceivesKcatEventsByKeyAndResumesExactlyAfterAnEventId() throws Exception {
        kcatProduce("gql.events", "p-1:{\"n\":1}\np-2:{\"n\":2}\np-1:{\"n\":3}\np-1:{\"n\":4}\n");
        String query = "subscription($t: String!, $k: String, $last: String) { events(topic: $t, key: $k, from: EARLIEST,"
                + " lastEventId: $last) { id topic partition offset key value { type data } } }";
        List<JsonNode> first = graphqlWs(query, Map.of("t", "gql.events", "k", "p-1"), 3, reader);
        List<JsonNode> events = nexts(first);
        assertEquals(3, events.size(), first.toString());
        assertEquals(List.of(1, 3, 4), events.stream().map(e -> e.path("value").path("data").path("n").asInt()).toList());
        events.forEach(e -> assertEquals("p-1", e.path("key").asText()));

        // resume after the first event: exactly the two after it, then one produced later by kcat
        String after = events.get(0).path("id").asText();
        Thread producer = new Thread(() -> {
            try {
                kcatProduce("gql.events", "p-1:{\"n\":5}\n");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        producer.start();
        List<JsonNode> resumed = nexts(graphqlWs(query, Map.of("t", "gql.events", "k", "p-1", "last", after), 3, reader));
        producer.join(30_000);
        assertEquals(List.of(3, 4, 5), resumed.stream().map(e -> e.path("value").path("data").path("n").asInt()).toList());
    }

    @Test
    void aNodeWsClientReadsTheWebSocketStreamWithTheSameSemanticsAsSse() throws Exception {
        kcatProduce("gql.ws", "p-1:one\np-2:two\np-1:three\np-1:four\n");
        List<JsonNode> frames = wsStream("/ws/streams/gql.ws?from=earliest&key=p-1", 3);
        assertEquals(List.of("one", "three", "four"), frames.stream().map(f -> f.path("value").path("data").asText())
                .toList());
        String afterFirst = frames.get(0).path("id").asText();
        List<JsonNode> resumed = wsStream("/ws/streams/gql.ws?key=p-1&last_event_id=" + afterFirst, 2);
        assertEquals(List.of("three", "four"), resumed.stream().map(f -> f.path("value").path("data").asText()).toList());
        // the same position continues the REST cursor read: nothing after the last frame
        JsonNode page = graphql(reader, "query($p: String) { topic(name: \"gql.ws\") { events(position: $p) {"
                + " events { offset } } } }", Map.of("p", resumed.get(1).path("id").asText()));
        assertEquals(0, page.path("data").path("topic").path("events").path("events").size(), page.toString());
    }

    // ---- peers ----

    private static List<JsonNode> nexts(List<JsonNode> lines) {
        List<JsonNode> events = new ArrayList<>();
        for (JsonNode l : lines) {
            if (l.has("next")) {
                assertFalse(l.path("next").has("errors"), l.toString());
                events.add(l.path("next").path("data").path("events"));
            }
        }
        return events;
    }

    /** The npm graphql-ws client: subscribes, returns its output lines (the results, then how it ended). */
    private static List<JsonNode> graphqlWs(String query, Map<String, Object> variables, int count, String token)
            throws Exception {
        String params = token == null ? "{}" : JSON.writeValueAsString(Map.of("authorization", "Bearer " + token));
        return lines(node(90, "node", "graphql-subscribe.mjs", "ws://127.0.0.1:" + env.httpPort() + "/graphql", query,
                JSON.writeValueAsString(variables), String.valueOf(count), params, "40000"));
    }

    /** The Node ws client on /ws/streams with a single-use ticket (as a browser would). */
    private static List<JsonNode> wsStream(String path, int count) throws Exception {
        String ticket = JSON.readTree(post("/streams/tickets", reader, "").body()).path("ticket").asText();
        List<JsonNode> out = lines(node(90, "node", "ws-stream.mjs", "ws://127.0.0.1:" + env.httpPort() + path
                + "&ticket=" + ticket, String.valueOf(count), "40000"));
        assertEquals(count, out.get(out.size() - 1).path("done").asInt(), out.toString());
        List<JsonNode> frames = new ArrayList<>();
        out.stream().filter(l -> l.has("frame")).forEach(l -> frames.add(l.path("frame")));
        return frames;
    }

    private static List<JsonNode> lines(String out) throws Exception {
        List<JsonNode> list = new ArrayList<>();
        for (String line : out.strip().split("\n")) {
            if (line.startsWith("{")) {
                list.add(JSON.readTree(line));
            }
        }
        assertFalse(list.isEmpty(), out);
        return list;
    }

    private static String node(int seconds, String... command) throws Exception {
        Process p = new ProcessBuilder(command).directory(NODE.toFile()).redirectErrorStream(true).start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(seconds, TimeUnit.SECONDS), String.join(" ", command) + " did not end");
        return new String(out, StandardCharsets.UTF_8);
    }

    private static void kcatProduce(String topic, String lines) throws Exception {
        Process p = new ProcessBuilder(kcat, "-b", env.bootstrapServers(), "-P", "-t", topic, "-K:")
                .redirectErrorStream(true).start();
        p.getOutputStream().write(lines.getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    }

    private static JsonNode graphql(String token, String query, Map<String, Object> variables) throws Exception {
        HttpResponse<String> r = post("/graphql", token, JSON.writeValueAsString(Map.of("query", query,
                "variables", variables)));
        assertEquals(200, r.statusCode(), r.body());
        return JSON.readTree(r.body());
    }

    private static HttpResponse<String> post(String path, String token, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).timeout(Duration.ofSeconds(30));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }
}
