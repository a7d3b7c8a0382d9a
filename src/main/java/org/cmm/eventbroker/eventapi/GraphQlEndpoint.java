package org.cmm.eventbroker.eventapi;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import graphql.ExecutionResult;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import org.apache.camel.CamelContext;
import org.apache.camel.CamelContextAware;
import org.apache.camel.ExtendedStartupListener;
import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpRouter;
import org.apache.camel.support.service.ServiceSupport;
import org.cmm.eventbroker.platform.security.http.Caller;
import org.cmm.eventbroker.platform.security.http.HttpAccessGuard;
import org.cmm.eventbroker.platform.security.http.InvalidTokenException;
import org.reactivestreams.Publisher;
import org.reactivestreams.Subscriber;
import org.reactivestreams.Subscription;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * GraphQL over the event API (docs/event-api.md, GraphQL): {@code POST /graphql} answers queries over the topic
 * catalog ({@link GraphQlApi}), and a WebSocket upgrade of {@code GET /graphql} speaks the
 * {@code graphql-transport-ws} protocol (what the graphql-ws library speaks) for subscriptions to a topic's events and
 * for queries. It is mounted on the platform HTTP server's router beside {@link EventApiGateway} and serves with the
 * gateway's own parts: the same topic catalog and readers, the same per-topic access (role bindings), stream limits,
 * slow-client policy and usage metrics.
 *
 * <p>Access with access control on: {@code POST /graphql} needs a bearer token (config/access.properties, the guard);
 * the WebSocket authenticates itself like the SSE/WebSocket streams: an {@code Authorization: Bearer} header on the
 * upgrade, a single-use {@code ?ticket=} (browsers), or the token or ticket in {@code connection_init}'s payload
 * ({@code {"authorization": "Bearer ..."}} or {@code {"ticket": ...}}: never in a URL). Without them the socket is
 * closed with 4403 before anything runs.
 */
public class GraphQlEndpoint extends ServiceSupport implements CamelContextAware, ExtendedStartupListener {

    private static final Logger LOG = LoggerFactory.getLogger(GraphQlEndpoint.class);
    static final String PATH = "/graphql";
    static final String SUBPROTOCOL = "graphql-transport-ws";
    private static final Map<CamelContext, Boolean> MOUNTED = java.util.Collections.synchronizedMap(
            new java.util.WeakHashMap<>());

    private CamelContext camelContext;
    private int port;
    private int maxDepth = 15;
    private int maxComplexity = 1000;
    private int maxQueryBytes = 65536;
    private int latestScanRecords = 1000;
    private long connectionInitTimeoutMs = 10_000;
    private int maxOperationsPerConnection = 20;
    private volatile boolean mounted;
    private EventApiGateway gateway;
    private AsyncApiDocument asyncApi;
    private EventApiGateway.Shared shared;
    private GraphQlApi api;

    @Override
    public CamelContext getCamelContext() {
        return camelContext;
    }

