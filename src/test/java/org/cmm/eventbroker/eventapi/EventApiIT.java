package org.cmm.eventbroker.eventapi;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.cmm.eventbroker.testsupport.SseEvents;
import org.cmm.eventbroker.testsupport.TestPeers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The event API flow (routes/eventapi/event-api.camel.yaml) against a real broker, in the development posture (access
 * control off; the per-channel access is EventApiAccessIT): every path is cross-checked with kcat or a Kafka consumer.
 * REST v3 resources and produce (read back by kcat), the proxy's error shape with nothing partial published, the
 * stateless cursor read, SSE with an exact Last-Event-ID resume and a key filter, WebSocket with the same positions,
 * and the generated AsyncAPI document through the AsyncAPI initiative's parser.
 */
class EventApiIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static RuntimeUnderTest env;
    private static HttpClient http;
    private static String base;
    private static String clusterId;

    @BeforeAll
    static void start() throws Exception {
        env = RuntimeUnderTest.flows("event-api").with(Map.of(
                "cmm.eventapi.max-record-bytes", "4096",
                "cmm.eventapi.max-request-bytes", "65536",
                "cmm.eventapi.stream.heartbeat-ms", "500",
                "cmm.eventapi.usage.interval-ms", "1000",
                "cmm.eventapi.stream.max-per-client", "4")).start();
        try (Admin admin = KafkaClients.forBootstrap(env.bootstrapServers()).admin("event-api-it", Map.of())) {
            admin.createTopics(List.of(new NewTopic("api.orders", 3, (short) 1), new NewTopic("api.kcat", 2, (short) 1),
                    new NewTopic("api.cursor", 2, (short) 1), new NewTopic("api.sse", 2, (short) 1),
                    new NewTopic("api.ws", 1, (short) 1), new NewTopic("api.v2", 1, (short) 1),
                    new NewTopic("api.browser", 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
        }
        http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        base = "http://127.0.0.1:" + env.httpPort();
        clusterId = get("/v3/clusters").path("data").get(0).path("cluster_id").asText();
    }

    @AfterAll
    static void stop() throws Exception {
        if (env != null) {
            env.close();
        }
    }

    @Test
    void clustersTopicsAndPartitionsAnswerInTheRestProxyV3Shape() throws Exception {
        JsonNode clusters = get("/v3/clusters");
        assertEquals("KafkaClusterList", clusters.path("kind").asText());
        assertFalse(clusterId.isBlank());
        JsonNode topics = get("/v3/clusters/" + clusterId + "/topics");
        assertEquals("KafkaTopicList", topics.path("kind").asText());
        List<String> names = new ArrayList<>();
        topics.path("data").forEach(t -> names.add(t.path("topic_name").asText()));
        assertTrue(names.contains("api.orders"), names.toString());
        JsonNode topic = get("/v3/clusters/" + clusterId + "/topics/api.orders");
        assertEquals("KafkaTopic", topic.path("kind").asText());
        assertEquals(3, topic.path("partitions_count").asInt());
        JsonNode partitions = get("/v3/clusters/" + clusterId + "/topics/api.orders/partitions");
        assertEquals(3, partitions.path("data").size());
        assertEquals(2, partitions.path("data").get(2).path("partition_id").asInt());
        HttpResponse<String> unknown = send(HttpRequest.newBuilder(uri("/v3/clusters/" + clusterId + "/topics/no.such"))
                .GET());
        assertEquals(404, unknown.statusCode());
        assertEquals(404, JSON.readTree(unknown.body()).path("error_code").asInt());
        assertEquals(404, send(HttpRequest.newBuilder(uri("/v3/clusters/other/topics")).GET()).statusCode());
    }

    @Test
    void producedOverRestIsAcknowledgedWithItsOffsetAndReadBackByKcat() throws Exception {
        String kcat = TestPeers.require("kcat").toString();
        String hdr = Base64.getEncoder().encodeToString("lab-system".getBytes(StandardCharsets.UTF_8));
        JsonNode json = post("/v3/clusters/" + clusterId + "/topics/api.orders/records",
                "{\"key\":{\"type\":\"STRING\",\"data\":\"patient-1\"},\"headers\":[{\"name\":\"ce_source\",\"value\":\""
                        + hdr + "\"}],\"value\":{\"type\":\"JSON\",\"data\":{\"order\":\"o-1\",\"qty\":2}}}", 200);
        assertEquals(200, json.path("error_code").asInt());
        assertEquals("api.orders", json.path("topic_name").asText());
        assertEquals("JSON", json.path("value").path("type").asText());
        JsonNode string = post("/v3/clusters/" + clusterId + "/topics/api.orders/records",
                "{\"partition_id\":2,\"key\":{\"type\":\"STRING\",\"data\":\"patient-2\"},"
                        + "\"value\":{\"type\":\"STRING\",\"data\":\"plain text\"}}", 200);
        assertEquals(2, string.path("partition_id").asInt());
        byte[] binary = {0, 1, 2, (byte) 0xff};
        JsonNode bin = post("/v3/clusters/" + clusterId + "/topics/api.orders/records",
                "{\"key\":{\"type\":\"STRING\",\"data\":\"patient-3\"},\"value\":{\"type\":\"BINARY\",\"data\":\""
                        + Base64.getEncoder().encodeToString(binary) + "\"}}", 200);

        // the offsets the answers name are where Kafka has the records
        List<ConsumerRecord<String, byte[]>> all = env.topics().awaitRecords("api.orders", r -> true, 3);
        ConsumerRecord<String, byte[]> first = find(all, json);
        assertEquals("patient-1", first.key());
        assertEquals("{\"order\":\"o-1\",\"qty\":2}", new String(first.value(), StandardCharsets.UTF_8));
        assertEquals("lab-system", new String(first.headers().lastHeader("ce_source").value(), StandardCharsets.UTF_8));
        assertEquals("plain text", new String(find(all, string).value(), StandardCharsets.UTF_8));
        assertEquals(List.of((byte) 0, (byte) 1, (byte) 2, (byte) 0xff), bytes(find(all, bin).value()));

        // and an independent client, kcat, reads the same
        Process p = new ProcessBuilder(kcat, "-b", env.bootstrapServers(), "-C", "-t", "api.orders", "-o", "beginning",
                "-e", "-q", "-f", "%k|%p|%o|%s|%h\\n").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertTrue(out.contains("patient-1|" + json.path("partition_id").asInt() + "|" + json.path("offset").asLong()
                + "|{\"order\":\"o-1\",\"qty\":2}|ce_source=lab-system"), out);
        assertTrue(out.contains("patient-2|2|" + string.path("offset").asLong() + "|plain text"), out);
    }

    @Test
    void badRequestsAreAnsweredInTheProxyErrorShapeAndPublishNothing() throws Exception {
        String path = "/v3/clusters/" + clusterId + "/topics/api.orders/records";
        long before = endOffsets("api.orders");
        JsonNode unknown = post("/v3/clusters/" + clusterId + "/topics/no.such.topic/records",
                "{\"value\":{\"type\":\"STRING\",\"data\":\"x\"}}", 404);
        assertEquals(404, unknown.path("error_code").asInt());
        assertFalse(unknown.path("message").asText().isBlank());
        assertEquals(400, post(path, "{\"value\":{\"type\":\"JSON\",\"data\":{\"a\":", 400).path("error_code").asInt());
        assertEquals(400, post(path, "{\"value\":{\"type\":\"AVRO\",\"data\":1}}", 400).path("error_code").asInt());
        assertEquals(400, post(path, "{\"value\":{\"type\":\"BINARY\",\"data\":\"not base64!\"}}", 400)
                .path("error_code").asInt());
        // one record over cmm.eventapi.max-record-bytes (4096) in a body of three: none is published
        String ok = "{\"key\":{\"type\":\"STRING\",\"data\":\"k\"},\"value\":{\"type\":\"STRING\",\"data\":\"fine\"}}";
        String big = "{\"value\":{\"type\":\"STRING\",\"data\":\"" + "x".repeat(5000) + "\"}}";
        assertEquals(413, post(path, ok + "\n" + big + "\n" + ok, 413).path("error_code").asInt());
        // a body over cmm.eventapi.max-request-bytes (64 KiB)
        String huge = "{\"value\":{\"type\":\"STRING\",\"data\":\"" + "y".repeat(70_000) + "\"}}";
        assertEquals(413, post(path, huge, 413).path("error_code").asInt());
        // a valid body after them lands, so the end offset moves by exactly that one record
        post(path, ok, 200);
        assertEquals(before + 1, endOffsets("api.orders"));
    }

    @Test
    void theCursorReadReturnsEveryRecordExactlyOnceFromAnOpaquePosition() throws Exception {
        String kcat = TestPeers.require("kcat").toString();
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < 10; i++) {
            lines.append("k").append(i % 3).append(":{\"n\":").append(i).append("}\n");
        }
        kcatProduce(kcat, "api.cursor", lines.toString());
        String path = "/v3/clusters/" + clusterId + "/topics/api.cursor/records";
        List<Integer> seen = new ArrayList<>();
        String position = null;
        await().atMost(Duration.ofSeconds(20)).until(() -> get(path + "?max=100&timeout_ms=200").path("data").size() == 10);
        for (int page = 0; page < 10 && seen.size() < 10; page++) {
            JsonNode answer = get(path + "?max=4&timeout_ms=200" + (position == null ? "" : "&position=" + position));
            answer.path("data").forEach(r -> seen.add(r.path("value").path("data").path("n").asInt()));
            position = answer.path("next_position").asText();
        }
        Collections.sort(seen);
        assertEquals(List.of(0, 1, 2, 3, 4, 5, 6, 7, 8, 9), seen);
        assertEquals(0, get(path + "?timeout_ms=0&position=" + position).path("data").size(), "nothing after the end");
        JsonNode one = get(path + "?key=k1&max=100&timeout_ms=200");
        assertEquals(3, one.path("data").size(), "k1 has records 1, 4, 7");
        assertEquals(400, send(HttpRequest.newBuilder(uri(path + "?position=garbage!")).GET()).statusCode());
        String otherTopic = get("/v3/clusters/" + clusterId + "/topics/api.orders/records?timeout_ms=0")
                .path("next_position").asText();
        HttpResponse<String> wrong = send(HttpRequest.newBuilder(uri(path + "?position=" + otherTopic)).GET());
        assertEquals(400, wrong.statusCode());
        assertEquals(400, JSON.readTree(wrong.body()).path("error_code").asInt());
    }

    @Test
    void theV2ConsumerInstanceApiSubscribesReadsCommitsAndLeaves() throws Exception {
        String kcat = TestPeers.require("kcat").toString();
        kcatProduce(kcat, "api.v2", "a:{\"n\":1}\nb:{\"n\":2}\n");
        HttpResponse<String> created = send(HttpRequest.newBuilder(uri("/consumers/v2-readers"))
                .header("Content-Type", "application/vnd.kafka.v2+json").POST(HttpRequest.BodyPublishers.ofString(
                        "{\"name\":\"c1\",\"format\":\"json\",\"auto.offset.reset\":\"earliest\"}")));
        assertEquals(200, created.statusCode(), created.body());
        String instance = JSON.readTree(created.body()).path("base_uri").asText();
        assertTrue(instance.endsWith("/consumers/v2-readers/instances/c1"), instance);
        String path = "/consumers/v2-readers/instances/c1";
        assertEquals(204, send(HttpRequest.newBuilder(uri(path + "/subscription")).header("Content-Type",
                "application/vnd.kafka.v2+json").POST(HttpRequest.BodyPublishers.ofString("{\"topics\":[\"api.v2\"]}")))
                .statusCode());
        List<JsonNode> records = new ArrayList<>();
        await().atMost(Duration.ofSeconds(30)).until(() -> {
            HttpResponse<String> r = send(HttpRequest.newBuilder(uri(path + "/records?timeout=500")).GET());
            JSON.readTree(r.body()).forEach(records::add);
            return records.size() >= 2;
        });
        assertEquals(List.of(1, 2), records.stream().map(r -> r.path("value").path("n").asInt()).sorted().toList());
        assertEquals(204, send(HttpRequest.newBuilder(uri(path + "/offsets")).POST(HttpRequest.BodyPublishers.noBody()))
                .statusCode());
        // the group's committed offset, as a Kafka admin client sees it
        try (Admin admin = KafkaClients.forBootstrap(env.bootstrapServers()).admin("event-api-it", Map.of())) {
            long committed = admin.listConsumerGroupOffsets("v2-readers").partitionsToOffsetAndMetadata()
                    .get(10, TimeUnit.SECONDS).get(new TopicPartition("api.v2", 0)).offset();
            assertEquals(2, committed);
        }
        assertEquals(404, send(HttpRequest.newBuilder(uri(path + "/subscription")).header("Content-Type",
                "application/vnd.kafka.v2+json").POST(HttpRequest.BodyPublishers.ofString("{\"topics\":[\"no.such\"]}")))
                .statusCode());
        assertEquals(204, send(HttpRequest.newBuilder(uri(path)).DELETE()).statusCode());
        HttpResponse<String> gone = send(HttpRequest.newBuilder(uri(path + "/records")).GET());
        assertEquals(404, gone.statusCode());
        assertEquals(40403, JSON.readTree(gone.body()).path("error_code").asInt());
    }

    @Test
    void serverSentEventsResumeExactlyAfterTheLastEventIdAndFilterByKey() throws Exception {
        String kcat = TestPeers.require("kcat").toString();
        BlockingQueue<String[]> events = new LinkedBlockingQueue<>();
        CompletableFuture<HttpResponse<InputStream>> first = http.sendAsync(HttpRequest.newBuilder(
                uri("/streams/api.sse?from=earliest")).header("Accept", "text/event-stream").GET().build(),
                HttpResponse.BodyHandlers.ofInputStream());
        HttpResponse<InputStream> response = first.get(10, TimeUnit.SECONDS);
        assertEquals(200, response.statusCode());
        assertTrue(response.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
        Thread reader = SseEvents.readInto(response.body(), events);
        kcatProduce(kcat, "api.sse", "p1:{\"n\":1}\np2:{\"n\":2}\np1:{\"n\":3}\n");
        List<String[]> got = take(events, 3);
        assertTrue(got.stream().noneMatch(e -> e[0] == null), "every event has an id");
        String afterFirst = got.get(0)[0];
        int firstN = JSON.readTree(got.get(0)[1]).path("value").path("data").path("n").asInt();
        response.body().close();
        reader.interrupt();

        // produced while disconnected
        kcatProduce(kcat, "api.sse", "p2:{\"n\":4}\np1:{\"n\":5}\n");
        BlockingQueue<String[]> resumed = new LinkedBlockingQueue<>();
        HttpResponse<InputStream> again = http.send(HttpRequest.newBuilder(uri("/streams/api.sse"))
                .header("Last-Event-ID", afterFirst).GET().build(), HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, again.statusCode());
        Thread reader2 = SseEvents.readInto(again.body(), resumed);
        List<String[]> after = take(resumed, 4);
        List<Integer> ns = new ArrayList<>();
        for (String[] e : after) {
            ns.add(JSON.readTree(e[1]).path("value").path("data").path("n").asInt());
        }
        List<Integer> expected = new ArrayList<>(List.of(1, 2, 3, 4, 5));
        expected.remove(Integer.valueOf(firstN));
        Collections.sort(ns);
        assertEquals(expected, ns, "exactly the events after the last id: none lost, none repeated");
        assertEquals(null, resumed.poll(700, TimeUnit.MILLISECONDS), "nothing more");
        again.body().close();
        reader2.interrupt();

        // ?key= keeps one patient's events
        BlockingQueue<String[]> filtered = new LinkedBlockingQueue<>();
        HttpResponse<InputStream> keyed = http.send(HttpRequest.newBuilder(uri("/streams/api.sse?from=earliest&key=p2"))
                .GET().build(), HttpResponse.BodyHandlers.ofInputStream());
        Thread reader3 = SseEvents.readInto(keyed.body(), filtered);
        List<String[]> p2 = take(filtered, 2);
        for (String[] e : p2) {
            assertEquals("p2", JSON.readTree(e[1]).path("key").path("data").asText());
        }
        assertEquals(null, filtered.poll(700, TimeUnit.MILLISECONDS), "only p2's two events");
        keyed.body().close();
        reader3.interrupt();

        HttpResponse<String> bad = send(HttpRequest.newBuilder(uri("/streams/api.sse"))
                .header("Last-Event-ID", "bm90IGEgcG9zaXRpb24").GET());
        assertEquals(400, bad.statusCode());
        assertEquals(400, JSON.readTree(bad.body()).path("error_code").asInt());
        assertEquals(404, send(HttpRequest.newBuilder(uri("/streams/no.such.topic")).GET()).statusCode());
    }

    @Test
    void serverSentEventsSendHeartbeatsWhileThereIsNothingToSend() throws Exception {
        HttpResponse<InputStream> response = http.send(HttpRequest.newBuilder(uri("/streams/api.ws")).GET().build(),
                HttpResponse.BodyHandlers.ofInputStream());
        BufferedReader lines = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8));
        CompletableFuture<String> heartbeat = CompletableFuture.supplyAsync(() -> {
            try {
                String line;
                while ((line = lines.readLine()) != null) {
                    if (line.equals(": heartbeat")) {
                        return line;
                    }
                }
            } catch (java.io.IOException e) {
                return null;
            }
            return null;
        });
        assertEquals(": heartbeat", heartbeat.get(10, TimeUnit.SECONDS));
        response.body().close();
    }

    @Test
    void aClientOverItsStreamLimitIsRefusedWith429UntilOneOfItsStreamsCloses() throws Exception {
        List<HttpResponse<InputStream>> open = new ArrayList<>();
        int refusedStatus = 0;
        String refusedBody = null;
        try {
            for (int i = 0; i < 6 && refusedBody == null; i++) {
                HttpResponse<InputStream> r = http.send(HttpRequest.newBuilder(uri("/streams/api.ws")).GET().build(),
                        HttpResponse.BodyHandlers.ofInputStream());
                if (r.statusCode() == 200) {
                    open.add(r);
                } else {
                    refusedStatus = r.statusCode();
                    try (InputStream in = r.body()) {
                        refusedBody = new String(in.readAllBytes(), StandardCharsets.UTF_8);
                    }
                }
            }
            assertNotNull(refusedBody, "a stream over the client's limit is refused");
            assertEquals(429, refusedStatus);
            assertEquals(429, JSON.readTree(refusedBody).path("error_code").asInt());
            assertTrue(open.size() <= 4, "at most cmm.eventapi.stream.max-per-client streams: " + open.size());
        } finally {
            for (HttpResponse<InputStream> r : open) {
                r.body().close();
            }
        }
        // closed streams give their places back
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            HttpResponse<InputStream> r = http.send(HttpRequest.newBuilder(uri("/streams/api.ws")).GET().build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            r.body().close();
            return r.statusCode() == 200;
        });
    }

    @Test
    void aWebSocketClientGetsTheSameResumablePositions() throws Exception {
        String kcat = TestPeers.require("kcat").toString();
        BlockingQueue<JsonNode> frames = new LinkedBlockingQueue<>();
        WebSocket ws = http.newWebSocketBuilder().buildAsync(URI.create("ws://127.0.0.1:" + env.httpPort()
                + "/ws/streams/api.ws?from=earliest"), collector(frames)).get(10, TimeUnit.SECONDS);
        kcatProduce(kcat, "api.ws", "d1:{\"n\":1}\nd1:{\"n\":2}\nd1:{\"n\":3}\n");
        JsonNode f1 = frames.poll(15, TimeUnit.SECONDS);
        assertNotNull(f1);
        List<Integer> rest = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            JsonNode f = frames.poll(15, TimeUnit.SECONDS);
            assertNotNull(f);
            rest.add(f.path("value").path("data").path("n").asInt());
        }
        assertEquals(1, f1.path("value").path("data").path("n").asInt());
        assertEquals(List.of(2, 3), rest);
        ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(5, TimeUnit.SECONDS);

        // the first frame's id resumes after it, over WebSocket and over the cursor read alike
        BlockingQueue<JsonNode> resumed = new LinkedBlockingQueue<>();
        WebSocket ws2 = http.newWebSocketBuilder().buildAsync(URI.create("ws://127.0.0.1:" + env.httpPort()
                + "/ws/streams/api.ws?last_event_id=" + f1.path("id").asText()), collector(resumed))
                .get(10, TimeUnit.SECONDS);
        assertEquals(2, resumed.poll(15, TimeUnit.SECONDS).path("value").path("data").path("n").asInt());
        assertEquals(3, resumed.poll(15, TimeUnit.SECONDS).path("value").path("data").path("n").asInt());
        ws2.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(5, TimeUnit.SECONDS);
        JsonNode page = get("/v3/clusters/" + clusterId + "/topics/api.ws/records?timeout_ms=200&position="
                + f1.path("id").asText());
        assertEquals(2, page.path("data").size());
    }

    @Test
    void usageIsCountedPerClientAndApiAsPrometheusMetricsAndUsageEvents() throws Exception {
        String path = "/v3/clusters/" + clusterId + "/topics/api.kcat/records";
        post(path, "{\"key\":{\"type\":\"STRING\",\"data\":\"u\"},\"value\":{\"type\":\"STRING\",\"data\":\"usage\"}}", 200);
        post(path, "{\"value\":", 400);
        String api = "POST /v3/clusters/:cluster_id/topics/:topic/records";
        List<ConsumerRecord<String, byte[]>> events = env.topics().awaitRecords("analytics.api.usage",
                r -> new String(r.value(), StandardCharsets.UTF_8).contains("\"api\":\"" + api + "\"")
                        && new String(r.value(), StandardCharsets.UTF_8).contains("\"topic\":\"api.kcat\""), 1);
        JsonNode event = JSON.readTree(events.get(0).value());
        assertEquals("anonymous", event.path("client").asText());
        assertEquals("api.kcat", event.path("topic").asText());
        assertTrue(event.path("requests").asInt() >= 1 && event.path("records_in").asInt() >= 1, event.toString());
        HttpResponse<String> metrics = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                + env.managementPort() + "/observe/metrics")).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, metrics.statusCode());
        String text = metrics.body();
        assertTrue(text.lines().anyMatch(l -> l.startsWith("cmm_eventapi_requests_total{") && l.contains("api=\"" + api + "\"")
                && l.contains("client=\"anonymous\"") && l.contains("outcome=\"client_error\"")), "a 400 is counted");
        assertTrue(text.lines().anyMatch(l -> l.startsWith("cmm_eventapi_records_total{") && l.contains("direction=\"in\"")
                && l.contains("topic=\"api.kcat\"")));
        assertTrue(text.contains("cmm_eventapi_latency_seconds_bucket{"), "latency histogram");
    }

    @Test
    void theAsyncApiDocumentPassesTheAsyncApiParserWithZeroErrors() throws Exception {
        HttpResponse<String> yaml = send(HttpRequest.newBuilder(uri("/asyncapi.yaml")).GET());
        assertEquals(200, yaml.statusCode());
        assertTrue(yaml.body().contains("asyncapi: 3.0.0"));
        assertTrue(yaml.body().contains("hl7.{messageType}.{triggerEvent}"), "HL7 channel with its parameters");
        assertTrue(yaml.body().contains("lab.results.{resultClass}"));
        JsonNode json = get("/asyncapi.json");
        assertEquals("x-application/hl7-v2+er7",
                json.path("components").path("messages").path("hl7TopicHl7v2").path("contentType").asText());
        JsonNode openapi = get("/openapi.json");
        assertEquals("3.1.0", openapi.path("openapi").asText());

        Path file = Files.createTempFile("asyncapi", ".yaml");
        Files.writeString(file, yaml.body());
        JsonNode result = AsyncApiParser.validate(file);
        assertTrue(result.path("parsed").asBoolean(), result.toString());
        assertEquals(0, result.path("errors").asInt(), result.toString());
    }

    @Test
    void chromiumsOwnEventSourceStreamsThroughThePortalAndResumesAfterAnEventId() throws Exception {
        String chromium = TestPeers.require("chromium").toString();
        kcatProduce(TestPeers.require("kcat").toString(), "api.browser", "b1:first\nb1:second\nb1:third\n");
        Path profile = Files.createTempDirectory("chromium-portal");
        String page = base + "/portal/?topic=api.browser&from=earliest&max=3";
        String dom = chromium(chromium, profile.resolve("a"), "--dump-dom", page);
        List<String[]> events = domEvents(dom);
        assertEquals(List.of("0", "1", "2"), events.stream().map(e -> e[1]).toList(), dom);
        assertTrue(dom.contains("b1 first") && dom.contains("b1 third"), "the values are shown");
        assertTrue(dom.contains("hl7.{messageType}.{triggerEvent}"), "the channels of /asyncapi.json are listed");
        // the browser resumes after the first event's id: exactly the two after it
        String resumed = chromium(chromium, profile.resolve("b"), "--dump-dom", base
                + "/portal/?topic=api.browser&max=2&last_event_id=" + events.get(0)[0]);
        assertEquals(List.of("1", "2"), domEvents(resumed).stream().map(e -> e[1]).toList(), resumed);
        Path screenshot = Path.of("target", "portal-stream.png").toAbsolutePath();
        chromium(chromium, profile.resolve("c"), "--screenshot=" + screenshot, page);
        assertTrue(Files.size(screenshot) > 5_000, "a screenshot was taken");
    }

    // ---- helpers ----

    /** The events the portal page listed: {data-id, data-offset}. */
    private static List<String[]> domEvents(String dom) {
        java.util.regex.Matcher m = java.util.regex.Pattern
                .compile("<li class=\"event\" data-id=\"([^\"]+)\" data-offset=\"([0-9]+)\"").matcher(dom);
        List<String[]> events = new ArrayList<>();
        while (m.find()) {
            events.add(new String[] {m.group(1), m.group(2)});
        }
        return events;
    }

    /** Headless Chromium as HawtioIT runs it (the flags that work on this machine); what it printed. */
    private static String chromium(String executable, Path userDataDir, String mode, String url) throws Exception {
        List<String> command = new ArrayList<>(List.of("timeout", "90", executable, "--headless", "--no-sandbox",
                "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--user-data-dir=" + userDataDir, "--window-size=1200,900",
                "--virtual-time-budget=10000", mode, url));
        Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(90, TimeUnit.SECONDS), "Chromium finished");
        return new String(out, StandardCharsets.UTF_8);
    }

    private static WebSocket.Listener collector(BlockingQueue<JsonNode> frames) {
        return new WebSocket.Listener() {
            private final StringBuilder text = new StringBuilder();

            @Override
            public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
                text.append(data);
                if (last) {
                    try {
                        frames.add(JSON.readTree(text.toString()));
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                    text.setLength(0);
                }
                webSocket.request(1);
                return null;
            }
        };
    }


    private static List<String[]> take(BlockingQueue<String[]> events, int n) throws InterruptedException {
        List<String[]> got = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String[] e = events.poll(15, TimeUnit.SECONDS);
            assertNotNull(e, "event " + (i + 1) + " of " + n);
            got.add(e);
        }
        return got;
    }

    private static void kcatProduce(String kcat, String topic, String lines) throws Exception {
        Process p = new ProcessBuilder(kcat, "-b", env.bootstrapServers(), "-P", "-t", topic, "-K:")
                .redirectErrorStream(true).start();
        p.getOutputStream().write(lines.getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    }

    private static long endOffsets(String topic) throws Exception {
        try (var consumer = KafkaClients.forBootstrap(env.bootstrapServers()).consumer("event-api-it", null, Map.of())) {
            List<TopicPartition> tps = consumer.partitionsFor(topic).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            return consumer.endOffsets(tps).values().stream().mapToLong(Long::longValue).sum();
        }
    }

    private static ConsumerRecord<String, byte[]> find(List<ConsumerRecord<String, byte[]>> all, JsonNode answer) {
        return all.stream().filter(r -> r.partition() == answer.path("partition_id").asInt()
                && r.offset() == answer.path("offset").asLong()).findFirst().orElseThrow();
    }

    private static List<Byte> bytes(byte[] b) {
        List<Byte> l = new ArrayList<>();
        for (byte x : b) {
            l.add(x);
        }
        return l;
    }

    private static URI uri(String path) {
        return URI.create(base + path);
    }

    private static HttpResponse<String> send(HttpRequest.Builder request) throws Exception {
        return http.send(request.timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode get(String path) throws Exception {
        HttpResponse<String> r = send(HttpRequest.newBuilder(uri(path)).GET());
        assertEquals(200, r.statusCode(), r.body());
        return JSON.readTree(r.body());
    }

    private static JsonNode post(String path, String body, int status) throws Exception {
        HttpResponse<String> r = send(HttpRequest.newBuilder(uri(path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)));
        assertEquals(status, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("application/json"), r.body());
        return JSON.readTree(r.body());
    }
}
