package org.cmm.eventbroker.testsupport;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/**
 * A real HTTP server standing in for the workflow engine: JDK HttpServer on a free loopback port, with the REST API
 * of the engine contract (POST /engine-rest/workflows/{type}/instances, .../{businessKey}/resume, .../cancel). It
 * records every call, answers 201 to a start and 200 to a resume or cancel unless a status sequence was scripted for a
 * business key (503 then 201, a 400 with a reason), answers 200 to a second start with an idempotency key it already
 * accepted (as engines with idempotent starts do), and POSTs state callbacks to the runtime like an engine.
 */
public final class ScriptedWorkflowEngine implements AutoCloseable {

    /** One call as the engine saw it, and the status it answered. */
    public record Call(String method, String path, String idempotencyKey, String contentType, String body, int status) {
    }

    private final HttpServer server;
    private final java.util.concurrent.ExecutorService executor = Executors.newFixedThreadPool(4);
    private final List<Call> calls = new CopyOnWriteArrayList<>();
    private final Map<String, Deque<Integer>> scripts = new ConcurrentHashMap<>();
    private final Map<String, Boolean> accepted = new ConcurrentHashMap<>();
    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    public ScriptedWorkflowEngine() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), FreePorts.next()), 50);
        server.setExecutor(executor);
        server.createContext("/engine-rest/", this::handle);
        server.start();
    }

    /** The engine URL for cmm.workflow.engine.url. */
    public String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/engine-rest";
    }

    /** The next calls about this business key get these statuses, in order; then the defaults again. */
    public void script(String businessKey, int... statuses) {
        Deque<Integer> queue = new ArrayDeque<>();
        for (int s : statuses) {
            queue.add(s);
        }
        scripts.put(businessKey, queue);
    }

    public List<Call> calls() {
        return List.copyOf(calls);
    }

    /** The calls whose path or body name this business key, in the order they arrived. */
    public List<Call> callsAbout(String businessKey) {
        return calls.stream().filter(c -> c.path().contains("/" + businessKey + "/")
                || c.body().contains("\"businessKey\":\"" + businessKey + "\"")).toList();
    }

    private void handle(HttpExchange exchange) throws IOException {
        byte[] raw;
        try (InputStream in = exchange.getRequestBody()) {
            raw = in.readAllBytes();
        }
        String body = new String(raw, StandardCharsets.UTF_8);
        String path = exchange.getRequestURI().getRawPath();
        String key = exchange.getRequestHeaders().getFirst("Idempotency-Key");
        String businessKey = scripts.keySet().stream()
                .filter(k -> path.contains("/" + k + "/") || body.contains("\"businessKey\":\"" + k + "\""))
                .findFirst().orElse(null);
        Integer scripted = null;
        if (businessKey != null) {
            Deque<Integer> queue = scripts.get(businessKey);
            synchronized (queue) {
                scripted = queue.poll();
            }
        }
        boolean start = path.endsWith("/instances");
        int status;
        String answer;
        if (scripted != null) {
            status = scripted;
            answer = status == 400 ? "{\"message\":\"unknown ward in trigger for this workflow\"}"
                    : "{\"message\":\"scripted " + status + "\"}";
        } else if (start && key != null && accepted.containsKey(key)) {
            status = 200;
            answer = "{\"instanceId\":\"inst-" + key + "\",\"duplicate\":true}";
        } else {
            status = start ? 201 : 200;
            answer = "{\"instanceId\":\"inst-" + key + "\"}";
        }
        if (status / 100 == 2 && start && key != null) {
            accepted.put(key, true);
        }
        calls.add(new Call(exchange.getRequestMethod(), path, key,
                exchange.getRequestHeaders().getFirst("Content-Type"), body, status));
        byte[] out = answer.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, out.length);
        exchange.getResponseBody().write(out);
        exchange.close();
    }

    /** POSTs a state callback to the runtime, as the engine does. */
    public HttpResponse<String> callback(int runtimeHttpPort, String workflowType, String contentType, String json)
            throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + runtimeHttpPort + "/workflow/callbacks/" + workflowType))
                .timeout(Duration.ofSeconds(20))
                .header("Content-Type", contentType)
                .header("Authorization", "Bearer engine-s3cr3t")
                .POST(HttpRequest.BodyPublishers.ofString(json))
                .build();
        return client.send(request, HttpResponse.BodyHandlers.ofString());
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