    @Override
    public void setCamelContext(CamelContext camelContext) {
        if (this.camelContext == camelContext) {
            return;
        }
        this.camelContext = camelContext;
        try {
            camelContext.addStartupListener(this);
            camelContext.addService(this, true, false);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void onCamelContextStarted(CamelContext context, boolean alreadyStarted) {
        // mounted once every route (and so the platform HTTP server and the gateway) is up
    }

    @Override
    public void onCamelContextFullyStarted(CamelContext context, boolean alreadyStarted) {
        mount();
    }

    @Override
    protected void doStart() {
        // mounted in onCamelContextFullyStarted
    }

    @Override
    protected void doStop() {
        // the stream sessions are the gateway's: it stops them
    }

    synchronized void mount() {
        if (mounted) {
            return;
        }
        mounted = true;
        // Camel main may create a beans-only file's beans twice (its beans are read early for the configuration, then
        // again with the routes): only the instance the registry holds serves, and only one per CamelContext
        if (!camelContext.getRegistry().findByType(GraphQlEndpoint.class).contains(this)
                || MOUNTED.putIfAbsent(camelContext, Boolean.TRUE) != null) {
            return;
        }
        if (gateway == null) {
            gateway = camelContext.getRegistry().findSingleByType(EventApiGateway.class);
        }
        if (gateway == null) {
            LOG.info("No event API gateway in this runtime (flow event-api not running): GraphQL is not served");
            return;
        }
        shared = gateway.shared();
        if (asyncApi == null) {
            asyncApi = camelContext.getRegistry().findSingleByType(AsyncApiDocument.class);
        }
        AsyncApiDocument asyncApi = this.asyncApi;
        ChannelDescriptions channels = new ChannelDescriptions(() -> asyncApi == null ? null
                : RecordCodec.JSON.valueToTree(asyncApi.document()));
        api = new GraphQlApi(gateway, channels, maxDepth, maxComplexity, latestScanRecords);
        int serverPort = port > 0 ? port : Integer.parseInt(camelContext.resolvePropertyPlaceholders("{{camel.server.port}}"));
        VertxPlatformHttpRouter router = VertxPlatformHttpRouter.lookup(camelContext,
                VertxPlatformHttpRouter.getRouterNameFromPort(serverPort));
        if (router == null) {
            throw new IllegalStateException("The platform HTTP server on port " + serverPort + " was not found");
        }
        Handler<RoutingContext> guard = shared.httpAccess().enabled() ? shared.httpAccess().intakeGuard()
                : RoutingContext::next;
        router.route(HttpMethod.POST, "/graphql").handler(BodyHandler.create(false).setBodyLimit(maxQueryBytes))
                .handler(shared.usage()::begin).handler(guard).handler(this::query).failureHandler(this::failure);
        router.route(HttpMethod.GET, "/graphql").handler(shared.usage()::begin).handler(guard).handler(this::upgrade)
                .failureHandler(this::failure);
        router.route(HttpMethod.GET, "/graphql/schema.graphqls").handler(guard).handler(ctx -> ctx.response()
                .putHeader("Content-Type", "text/plain; charset=utf-8").end(GraphQlApi.sdl()));
        LOG.info("GraphQL on port {}: POST {} (queries), WebSocket {} ({}); depth at most {}, complexity at most {}",
                serverPort, PATH, PATH, SUBPROTOCOL, maxDepth, maxComplexity);
    }

    // ---- POST /graphql ----

    private void query(RoutingContext ctx) {
        JsonNode request;
        try {
            byte[] body = ctx.body() == null || ctx.body().buffer() == null ? new byte[0] : ctx.body().buffer().getBytes();
            request = RecordCodec.JSON.readTree(body);
        } catch (java.io.IOException e) {
            errors(ctx, 400, "The body is not JSON: expected {\"query\": ..., \"variables\": ..., \"operationName\": ...}.");
            return;
        }
        if (request == null || !request.isObject() || !request.path("query").isTextual()) {
            errors(ctx, 400, "Expected {\"query\": \"...\"} (with optional \"variables\" and \"operationName\").");
            return;
        }
        Map<String, Object> variables;
        try {
            variables = variables(request.get("variables"));
        } catch (IllegalArgumentException e) {
            errors(ctx, 400, e.getMessage());
            return;
        }
        AtomicLong out = new AtomicLong();
        ctx.put(ApiUsage.RECORDS_OUT, out);
        Map<String, Object> context = context(ctx.get(HttpAccessGuard.CALLER), address(ctx), out, null);
        String operationName = request.path("operationName").isTextual() ? request.path("operationName").asText() : null;
        ctx.vertx().<ExecutionResult>executeBlocking(() -> api.execute(request.path("query").asText(), operationName,
                variables, context), false).onComplete(done -> {
                    if (done.failed()) {
                        LOG.warn("GraphQL request failed: {}", done.cause().getClass().getSimpleName());
                        errors(ctx, 500, "Internal error.");
                        return;
                    }
                    ExecutionResult result = done.result();
                    if (result.getData() instanceof Publisher<?>) {
                        errors(ctx, 400, "Subscriptions are served over WebSocket (graphql-transport-ws) at /graphql.");
                        return;
                    }
                    ctx.response().setStatusCode(200).putHeader("Content-Type", "application/json")
                            .end(RecordCodec.JSON.valueToTree(result.toSpecification()).toString());
                });
    }

    private static Map<String, Object> variables(JsonNode node) {
        if (node == null || node.isNull()) {
            return Map.of();
        }
        if (!node.isObject()) {
            throw new IllegalArgumentException("variables must be a JSON object.");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> map = RecordCodec.JSON.convertValue(node, Map.class);
        return map;
    }

    private static Map<String, Object> context(Caller caller, String address, AtomicLong out, Object connection) {
        Map<String, Object> context = new HashMap<>();
        if (caller != null) {
            context.put(GraphQlApi.CALLER, caller);
        }
        if (address != null) {
            context.put(GraphQlApi.ADDRESS, address);
        }
        context.put(GraphQlApi.CLIENT, caller != null ? caller.name() : address == null ? "?" : address);
        context.put(ApiUsage.RECORDS_OUT, out);
        if (connection != null) {
            context.put(GraphQlApi.CONNECTION, connection);
        }
        return context;
    }

    /** An answer in GraphQL's error shape: {@code {"errors":[{"message":..,"extensions":{"code":..,"status":..}}]}}. */
    private static void errors(RoutingContext ctx, int status, String message) {
        if (ctx.response().ended() || ctx.response().closed()) {
            return;
        }
        ObjectNode body = RecordCodec.JSON.createObjectNode();
        body.putArray("errors").add(error(message, status));
        ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json").end(body.toString());
    }

    private static ObjectNode error(String message, int status) {
        ObjectNode e = RecordCodec.JSON.createObjectNode().put("message", message);
        e.putObject("extensions").put("code", GraphQlApi.code(status)).put("status", status);
        return e;
    }

    private void failure(RoutingContext ctx) {
        int status = ctx.statusCode() > 0 ? ctx.statusCode() : 500;
        if (ctx.failure() != null && !(ctx.failure() instanceof ApiException)) {
            LOG.warn("GraphQL request failed: {}", ctx.failure().getClass().getSimpleName());
        }
        errors(ctx, ctx.failure() instanceof ApiException a ? a.status() : status, ctx.failure() instanceof ApiException a
                ? a.getMessage() : status == 413 ? "The request body is larger than " + maxQueryBytes + " bytes."
                        : "The request failed (" + status + ").");
    }

    private static String address(RoutingContext ctx) {
        return ctx.request().remoteAddress() == null ? null : ctx.request().remoteAddress().hostAddress();
    }

    // ---- WebSocket: graphql-transport-ws ----

    private void upgrade(RoutingContext ctx) {
        String upgrade = ctx.request().getHeader("Upgrade");
        if (upgrade == null || !upgrade.equalsIgnoreCase("websocket")) {
            errors(ctx, 400, "Send queries with POST /graphql, or upgrade to a WebSocket (" + SUBPROTOCOL + ").");
            return;
        }
        ctx.request().pause();
        String address = address(ctx);
        ctx.vertx().<Caller>executeBlocking(() -> upgradeCaller(ctx), false).onComplete(authenticated -> {
            if (authenticated.failed()) {
                ctx.request().resume();
                ApiException e = authenticated.cause() instanceof ApiException a ? a : new ApiException(401, "Invalid token.");
                errors(ctx, e.status(), e.getMessage());
                return;
            }
            ctx.request().toWebSocket().onComplete(upgraded -> {
                if (upgraded.failed()) {
                    return;
                }
                ServerWebSocket ws = upgraded.result();
                if (!SUBPROTOCOL.equals(ws.subProtocol())) {
                    ws.close((short) 4406, "Subprotocol not acceptable");
                    return;
                }
                AtomicLong out = new AtomicLong();
                ctx.put(ApiUsage.RECORDS_OUT, out);
                new TransportWs(ctx, ws, authenticated.result(), address, out).start();
            });
        });
    }

    /** The caller known at the upgrade (header or ticket), or null: then connection_init must bring one. */
    private Caller upgradeCaller(RoutingContext ctx) throws InvalidTokenException {
        if (!shared.access().enabled()) {
            return null;
        }
        Caller caller = ctx.get(HttpAccessGuard.CALLER);
        if (caller != null) {
            return caller;
        }
        String ticket = ctx.request().getParam("ticket");
        if (ticket != null) {
            return redeem(ticket);
        }
        String authorization = ctx.request().getHeader("Authorization");
        if (authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return shared.httpAccess().verifier().verify(authorization.substring(7).trim());
        }
        return null;
    }

    private Caller redeem(String ticket) {
        Caller c = shared.tickets().redeem(ticket);
        if (c == null) {
            throw new ApiException(401, "The ticket is unknown, used or expired.");
        }
        return c;
    }

    /** One graphql-transport-ws connection: its state, its operations. */
    private final class TransportWs implements EventPublisher.Connection {
        private final RoutingContext ctx;
        private final ServerWebSocket ws;
        private final String address;
        private final AtomicLong out;
        private final Map<String, Subscription> operations = new ConcurrentHashMap<>();
        private volatile Caller caller;
        private volatile boolean initialised;
        private volatile boolean acknowledged;
        private final AtomicBoolean closed = new AtomicBoolean();

        TransportWs(RoutingContext ctx, ServerWebSocket ws, Caller caller, String address, AtomicLong out) {
            this.ctx = ctx;
            this.ws = ws;
            this.caller = caller;
            this.address = address;
            this.out = out;
        }

        void start() {
            ws.setWriteQueueMaxSize(shared.streamWriteQueueBytes());
            ws.textMessageHandler(this::message);
            ws.binaryMessageHandler(b -> close(4400, "Binary messages are not part of " + SUBPROTOCOL));
            ws.closeHandler(v -> cancelAll());
            ws.exceptionHandler(e -> cancelAll());
            ctx.vertx().setTimer(connectionInitTimeoutMs, t -> {
                if (!acknowledged) {
                    close(4408, "Connection initialisation timeout");
                }
            });
        }

        private void message(String text) {
            JsonNode m;
            try {
                m = RecordCodec.JSON.readTree(text);
            } catch (java.io.IOException e) {
                close(4400, "Invalid message: not JSON");
                return;
            }
            String type = m == null ? "" : m.path("type").asText("");
            switch (type) {
                case "connection_init" -> init(m.path("payload"));
                case "ping" -> send(RecordCodec.JSON.createObjectNode().put("type", "pong"));
                case "pong" -> {
                }
                case "subscribe" -> subscribe(m);
                case "complete" -> {
                    Subscription s = operations.remove(m.path("id").asText(""));
                    if (s != null) {
                        s.cancel();
                    }
                }
                default -> close(4400, "Invalid message type");
            }
        }

        private void init(JsonNode payload) {
            if (initialised) {
                close(4429, "Too many initialisation requests");
                return;
            }
            initialised = true;
            if (!shared.access().enabled() || caller != null) {
                ack();
                return;
            }
            String authorization = payload.path("authorization").asText(payload.path("Authorization").asText(""));
            String ticket = payload.path("ticket").asText("");
            ctx.vertx().<Caller>executeBlocking(() -> {
                if (!ticket.isEmpty()) {
                    return redeem(ticket);
                }
                if (authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
                    return shared.httpAccess().verifier().verify(authorization.substring(7).trim());
                }
                return null;
            }, false).onComplete(r -> {
                if (r.failed() || r.result() == null) {
                    close(4403, "Forbidden");
                    return;
                }
                caller = r.result();
                ack();
            });
        }

        private void ack() {
            acknowledged = true;
            send(RecordCodec.JSON.createObjectNode().put("type", "connection_ack"));
        }

        private void subscribe(JsonNode m) {
            if (!acknowledged) {
                close(4401, "Unauthorized");
                return;
            }
            String id = m.path("id").asText("");
            JsonNode payload = m.path("payload");
            if (id.isEmpty() || !payload.path("query").isTextual()) {
                close(4400, "Invalid subscribe message");
                return;
            }
            if (operations.containsKey(id)) {
                close(4409, "Subscriber for " + (id.length() > 40 ? id.substring(0, 40) : id) + " already exists");
                return;
            }
            if (operations.size() >= maxOperationsPerConnection) {
                sendErrors(id, List.of(error("Too many operations on this connection (at most "
                        + maxOperationsPerConnection + ").", 429)));
                return;
            }
            Map<String, Object> variables;
            try {
                variables = variables(payload.get("variables"));
            } catch (IllegalArgumentException e) {
                sendErrors(id, List.of(error(e.getMessage(), 400)));
                return;
            }
            Pending pending = new Pending();
            operations.put(id, pending);
            String operationName = payload.path("operationName").isTextual() ? payload.path("operationName").asText()
                    : null;
            Map<String, Object> context = context(caller, address, out, this);
            ctx.vertx().<Void>executeBlocking(() -> {
                ExecutionResult result = api.execute(payload.path("query").asText(), operationName, variables, context);
                if (result.getData() instanceof Publisher<?> publisher) {
                    @SuppressWarnings("unchecked")
                    Publisher<ExecutionResult> events = (Publisher<ExecutionResult>) publisher;
                    events.subscribe(new Forward(id, pending));
                } else if (operations.remove(id, pending)) {
                    Map<String, Object> spec = result.toSpecification();
                    if (result.getData() == null && !result.getErrors().isEmpty()) {
                        sendErrors(id, RecordCodec.JSON.valueToTree(spec.get("errors")));
                    } else {
                        send(next(id, spec));
                        send(RecordCodec.JSON.createObjectNode().put("id", id).put("type", "complete"));
                    }
                }
                return null;
            }, false).onComplete(r -> {
                if (r.failed()) {
                    LOG.warn("GraphQL operation failed: {}", r.cause().getClass().getSimpleName());
                    if (operations.remove(id) != null) {
                        sendErrors(id, List.of(error("Internal error.", 500)));
                    }
                }
            });
        }

        private ObjectNode next(String id, Map<String, Object> spec) {
            ObjectNode n = RecordCodec.JSON.createObjectNode().put("id", id).put("type", "next");
            n.set("payload", RecordCodec.JSON.valueToTree(spec));
            return n;
        }

        private void sendErrors(String id, Iterable<? extends JsonNode> errors) {
            ObjectNode n = RecordCodec.JSON.createObjectNode().put("id", id).put("type", "error");
            ArrayNode list = n.putArray("payload");
            errors.forEach(list::add);
            send(n);
        }

        private void send(JsonNode message) {
            if (!ws.isClosed()) {
                ws.writeTextMessage(message.toString());
            }
        }

        private void close(int code, String reason) {
            if (closed.compareAndSet(false, true)) {
                cancelAll();
                if (!ws.isClosed()) {
                    ws.close((short) code, reason.length() > 100 ? reason.substring(0, 100) : reason);
                }
            }
        }

        private void cancelAll() {
            operations.values().forEach(Subscription::cancel);
            operations.clear();
        }

        @Override
        public boolean full() {
            return ws.writeQueueFull();
        }

        @Override
        public void ping() {
            if (!ws.isClosed()) {
                ws.writePing(io.vertx.core.buffer.Buffer.buffer("heartbeat"));
            }
        }

        @Override
        public void closeStalled(String reason) {
            close(1013, reason);
        }

        /** An operation whose subscription is not there yet: cancelling it cancels the subscription when it comes. */
        private final class Pending implements Subscription {
            private volatile Subscription upstream;
            private volatile boolean cancelled;

            void attach(Subscription s) {
                upstream = s;
                if (cancelled) {
                    s.cancel();
                }
            }

            @Override
            public void request(long n) {
                Subscription s = upstream;
                if (s != null) {
                    s.request(n);
                }
            }

            @Override
            public void cancel() {
                cancelled = true;
                Subscription s = upstream;
                if (s != null) {
                    s.cancel();
                }
            }
        }

        /** Sends a subscription's results as {@code next} messages, its end as {@code complete} or {@code error}. */
        private final class Forward implements Subscriber<ExecutionResult> {
            private static final int WINDOW = 64;
            private final String id;
            private final Pending pending;

            Forward(String id, Pending pending) {
                this.id = id;
                this.pending = pending;
            }

            @Override
            public void onSubscribe(Subscription s) {
                pending.attach(s);
                if (!pending.cancelled) {
                    s.request(WINDOW);
                }
            }

            @Override
            public void onNext(ExecutionResult result) {
                send(next(id, result.toSpecification()));
                out.incrementAndGet();
                pending.request(1);
            }

            @Override
            public void onError(Throwable t) {
                if (operations.remove(id, pending)) {
                    ApiException e = t instanceof ApiException a ? a : null;
                    sendErrors(id, List.of(e != null ? error(e.getMessage(), e.status()) : error("Internal error.", 500)));
                }
            }

            @Override
            public void onComplete() {
                if (operations.remove(id, pending)) {
                    send(RecordCodec.JSON.createObjectNode().put("id", id).put("type", "complete"));
                }
            }
        }
    }

    // ---- configuration (config/eventapi.properties) ----

    public void setPort(int port) {
        this.port = port;
    }

    /** The event-api flow's gateway, whose parts GraphQL serves with. */
    public void setGateway(EventApiGateway gateway) {
        this.gateway = gateway;
    }

    /** The AsyncAPI document the topics' channels are read from. */
    public void setAsyncApi(AsyncApiDocument asyncApi) {
        this.asyncApi = asyncApi;
    }

    public void setMaxDepth(int maxDepth) {
        this.maxDepth = maxDepth;
    }

    public void setMaxComplexity(int maxComplexity) {
        this.maxComplexity = maxComplexity;
    }

    public void setMaxQueryBytes(int maxQueryBytes) {
        this.maxQueryBytes = maxQueryBytes;
    }

    public void setLatestScanRecords(int latestScanRecords) {
        this.latestScanRecords = latestScanRecords;
    }

    public void setConnectionInitTimeoutMs(long connectionInitTimeoutMs) {
        this.connectionInitTimeoutMs = connectionInitTimeoutMs;
    }

    public void setMaxOperationsPerConnection(int maxOperationsPerConnection) {
        this.maxOperationsPerConnection = maxOperationsPerConnection;
    }
}
