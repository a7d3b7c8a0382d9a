package org.cmm.eventbroker.eventapi;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
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
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.resource.ResourceType;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.cmm.eventbroker.platform.security.http.KeycloakIssuer;
import org.cmm.eventbroker.platform.security.kafka.RoleBindings;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.cmm.eventbroker.testsupport.TestPeers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Access per channel with access control on ({@code cmm.access.enabled=true}, tokens from the real Keycloak realm:
 * the service accounts {@code subscriber} as the application, {@code ehr-gateway} as the producer,
 * {@code kafka-no-role} as a stranger, and the user {@code portal.pia} as the api-admin): the event API
 * decides per topic with the Kafka authorizer's role-bindings file; an application without a binding is refused
 * (403 in the proxy's error shape, audited), asks for a subscription, an api-admin approves it, the binding is written
 * to the file (as the authorizer reads it, granting its Kafka principal too) and audited on
 * security.audit.authorization, and from then on its REST and SSE calls (with a single-use ticket) are allowed.
 */
class EventApiAccessIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** The Keycloak realm's service accounts (their principal is preferred_username) and the api-admin user. */
    private static final String APP = "service-account-subscriber";
    private static final String PRODUCER = "service-account-ehr-gateway";
    private static RuntimeUnderTest env;
    private static KeycloakIssuer keycloak;
    private static HttpClient http;
    private static String base;
    private static Path bindings;

    @BeforeAll
    static void start() throws Exception {
        keycloak = KeycloakIssuer.shared();
        bindings = Files.createTempDirectory("eventapi-bindings").resolve("kafka-role-bindings.conf");
        Files.writeString(bindings, """
                # the producing application may write the results topic
                role results-writer Write topic:acc.results
                bind user:%s results-writer
                """.formatted(PRODUCER));
        env = RuntimeUnderTest.flows("event-api").with(Map.of(
                "cmm.access.enabled", "true",
                "cmm.security.oidc.issuer", keycloak.issuer(),
                "cmm.security.oidc.audience", KeycloakIssuer.AUDIENCE,
                "cmm.kafka.security.role-bindings", bindings.toString())).start();
        try (Admin admin = KafkaClients.forBootstrap(env.bootstrapServers()).admin("event-api-access-it", Map.of())) {
            admin.createTopics(List.of(new NewTopic("acc.results", 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
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
    void anApplicationIsDeniedPerChannelUntilItsSubscriptionIsApproved() throws Exception {
        String app = keycloak.clientToken("subscriber");
        String producer = keycloak.clientToken("ehr-gateway");
        String admin = keycloak.userToken("alert-console", "portal.pia", "portal-test-password");
        String cluster = JSON.readTree(call("GET", "/v3/clusters", producer, null).body()).path("data").get(0)
                .path("cluster_id").asText();
        String records = "/v3/clusters/" + cluster + "/topics/acc.results/records";

        assertEquals(401, call("GET", "/v3/clusters", null, null).statusCode(), "no token");
        // the writer's binding lets it produce; the application has none
        assertEquals(200, call("POST", records, producer, "{\"key\":{\"type\":\"STRING\",\"data\":\"p-1\"},"
                + "\"value\":{\"type\":\"JSON\",\"data\":{\"result\":\"ok\"}}}").statusCode());
        HttpResponse<String> denied = call("GET", records + "?timeout_ms=0", app, null);
        assertEquals(403, denied.statusCode());
        assertEquals(403, JSON.readTree(denied.body()).path("error_code").asInt());
        assertEquals(403, call("POST", records, app, "{\"value\":{\"type\":\"STRING\",\"data\":\"x\"}}").statusCode());
        String ticket = JSON.readTree(call("POST", "/streams/tickets", app, "").body()).path("ticket").asText();
        assertEquals(403, send(HttpRequest.newBuilder(URI.create(base + "/streams/acc.results?ticket=" + ticket)).GET())
                .statusCode(), "SSE denied too");
        assertEquals(401, send(HttpRequest.newBuilder(URI.create(base + "/streams/acc.results")).GET()).statusCode(),
                "a stream without token or ticket");

        // subscribe; only an api-admin approves
        HttpResponse<String> asked = call("POST", "/portal/api/subscriptions", app,
                "{\"application\":\"" + APP + "\",\"channel\":\"acc.results\"}");
        assertEquals(201, asked.statusCode(), asked.body());
        JsonNode subscription = JSON.readTree(asked.body());
        assertEquals("pending", subscription.path("status").asText());
        String approve = "/portal/api/subscriptions/" + subscription.path("id").asText() + "/approve";
        assertEquals(403, call("POST", approve, app, "").statusCode(), "an application cannot approve itself");
        assertEquals(403, call("GET", records + "?timeout_ms=0", app, null).statusCode(), "still pending");

        // the pending request is on the compacted subscriptions topic: a restarted runtime still has it
        ConsumerRecord<String, byte[]> kept = env.topics().awaitRecords("eventapi.subscriptions",
                r -> r.key().equals(subscription.path("id").asText()), 1).get(0);
        assertEquals("pending", JSON.readTree(kept.value()).path("status").asText());
        env.stopRuntime();
        env.startRuntime();
        JsonNode listed = JSON.readTree(call("GET", "/portal/api/subscriptions", admin, null).body());
        assertTrue(listed.path("data").toString().contains(subscription.path("id").asText()), listed.toString());
        assertTrue(listed.path("data").toString().contains("\"status\":\"pending\""), listed.toString());
        HttpResponse<String> approved = call("POST", approve, admin, "");
        assertEquals(200, approved.statusCode(), approved.body());
        assertEquals("approved", JSON.readTree(approved.body()).path("status").asText());
        assertEquals("portal.pia", JSON.readTree(approved.body()).path("approved_by").asText());

        // the binding is in the authorizer's file, as the authorizer parses it: the Kafka principal may read too
        RoleBindings written = RoleBindings.read(bindings);
        Set<String> roles = written.rolesOf(APP, Set.of(), Set.of());
        assertTrue(written.grants(roles, AclOperation.READ, ResourceType.TOPIC, "acc.results"));
        assertTrue(written.grants(roles, AclOperation.READ, ResourceType.GROUP, APP + "-consumers"));
        assertTrue(!written.grants(roles, AclOperation.WRITE, ResourceType.TOPIC, "acc.results"), "read only");

        // REST read allowed now
        HttpResponse<String> read = call("GET", records + "?timeout_ms=500", app, null);
        assertEquals(200, read.statusCode(), read.body());
        assertEquals("ok", JSON.readTree(read.body()).path("data").get(0).path("value").path("data").path("result")
                .asText());

        // SSE with a single-use ticket: the token never appears in the URL
        String fresh = JSON.readTree(call("POST", "/streams/tickets", app, "").body()).path("ticket").asText();
        HttpResponse<InputStream> stream = http.send(HttpRequest.newBuilder(URI.create(base
                + "/streams/acc.results?from=earliest&ticket=" + fresh)).GET().build(),
                HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, stream.statusCode());
        BufferedReader lines = new BufferedReader(new InputStreamReader(stream.body(), StandardCharsets.UTF_8));
        CompletableFuture<String> firstData = CompletableFuture.supplyAsync(() -> {
            try {
                String line;
                while ((line = lines.readLine()) != null) {
                    if (line.startsWith("data: ")) {
                        return line;
                    }
                }
            } catch (java.io.IOException e) {
                return null;
            }
            return null;
        });
        assertTrue(firstData.get(15, TimeUnit.SECONDS).contains("\"result\":\"ok\""));
        stream.body().close();
        assertEquals(401, send(HttpRequest.newBuilder(URI.create(base + "/streams/acc.results?ticket=" + fresh)).GET())
                .statusCode(), "a ticket is single-use");

        // cross-check with kcat: the approval is audited on security.audit.authorization
        String kcat = TestPeers.require("kcat").toString();
        await().atMost(Duration.ofSeconds(20)).until(() -> {
            Process p = new ProcessBuilder(kcat, "-b", env.bootstrapServers(), "-C", "-t",
                    "security.audit.authorization", "-o", "beginning", "-e", "-q").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor(20, TimeUnit.SECONDS);
            return out.contains("ApproveSubscription") && out.contains(APP) && out.contains("portal.pia");
        });
    }

    @Test
    void topicsAreListedOnlyWhenTheCallerMayDescribeThem() throws Exception {
        String producer = keycloak.clientToken("ehr-gateway");
        String stranger = keycloak.clientToken("kafka-no-role");
        String cluster = JSON.readTree(call("GET", "/v3/clusters", producer, null).body()).path("data").get(0)
                .path("cluster_id").asText();
        JsonNode mine = JSON.readTree(call("GET", "/v3/clusters/" + cluster + "/topics", producer, null).body());
        assertTrue(mine.path("data").toString().contains("acc.results"));
        JsonNode none = JSON.readTree(call("GET", "/v3/clusters/" + cluster + "/topics", stranger, null).body());
        assertNotNull(none.path("data"));
        assertEquals(0, none.path("data").size(), none.toString());
        assertEquals(403, call("GET", "/v3/clusters/" + cluster + "/topics/acc.results", stranger, null).statusCode());
    }

    private static HttpResponse<String> call(String method, String path, String token, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).header("Content-Type", "application/json")
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return send(b);
    }

    private static HttpResponse<String> send(HttpRequest.Builder request) throws Exception {
        return http.send(request.timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
    }
}
