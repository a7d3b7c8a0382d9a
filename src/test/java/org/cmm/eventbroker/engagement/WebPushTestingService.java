package org.cmm.eventbroker.engagement;

import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.cmm.eventbroker.testsupport.FreePorts;
import org.cmm.eventbroker.testsupport.TestPeers;

import static org.awaitility.Awaitility.await;

/**
 * The npm {@code web-push-testing} 1.2.2 service (src/test/node) as the tests' Web Push service: it hands out
 * subscriptions, checks the VAPID token of every push against the subscription's applicationServerKey and decrypts
 * the message (aes128gcm), so a message read back from it proves the encryption and the VAPID signature right.
 * Installed with {@code npm ci} into src/test/node on first use when absent.
 */
final class WebPushTestingService implements AutoCloseable {

    private static final Path FOLDER = Path.of("src", "test", "node");
    private static final Path SERVER = FOLDER.resolve("node_modules/web-push-testing/src/bin/server.js");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Process process;
    private final int port;
    private final HttpClient http = HttpClient.newHttpClient();

    /** A subscription as the browser would hand it to the app, plus the service's handle to read its messages. */
    record Subscription(String endpoint, String p256dh, String auth, String clientHash) {
    }

    WebPushTestingService() throws Exception {
        Path node = TestPeers.require("node");
        if (!Files.exists(SERVER)) {
            install(node);
        }
        port = FreePorts.next();
        process = new ProcessBuilder(node.toString(), SERVER.toString(), Integer.toString(port))
                .redirectErrorStream(true).redirectOutput(new File("target/web-push-testing-" + port + ".log")).start();
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).ignoreExceptions()
                .until(() -> post("/status", "{}").statusCode() == 200);
    }

    private static void install(Path node) throws IOException, InterruptedException {
        Path npm = node.resolveSibling("npm");
        Process npmCi = new ProcessBuilder(Files.isExecutable(npm) ? npm.toString() : "npm", "ci", "--no-audit", "--no-fund")
                .directory(FOLDER.toFile()).inheritIO().start();
        if (!npmCi.waitFor(5, TimeUnit.MINUTES) || npmCi.exitValue() != 0) {
            throw new IllegalStateException("npm ci in src/test/node failed: web-push-testing not installed");
        }
    }

    Subscription subscribe(String applicationServerKey) throws Exception {
        HttpResponse<String> r = post("/subscribe",
                JSON.createObjectNode().put("userVisibleOnly", "true").put("applicationServerKey", applicationServerKey)
                        .toString());
        if (r.statusCode() != 200) {
            throw new IllegalStateException("subscribe: HTTP " + r.statusCode() + " " + r.body());
        }
        JsonNode data = JSON.readTree(r.body()).path("data");
        return new Subscription(data.path("endpoint").asText(), data.path("keys").path("p256dh").asText(),
                data.path("keys").path("auth").asText(), data.path("clientHash").asText());
    }

    /** The decrypted messages the service received for the subscription, as JSON. */
    List<JsonNode> messages(Subscription s) throws Exception {
        HttpResponse<String> r = post("/get-notifications",
                JSON.createObjectNode().put("clientHash", s.clientHash()).toString());
        List<JsonNode> out = new ArrayList<>();
        if (r.statusCode() != 200) {
            return out;
        }
        for (JsonNode m : JSON.readTree(r.body()).path("data").path("messages")) {
            out.add(JSON.readTree(m.asText()));
        }
        return out;
    }

    void expire(Subscription s) throws Exception {
        HttpResponse<String> r = post("/expire-subscription/" + s.clientHash(), "{}");
        if (r.statusCode() != 200) {
            throw new IllegalStateException("expire: HTTP " + r.statusCode());
        }
    }

    private HttpResponse<String> post(String path, String json) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Override
    public void close() throws Exception {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
    }
}
