package org.cmm.eventbroker.fhir;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/**
 * A subscriber's rest-hook endpoint: a real JDK HTTP server on loopback that records every request per path and
 * answers the status set for that path (200 unless told otherwise).
 */
final class RestHookEndpoint implements AutoCloseable {

    /** One request as received. */
    record Received(String method, String path, Map<String, String> headers, String body) {
        String header(String name) {
            return headers.get(name.toLowerCase(java.util.Locale.ROOT));
        }
    }

    private final HttpServer server;
    private final List<Received> received = new CopyOnWriteArrayList<>();
    private final Map<String, Integer> status = new ConcurrentHashMap<>();
    private final Map<String, java.util.concurrent.CountDownLatch> held = new ConcurrentHashMap<>();

    RestHookEndpoint(int port) throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 50);
        server.createContext("/", this::handle);
        server.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
        server.start();
    }

    private void handle(HttpExchange exchange) throws IOException {
        String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
        String path = exchange.getRequestURI().getPath();
        // a subscriber is known by the first path segment: R4 payloads are PUT to <endpoint>/<type>/<id>
        String subscriber = subscriberOf(path);
        java.util.concurrent.CountDownLatch hold = held.get(subscriber);
        if (hold != null) {
            try {
                // a slow subscriber: answers only when released (or after 30 s)
                hold.await(30, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        int answer = status.getOrDefault(subscriber, 200);
        if (answer >= 200 && answer < 300) {
            Map<String, String> headers = exchange.getRequestHeaders().entrySet().stream().collect(Collectors.toMap(
                    e -> e.getKey().toLowerCase(java.util.Locale.ROOT), e -> String.join(",", e.getValue())));
            received.add(new Received(exchange.getRequestMethod(), path, headers, body));
        }
        exchange.sendResponseHeaders(answer, -1);
        exchange.close();
    }

    private static String subscriberOf(String path) {
        int second = path.indexOf('/', 1);
        return second < 0 ? path : path.substring(0, second);
    }

    /** Answer this status on the path (and below it) from now on. */
    void answer(String path, int httpStatus) {
        status.put(path, httpStatus);
    }

    /** Requests on the path get no answer until {@link #release}. */
    void hold(String path) {
        held.put(path, new java.util.concurrent.CountDownLatch(1));
    }

    void release(String path) {
        java.util.concurrent.CountDownLatch l = held.remove(path);
        if (l != null) {
            l.countDown();
        }
    }

    /** The requests answered 2xx on the path or below it, in arrival order. */
    List<Received> received(String path) {
        List<Received> r = new ArrayList<>();
        for (Received x : received) {
            if (x.path().equals(path) || x.path().startsWith(path + "/")) {
                r.add(x);
            }
        }
        return r;
    }

    int port() {
        return server.getAddress().getPort();
    }

    @Override
    public void close() {
        held.values().forEach(java.util.concurrent.CountDownLatch::countDown);
        server.stop(0);
    }
}
