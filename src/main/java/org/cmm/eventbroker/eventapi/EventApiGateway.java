package org.cmm.eventbroker.eventapi;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import org.apache.camel.CamelContext;
import org.apache.camel.CamelContextAware;
import org.apache.camel.ExtendedStartupListener;
import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpRouter;
import org.apache.camel.support.service.ServiceSupport;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.resource.ResourceType;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.cmm.eventbroker.platform.security.audit.AuditEvent;
import org.cmm.eventbroker.platform.security.audit.AuditSink;
import org.cmm.eventbroker.platform.security.audit.RuntimeAuditSink;
import org.cmm.eventbroker.platform.security.http.Caller;
import org.cmm.eventbroker.platform.security.http.HttpAccess;
import org.cmm.eventbroker.platform.security.http.HttpAccessGuard;
import org.cmm.eventbroker.platform.security.http.InvalidTokenException;
import org.cmm.eventbroker.platform.security.http.StreamTickets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The event API gateway (docs/event-api.md): Kafka topics as HTTP APIs on the platform HTTP server
 * ({@code camel.server.port}). It mounts Vert.x handlers on the server's router once Camel has started, because
 * streams (Server-Sent Events, WebSocket) need the connection itself, which a Camel exchange does not give:
 * <ul>
 * <li>the Kafka REST Proxy v3 resources: clusters, topics, partitions, produce;</li>
 * <li>the stateless cursor read {@code GET /v3/clusters/{id}/topics/{topic}/records?position=} (this project's
 * extension; {@link Position});</li>
 * <li>{@code GET /streams/{topic}} (SSE) and {@code /ws/streams/{topic}} (WebSocket), each event's id a resumable
 * position ({@link StreamSession}), with single-use tickets ({@code POST /streams/tickets});</li>
 * <li>the marketplace's subscriptions ({@code /portal/api/subscriptions}), which write role bindings.</li>
 * </ul>
 * With access control on, the platform's {@link HttpAccessGuard} (rules in config/access.properties) checks the
 * token first, then {@link ChannelAccess} decides per topic with the Kafka authorizer's role bindings. Errors answer
 * in the REST Proxy's shape, {@code {"error_code":..,"message":..}}.
 */
public class EventApiGateway extends ServiceSupport implements CamelContextAware, ExtendedStartupListener {

    private static final Logger LOG = LoggerFactory.getLogger(EventApiGateway.class);

    /** Records a shared tail reader takes in one poll (it hands them out at once, holding none). */
    private static final int TAIL_POLL_RECORDS = 500;

    private CamelContext camelContext;
    private int port;
    private int maxRequestBytes = 2 * 1024 * 1024;
    private int maxRecordBytes = 1_000_000;
    private int maxRecordsPerRequest = 500;
    private int readMax = 500;
    private long readWaitMaxMs = 5000;
    private int readers = 4;
    private long heartbeatMs = 15000;
    private long pollIntervalMs = 50;
    private long stallTimeoutMs = 30000;
    private int streamBufferRecords = 100;
    private int streamWriteQueueBytes = 256 * 1024;
    private int maxStreams = 1000;
    private int maxStreamsPerClient = 10;
    private int streamThreads = 2;
    private long ticketTtlMs = 30000;
    private String roleBindingsFile;
    private String autoApprove = "";
    private String produceLingerMs = "0";

    private TopicCatalog catalog;
    private Admin admin;
    private KafkaProducer<String, byte[]> producer;
    private CursorReader reader;
    private ScheduledThreadPoolExecutor streams;
    private ScheduledThreadPoolExecutor housekeeping;
    private StreamTickets tickets;
    private ChannelAccess access;
    private Subscriptions subscriptions;
    private SubscriptionJournal subscriptionJournal;
    private String subscriptionsTopic;
    private ConsumerInstances consumerInstances;
    private ApiUsage usage;
    private String usageTopic;
    private long usageIntervalMs = 60_000;
    private int maxConsumerInstances = 100;
    private long consumerIdleTimeoutMs = 300_000;
    private HttpAccess httpAccess;
    private AuditSink audit;
    private final Set<StreamSession> sessions = ConcurrentHashMap.newKeySet();
    private StreamFanOut fanOut;
    private final Map<String, AtomicInteger> streamsPerClient = new ConcurrentHashMap<>();
    private final List<ScopedStream> scoped = new java.util.concurrent.CopyOnWriteArrayList<>();
    private Mount mounter;
    private volatile EventApiGateway delegate;
    private volatile boolean mounted;

    @Override
    public CamelContext getCamelContext() {
        return camelContext;
    }

    @Override
    public void setCamelContext(CamelContext camelContext) {
        if (this.camelContext == camelContext) {
            return; // addService sets it again
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
        // mounted once every route (and so the platform HTTP server) is up: onCamelContextFullyStarted
    }

    @Override
    public void onCamelContextFullyStarted(CamelContext context, boolean alreadyStarted) {
        mount();
    }

    /** Mounts the handlers on the platform HTTP server's router (once). */
    synchronized void mount() {
        if (mounted) {
            return;
        }
        int serverPort = port > 0 ? port : Integer.parseInt(camelContext.resolvePropertyPlaceholders("{{camel.server.port}}"));
        VertxPlatformHttpRouter router = VertxPlatformHttpRouter.lookup(camelContext,
                VertxPlatformHttpRouter.getRouterNameFromPort(serverPort));
        if (router == null) {
            throw new IllegalStateException("The platform HTTP server on port " + serverPort
                    + " was not found (camel.server.enabled); the event API cannot be served");
        }
        // issue 16: the YAML loader may create this bean twice (pre-parse and load); both would mount the same paths,
        // the first one answering (its tickets), so scoped streams added to the other could never redeem a ticket.
        // One gateway per server: a second instance hands its scoped streams to the first and mounts nothing.
        String mountedKey = "cmm.eventapi.mounted-gateway." + serverPort;
        EventApiGateway first = camelContext.getRegistry().lookupByNameAndType(mountedKey, EventApiGateway.class);
        if (first != null && first != this) {
            delegate = first;
            mounted = true;
            scoped.forEach(s -> first.addScopedStream(s.ssePath(), s.wsPath(), s.scope()));
            LOG.debug("Event API already mounted on port {} by another instance of the bean", serverPort);
            return;
        }
        camelContext.getRegistry().bind(mountedKey, this);
        KafkaClients clients = KafkaClients.of(camelContext);
        admin = clients.admin("cmm-eventapi", Map.of());
        catalog = new TopicCatalog(admin, 10_000, 10_000);
        producer = clients.producer("cmm-eventapi-producer", Map.of("linger.ms", produceLingerMs,
                "max.request.size", String.valueOf(Math.max(maxRecordBytes + 64 * 1024, 1048576))));
        reader = new CursorReader(() -> clients.consumer("cmm-eventapi-reader", null,
                Map.of(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, String.valueOf(readMax),
                        ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest")), readers);
        streams = new ScheduledThreadPoolExecutor(streamThreads, r -> {
            Thread t = new Thread(r, "cmm-eventapi-streams");
            t.setDaemon(true);
            return t;
        });
        streams.setRemoveOnCancelPolicy(true);
        fanOut = new StreamFanOut(() -> clients.streamReader("cmm-eventapi-stream-tail", TAIL_POLL_RECORDS));
        tickets = new StreamTickets(ticketTtlMs, 10_000);
        httpAccess = HttpAccess.of(camelContext);
        AuditSink bound = AuditSink.of(camelContext);
        if (bound == AuditSink.NONE && httpAccess.enabled()) {
            RuntimeAuditSink own = new RuntimeAuditSink(camelContext);
            try {
                camelContext.addService(own, true, true);
                // bound, so the access guard's decisions (bearer, session cookie) are recorded by it too; under the
                // AuditSink type, as SecurePostureBootstrap binds the runtime's sink: Camel's registry keys a name's
                // beans by type, and AuditSink.of finds the AuditSink-typed one first, so a sink bound later under
                // the same name and type replaces this one instead of sitting beside it unseen
                camelContext.getRegistry().bind(AuditSink.REGISTRY_NAME, AuditSink.class, own);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
            bound = own;
        }
        audit = bound;
        Path bindings = Path.of(roleBindingsFile == null || roleBindingsFile.isBlank()
                ? camelContext.resolvePropertyPlaceholders("{{cmm.security.dir}}") + "/kafka-role-bindings.conf"
                : roleBindingsFile);
        access = new ChannelAccess(httpAccess.enabled(), bindings);
        if (subscriptionsTopic != null && !subscriptionsTopic.isBlank()) {
            ensureTopic(subscriptionsTopic, Map.of("cleanup.policy", "compact"));
            subscriptionJournal = new SubscriptionJournal(subscriptionsTopic, producer,
                    clients.consumer("cmm-eventapi-subscriptions", null, Map.of()));
        }
        subscriptions = new Subscriptions(bindings, list(autoApprove), audit, subscriptionJournal);

        Handler<RoutingContext> guard = httpAccess.enabled() ? httpAccess.intakeGuard() : RoutingContext::next;
        BodyHandler body = BodyHandler.create(false).setBodyLimit(maxRequestBytes);
        io.micrometer.core.instrument.MeterRegistry meters = camelContext.getRegistry()
                .findSingleByType(io.micrometer.core.instrument.MeterRegistry.class);
        usage = new ApiUsage(meters);
        if (meters != null) {
            StreamFanOut f = fanOut;
            io.micrometer.core.instrument.Gauge
                    .builder("cmm.eventapi.stream.consumers", f, StreamFanOut::sharedConsumers)
                    .description("Kafka consumers held by the streams: one shared tail reader per topic (shared), "
                            + "streams catching up or let go for being slow (own)")
                    .tag("kind", "shared").register(meters);
            io.micrometer.core.instrument.Gauge.builder("cmm.eventapi.stream.consumers", f,
                    x -> x.ownConsumers().get()).tag("kind", "own").register(meters);
            io.micrometer.core.instrument.Gauge.builder("cmm.eventapi.stream.clients", sessions, Set::size)
                    .description("Open streams (SSE, WebSocket, GraphQL subscriptions) of this instance")
                    .register(meters);
        }
        Mount m = new Mount(router, guard, body);
        // Kafka REST Proxy v3
        m.get("/v3/clusters", this::clusters);
        m.get("/v3/clusters/:cluster_id", this::cluster);
        m.get("/v3/clusters/:cluster_id/topics", this::topics);
        m.get("/v3/clusters/:cluster_id/topics/:topic", this::topic);
        m.get("/v3/clusters/:cluster_id/topics/:topic/partitions", this::partitions);
        m.get("/v3/clusters/:cluster_id/topics/:topic/partitions/:partition", this::partition);
        m.get("/v3/clusters/:cluster_id/topics/:topic/records", this::read);
        m.route(HttpMethod.POST, "/v3/clusters/:cluster_id/topics/:topic/records", true, this::produce);
        // Kafka REST Proxy v2 consumer instances
        consumerInstances = new ConsumerInstances((group, overrides) -> clients.consumer("cmm-eventapi-v2", group,
                overrides), maxConsumerInstances, consumerIdleTimeoutMs);
        m.route(HttpMethod.POST, "/consumers/:group", true, this::createConsumer);
        m.route(HttpMethod.POST, "/consumers/:group/instances/:instance/subscription", true, this::subscribeConsumer);
        m.get("/consumers/:group/instances/:instance/subscription", this::consumerSubscription);
        m.get("/consumers/:group/instances/:instance/records", this::consumerRecords);
        m.route(HttpMethod.POST, "/consumers/:group/instances/:instance/offsets", true, this::commitConsumer);
        m.route(HttpMethod.DELETE, "/consumers/:group/instances/:instance", false, this::deleteConsumer);
        // streams
        m.route(HttpMethod.POST, "/streams/tickets", false, this::ticket);
        m.get("/streams/:topic", this::sse);
        m.get("/ws/streams/:topic", this::websocket);
        mounter = m;
        scoped.forEach(this::mountScoped);
        // marketplace: the portal page and its API
        m.get("/portal/", this::portal);
        // the portal's OIDC login, whose session cookie the guard accepts (eventapi/portal/PortalLogin)
        org.cmm.eventbroker.eventapi.portal.PortalLogin login = org.cmm.eventbroker.eventapi.portal.PortalLogin.of(
                camelContext, httpAccess, audit);
        m.get("/portal/login", login::login);
        m.get("/portal/callback", login::callback);
        m.get("/portal/logout", login::logout);
        m.route(HttpMethod.POST, "/portal/logout", false, login::logout);
        m.get("/portal/usage", ctx -> ctx.response().putHeader("Content-Type", "text/html; charset=utf-8")
                .putHeader("Cache-Control", "no-store").end(UsagePage.html(usage.totals())));
        m.get("/portal/api/usage", ctx -> json(ctx, 200, UsagePage.json(usage.totals())));
        m.route(HttpMethod.POST, "/portal/api/subscriptions", true, this::subscribe);
        m.get("/portal/api/subscriptions", this::listSubscriptions);
        m.route(HttpMethod.POST, "/portal/api/subscriptions/:id/approve", false, this::approve);
        // housekeeping off the stream scheduler: idle v2 instances closed, usage events written
        housekeeping = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "cmm-eventapi-housekeeping");
            t.setDaemon(true);
            return t;
        });
        housekeeping.scheduleWithFixedDelay(() -> {
            try {
                consumerInstances.expire();
            } catch (RuntimeException e) {
                LOG.warn("Idle consumer instances not closed: {}", e.getClass().getSimpleName());
            }
        }, 30, 30, TimeUnit.SECONDS);
        if (usageTopic != null && !usageTopic.isBlank()) {
            java.time.Instant[] from = {java.time.Instant.now()};
            boolean[] ensured = {false};
            housekeeping.scheduleWithFixedDelay(() -> {
                java.time.Instant to = java.time.Instant.now();
                try {
                    if (!ensured[0]) {
                        ensureTopic(usageTopic);
                        ensured[0] = true;
                    }
                    usage.publish(producer, usageTopic, from[0], to);
                } catch (RuntimeException e) {
                    LOG.warn("Usage events not published: {}", e.getClass().getSimpleName());
                }
                from[0] = to;
            }, usageIntervalMs, usageIntervalMs, TimeUnit.MILLISECONDS);
        }
        mounted = true;
        LOG.info("Event API on port {}: /v3 (Kafka REST Proxy v3), /streams (SSE), /ws/streams (WebSocket), "
                + "/portal/api/subscriptions; access per channel {}", serverPort,
                httpAccess.enabled() ? "from " + bindings : "off (development posture)");
    }

    /** Mounts routes: the body (when it has one), the usage record, the access guard, the handler; errors in the API's shape. */
    private final class Mount {
        private final VertxPlatformHttpRouter router;
        private final Handler<RoutingContext> guard;
        private final BodyHandler body;

        Mount(VertxPlatformHttpRouter router, Handler<RoutingContext> guard, BodyHandler body) {
            this.router = router;
            this.guard = guard;
            this.body = body;
        }

        void get(String path, Handler<RoutingContext> handler) {
            route(HttpMethod.GET, path, false, handler);
        }

        void route(HttpMethod method, String path, boolean withBody, Handler<RoutingContext> handler) {
            io.vertx.ext.web.Route route = router.route(method, path);
            if (withBody) {
                route.handler(body);
            }
            route.handler(usage::begin).handler(guard).handler(handler).failureHandler(EventApiGateway.this::failure);
        }
    }

    private void ensureTopic(String topic) {
        ensureTopic(topic, Map.of());
    }

    private void ensureTopic(String topic, Map<String, String> configs) {
        try {
            admin.createTopics(List.of(new org.apache.kafka.clients.admin.NewTopic(topic, configs.isEmpty()
                    ? java.util.Optional.<Integer>empty() : java.util.Optional.of(1), java.util.Optional.empty())
                    .configs(configs)))
                    .all().get(10, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            if (!(e.getCause() instanceof org.apache.kafka.common.errors.TopicExistsException)) {
                LOG.warn("Cannot create the topic {}: {}", topic, e.getCause().getClass().getSimpleName());
            }
        } catch (Exception e) {
            LOG.warn("Cannot create the topic {}: {}", topic, e.getClass().getSimpleName());
        }
    }

    @Override
    protected void doStart() {
        // the handlers are mounted once Camel has fully started (onCamelContextFullyStarted)
    }

    @Override
    protected void doStop() {
        if (housekeeping != null) {
            housekeeping.shutdownNow();
        }
        if (streams != null) {
            sessions.forEach(StreamSession::stop);
            streams.shutdown();
            try {
                streams.awaitTermination(2, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            streams.shutdownNow();
            sessions.forEach(StreamSession::closeNow);
        }
        if (fanOut != null) {
            fanOut.close();
        }
        if (reader != null) {
            reader.close();
        }
        if (consumerInstances != null) {
            consumerInstances.close();
        }
        if (subscriptionJournal != null) {
            subscriptionJournal.close();
        }
        if (producer != null) {
            producer.close(Duration.ofSeconds(5));
        }
        if (admin != null) {
            admin.close(Duration.ofSeconds(2));
        }
    }

    // ---- Kafka REST Proxy v3 ----

    private void clusters(RoutingContext ctx) {
        blocking(ctx, () -> {
            ObjectNode list = RecordCodec.JSON.createObjectNode().put("kind", "KafkaClusterList");
            list.putObject("metadata").put("self", base(ctx) + "/v3/clusters").putNull("next");
            list.putArray("data").add(clusterNode(ctx, catalog.clusterId()));
            return list;
        });
    }

    private void cluster(RoutingContext ctx) {
        blocking(ctx, () -> clusterNode(ctx, requireCluster(ctx)));
    }

    private ObjectNode clusterNode(RoutingContext ctx, String id) {
        String self = base(ctx) + "/v3/clusters/" + id;
        ObjectNode c = RecordCodec.JSON.createObjectNode().put("kind", "KafkaCluster");
        c.putObject("metadata").put("self", self).put("resource_name", "crn:///kafka=" + id);
        c.put("cluster_id", id);
        c.putObject("topics").put("related", self + "/topics");
        c.putObject("brokers").put("related", self + "/brokers");
        return c;
    }

    private void topics(RoutingContext ctx) {
        blocking(ctx, () -> {
            String id = requireCluster(ctx);
            Caller caller = ctx.get(HttpAccessGuard.CALLER);
            ObjectNode list = RecordCodec.JSON.createObjectNode().put("kind", "KafkaTopicList");
            list.putObject("metadata").put("self", base(ctx) + "/v3/clusters/" + id + "/topics").putNull("next");
            ArrayNode data = list.putArray("data");
            for (String name : catalog.topics()) {
                if (access.allows(caller, AclOperation.DESCRIBE, name)) {
                    catalog.describe(name).ifPresent(d -> data.add(topicNode(ctx, id, d)));
                }
            }
            return list;
        });
    }

    private void topic(RoutingContext ctx) {
        blocking(ctx, () -> {
            String id = requireCluster(ctx);
            return topicNode(ctx, id, describe(ctx, AclOperation.DESCRIBE));
        });
    }

    private ObjectNode topicNode(RoutingContext ctx, String clusterId, TopicDescription d) {
        String self = base(ctx) + "/v3/clusters/" + clusterId + "/topics/" + d.name();
        ObjectNode t = RecordCodec.JSON.createObjectNode().put("kind", "KafkaTopic");
        t.putObject("metadata").put("self", self).put("resource_name", "crn:///kafka=" + clusterId + "/topic=" + d.name());
        t.put("cluster_id", clusterId).put("topic_name", d.name()).put("is_internal", d.isInternal());
        t.put("replication_factor", d.partitions().isEmpty() ? 0 : d.partitions().get(0).replicas().size());
        t.put("partitions_count", d.partitions().size());
        t.putObject("partitions").put("related", self + "/partitions");
        t.putObject("configs").put("related", self + "/configs");
        t.putObject("partition_reassignments").put("related", self + "/partitions/-/reassignment");
        t.putArray("authorized_operations");
        return t;
    }

    private void partitions(RoutingContext ctx) {
        blocking(ctx, () -> {
            String id = requireCluster(ctx);
            TopicDescription d = describe(ctx, AclOperation.DESCRIBE);
            ObjectNode list = RecordCodec.JSON.createObjectNode().put("kind", "KafkaPartitionList");
            list.putObject("metadata").put("self", base(ctx) + "/v3/clusters/" + id + "/topics/" + d.name()
                    + "/partitions").putNull("next");
            ArrayNode data = list.putArray("data");
            for (TopicCatalog.PartitionInfo p : TopicCatalog.partitions(d)) {
                data.add(partitionNode(ctx, id, d.name(), p));
            }
            return list;
        });
    }

    private void partition(RoutingContext ctx) {
        blocking(ctx, () -> {
            String id = requireCluster(ctx);
            TopicDescription d = describe(ctx, AclOperation.DESCRIBE);
            String wanted = ctx.pathParam("partition");
            return TopicCatalog.partitions(d).stream().filter(p -> String.valueOf(p.id()).equals(wanted)).findFirst()
                    .map(p -> partitionNode(ctx, id, d.name(), p))
                    .orElseThrow(() -> new ApiException(404, "This server does not host this topic-partition."));
        });
    }

    private ObjectNode partitionNode(RoutingContext ctx, String clusterId, String topic, TopicCatalog.PartitionInfo p) {
        String self = base(ctx) + "/v3/clusters/" + clusterId + "/topics/" + topic + "/partitions/" + p.id();
        ObjectNode n = RecordCodec.JSON.createObjectNode().put("kind", "KafkaPartition");
        n.putObject("metadata").put("self", self)
                .put("resource_name", "crn:///kafka=" + clusterId + "/topic=" + topic + "/partition=" + p.id());
        n.put("cluster_id", clusterId).put("topic_name", topic).put("partition_id", p.id());
        n.putObject("leader").put("related", base(ctx) + "/v3/clusters/" + clusterId + "/brokers/" + p.leader());
        n.putObject("replicas").put("related", self + "/replicas");
        n.putObject("reassignment").put("related", self + "/reassignment");
        return n;
    }

    private void produce(RoutingContext ctx) {
        ctx.vertx().<List<RecordCodec.Produce>>executeBlocking(() -> {
            String id = requireCluster(ctx);
            TopicDescription d = describe(ctx, AclOperation.WRITE);
            byte[] bytes = ctx.body() == null || ctx.body().buffer() == null ? new byte[0] : ctx.body().buffer().getBytes();
            List<RecordCodec.Produce> records = RecordCodec.parse(d.name(), bytes, d.partitions().size(),
                    maxRecordBytes, maxRecordsPerRequest);
            ctx.put("cmm.eventapi.cluster", id);
            return records;
        }, false).onComplete(parsed -> {
            if (parsed.failed()) {
                error(ctx, parsed.cause());
                return;
            }
            List<RecordCodec.Produce> records = parsed.result();
            ctx.put(ApiUsage.RECORDS_IN, records.size());
            String clusterId = ctx.get("cmm.eventapi.cluster");
            JsonNode[] answers = new JsonNode[records.size()];
            AtomicInteger pending = new AtomicInteger(records.size());
            for (int i = 0; i < records.size(); i++) {
                int index = i;
                RecordCodec.Produce p = records.get(i);
                try {
                    producer.send(p.record(), (RecordMetadata m, Exception e) -> {
                        answers[index] = e == null ? RecordCodec.produced(clusterId, p, m.partition(), m.offset(),
                                m.timestamp()) : errorNode(sendFailure(e));
                        if (pending.decrementAndGet() == 0) {
                            answerProduce(ctx, answers);
                        }
                    });
                } catch (RuntimeException e) {
                    answers[index] = errorNode(sendFailure(e));
                    if (pending.decrementAndGet() == 0) {
                        answerProduce(ctx, answers);
                    }
                }
            }
        });
    }

    private static ApiException sendFailure(Exception e) {
        if (e instanceof RecordTooLargeException) {
            return new ApiException(413, "The record is larger than Kafka accepts.");
        }
        LOG.warn("Event API produce failed: {}", e.getClass().getSimpleName());
        return new ApiException(503, "Kafka did not acknowledge the record: " + e.getClass().getSimpleName());
    }

    private static void answerProduce(RoutingContext ctx, JsonNode[] answers) {
        if (answers.length == 1) {
            int status = answers[0].path("error_code").asInt(500);
            json(ctx, status >= 100 && status < 600 ? status : 500, answers[0]);
            return;
        }
        StringBuilder body = new StringBuilder();
        for (JsonNode a : answers) {
            body.append(a.toString()).append('\n');
        }
        ctx.response().setStatusCode(200).putHeader("Content-Type", "application/json").end(body.toString());
    }

    private void read(RoutingContext ctx) {
        blocking(ctx, () -> {
            String id = requireCluster(ctx);
            TopicDescription d = describe(ctx, AclOperation.READ);
            String position = ctx.request().getParam("position");
            Position from = null;
            if (position != null) {
                try {
                    from = Position.decode(position, d.name());
                } catch (IllegalArgumentException e) {
                    throw new ApiException(400, "Invalid position: " + e.getMessage() + ".");
                }
            }
            int max = intParam(ctx, "max", 100, 1, readMax);
            long wait = intParam(ctx, "timeout_ms", 1000, 0, (int) readWaitMaxMs);
            boolean earliest = !"latest".equals(ctx.request().getParam("from"));
            List<Integer> partitions = d.partitions().stream().map(p -> p.partition()).toList();
            CursorReader.Page page = reader.read(d.name(), partitions, from, earliest, max, wait,
                    ctx.request().getParam("key"));
            ObjectNode answer = RecordCodec.JSON.createObjectNode().put("kind", "KafkaRecordPage");
            answer.putObject("metadata").put("self", base(ctx) + "/v3/clusters/" + id + "/topics/" + d.name()
                    + "/records").put("next_position", page.next().encode());
            answer.put("cluster_id", id).put("topic_name", d.name());
            ArrayNode data = answer.putArray("data");
            for (ConsumerRecord<String, byte[]> r : page.records()) {
                data.add(RecordCodec.render(r));
            }
            ctx.put(ApiUsage.RECORDS_OUT, page.records().size());
            answer.put("next_position", page.next().encode());
            return answer;
        });
    }

    // ---- Kafka REST Proxy v2 consumer instances ----

    private static final String V2 = "application/vnd.kafka.v2+json";

    private static String owner(RoutingContext ctx) {
        Caller caller = ctx.get(HttpAccessGuard.CALLER);
        return caller == null ? "anonymous" : caller.name();
    }

    private static JsonNode body(RoutingContext ctx) {
        if (ctx.body() == null || ctx.body().buffer() == null || ctx.body().length() == 0) {
            return RecordCodec.JSON.createObjectNode();
        }
        try {
            return RecordCodec.JSON.readTree(ctx.body().buffer().getBytes());
        } catch (java.io.IOException e) {
            throw new ApiException(400, 40001, "Malformed JSON.");
        }
    }

    private void v2(RoutingContext ctx, int status, Callable<JsonNode> work) {
        ctx.vertx().executeBlocking(work, false).onComplete(r -> {
            if (r.failed()) {
                error(ctx, r.cause());
            } else if (r.result() == null) {
                ctx.response().setStatusCode(204).end();
            } else if (!ctx.response().ended()) {
                ctx.response().setStatusCode(status).putHeader("Content-Type", V2).end(r.result().toString());
            }
        });
    }

    private void createConsumer(RoutingContext ctx) {
        v2(ctx, 200, () -> {
            String group = ctx.pathParam("group");
            Caller caller = ctx.get(HttpAccessGuard.CALLER);
            if (!access.allows(caller, AclOperation.READ, ResourceType.GROUP, group)) {
                audit.record(AuditEvent.authorization("http", caller == null ? null : caller.name(), "Read", "Group",
                        group, false, address(ctx), "no role binding grants Read on the group"));
                throw new ApiException(403, 40301, "Not authorized to use consumer group '" + group + "'.");
            }
            ConsumerInstances.Instance i = consumerInstances.create(group, body(ctx), owner(ctx));
            return RecordCodec.JSON.createObjectNode().put("instance_id", i.name)
                    .put("base_uri", base(ctx) + "/consumers/" + group + "/instances/" + i.name);
        });
    }

    private void subscribeConsumer(RoutingContext ctx) {
        v2(ctx, 204, () -> {
            ConsumerInstances.Instance i = consumerInstances.get(ctx.pathParam("group"), ctx.pathParam("instance"),
                    owner(ctx));
            JsonNode topics = body(ctx).get("topics");
            if (topics == null || !topics.isArray() || topics.isEmpty()) {
                throw new ApiException(422, 42204, "topics must be a non-empty array (topic_pattern is not served).");
            }
            List<String> names = new java.util.ArrayList<>();
            for (JsonNode t : topics) {
                String topic = t.asText();
                if (catalog.describe(topic).isEmpty()) {
                    throw new ApiException(404, 40401, "Topic '" + topic + "' not found.");
                }
                checkChannel(ctx.get(HttpAccessGuard.CALLER), AclOperation.READ, topic, address(ctx));
                names.add(topic);
            }
            consumerInstances.subscribe(i, names);
            return null;
        });
    }

    private void consumerSubscription(RoutingContext ctx) {
        v2(ctx, 200, () -> {
            ConsumerInstances.Instance i = consumerInstances.get(ctx.pathParam("group"), ctx.pathParam("instance"),
                    owner(ctx));
            ObjectNode n = RecordCodec.JSON.createObjectNode();
            ArrayNode topics = n.putArray("topics");
            consumerInstances.subscription(i).forEach(topics::add);
            return n;
        });
    }

    private void consumerRecords(RoutingContext ctx) {
        v2(ctx, 200, () -> {
            ConsumerInstances.Instance i = consumerInstances.get(ctx.pathParam("group"), ctx.pathParam("instance"),
                    owner(ctx));
            long timeout = intParam(ctx, "timeout", 1000, 0, (int) readWaitMaxMs);
            long maxBytes = intParam(ctx, "max_bytes", 8 * 1024 * 1024, 1, Integer.MAX_VALUE);
            ArrayNode polled = consumerInstances.poll(i, timeout, maxBytes);
            ctx.put(ApiUsage.RECORDS_OUT, polled.size());
            return polled;
        });
    }

    private void commitConsumer(RoutingContext ctx) {
        v2(ctx, 200, () -> {
            ConsumerInstances.Instance i = consumerInstances.get(ctx.pathParam("group"), ctx.pathParam("instance"),
                    owner(ctx));
            consumerInstances.commit(i, body(ctx));
            return null;
        });
    }

    private void deleteConsumer(RoutingContext ctx) {
        v2(ctx, 204, () -> {
            consumerInstances.delete(consumerInstances.get(ctx.pathParam("group"), ctx.pathParam("instance"),
                    owner(ctx)));
            return null;
        });
    }

    // ---- streams ----

    private void ticket(RoutingContext ctx) {
        Caller caller = ctx.get(HttpAccessGuard.CALLER);
        try {
            String ticket = tickets.issue(caller == null ? new Caller("anonymous", Set.of()) : caller);
            json(ctx, 201, RecordCodec.JSON.createObjectNode().put("ticket", ticket)
                    .put("expires_in_ms", tickets.ttlMs()));
        } catch (StreamTickets.TooManyTicketsException e) {
            error(ctx, new ApiException(429, e.getMessage()));
        }
    }

    /** The stream's caller: the guard's, a bearer token, or a ticket; null with access control off. */
    private Caller streamCaller(RoutingContext ctx) throws InvalidTokenException {
        if (!access.enabled()) {
            return null;
        }
        Caller caller = ctx.get(HttpAccessGuard.CALLER);
        if (caller != null) {
            return caller;
        }
        String ticket = ctx.request().getParam("ticket");
        if (ticket != null) {
            Caller c = tickets.redeem(ticket);
            if (c == null) {
                throw new ApiException(401, "The ticket is unknown, used or expired.");
            }
            return c;
        }
        String authorization = ctx.request().getHeader("Authorization");
        if (authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return httpAccess.verifier().verify(authorization.substring(7).trim());
        }
        throw new ApiException(401, "A bearer token or a ticket (POST /streams/tickets) is required.");
    }

    private record StreamStart(String topic, StreamSession session) {
    }

    private void openStream(RoutingContext ctx, java.util.function.Function<Caller, StreamScope.Target> scope,
            java.util.function.Consumer<StreamStart> open) {
        String address = ctx.request().remoteAddress() == null ? "?" : ctx.request().remoteAddress().hostAddress();
        ctx.vertx().<StreamStart>executeBlocking(() -> {
            Caller caller;
            try {
                caller = streamCaller(ctx);
            } catch (InvalidTokenException e) {
                throw new ApiException(401, "Invalid token.");
            }
            StreamScope.Target target = scope.apply(caller);
            String topic = target.topic();
            TopicDescription d = catalog.require(topic);
            String last = ctx.request().getHeader("Last-Event-ID");
            if (last == null) {
                last = ctx.request().getParam("last_event_id");
            }
            Position from = null;
            if (last != null && !last.isBlank()) {
                try {
                    from = Position.decode(last, topic);
                } catch (IllegalArgumentException e) {
                    throw new ApiException(400, "Invalid Last-Event-ID: " + e.getMessage() + ".");
                }
            }
            String client = caller != null ? caller.name() : address;
            if (sessions.size() >= maxStreams) {
                throw new ApiException(429, "Too many streams on this instance.");
            }
            AtomicInteger mine = streamsPerClient.computeIfAbsent(client, c -> new AtomicInteger());
            if (mine.incrementAndGet() > maxStreamsPerClient) {
                mine.decrementAndGet();
                throw new ApiException(429, "Too many streams for this client (at most " + maxStreamsPerClient + ").");
            }
            Runnable release = () -> {
                if (mine.decrementAndGet() <= 0) {
                    streamsPerClient.remove(client, mine);
                }
            };
            boolean earliest = "earliest".equals(ctx.request().getParam("from"));
            try {
                return new StreamStart(topic, newSession(d, from, earliest, target.filter(), release));
            } catch (RuntimeException e) {
                release.run();
                throw e;
            }
        }, false).onComplete(started -> {
            if (started.failed()) {
                error(ctx, started.cause());
                return;
            }
            open.accept(started.result());
        });
    }

    /**
     * A stream session of the topic from {@code from} (null: from now on, or from the start with {@code earliest}),
     * sending what {@code filter} accepts; attached to the topic's shared tail reader when it can be, else on its own
     * consumer until it catches up (StreamFanOut). Listed until it ends, then {@code onEnd} runs. Blocking (start
     * offsets); the caller starts it with its sink, or stops it.
     */
    StreamSession newSession(TopicDescription d, Position from, boolean earliest,
            java.util.function.Predicate<ConsumerRecord<String, byte[]>> filter, Runnable onEnd) {
        String topic = d.name();
        List<Integer> all = d.partitions().stream().map(p -> p.partition()).sorted().toList();
        TopicTail tail = fanOut.acquire(topic, all);
        KafkaConsumer<String, byte[]> initial = null;
        try {
            Map<Integer, Long> start = null; // from now on: where the tail is
            if (from != null || earliest) {
                start = new java.util.HashMap<>();
                List<Integer> missing = new java.util.ArrayList<>();
                for (int p : all) {
                    Long o = from == null ? null : from.nextOffsets().get(p);
                    if (o == null) {
                        missing.add(p);
                    } else {
                        start.put(p, o);
                    }
                }
                if (!missing.isEmpty()) {
                    // from the start (a partition a position does not name was added after it)
                    initial = streamConsumer();
                    start.putAll(CursorReader.startOffsets(initial, topic, missing, true));
                }
            }
            StreamSession[] holder = new StreamSession[1];
            StreamSession session = StreamSession.shared(topic, tail, start, all, initial, this::streamConsumer,
                    fanOut.ownConsumers(), filter, streamBufferRecords, heartbeatMs, stallTimeoutMs, () -> {
                        sessions.remove(holder[0]);
                        fanOut.release(tail);
                        onEnd.run();
                    });
            holder[0] = session;
            sessions.add(session);
            return session;
        } catch (RuntimeException e) {
            if (initial != null) {
                initial.close(Duration.ZERO);
            }
            fanOut.release(tail);
            throw e;
        }
    }

    private KafkaConsumer<String, byte[]> streamConsumer() {
        return KafkaClients.of(camelContext).streamReader("cmm-eventapi-stream", streamBufferRecords);
    }

    /** The fan-out of the streams (tests: how many consumers it holds). */
    StreamFanOut fanOut() {
        return fanOut;
    }

    /** Streams of the topic reading with a consumer of their own now (catching up, or let go for being slow). */
    int streamsOnTheirOwn(String topic) {
        return (int) sessions.stream().filter(s -> s.topic().equals(topic) && s.onItsOwn()).count();
    }

    // ---- scoped streams: the hook of StreamScope (issue 16's patient and staff streams) ----

    private record ScopedStream(String ssePath, String wsPath, StreamScope scope) {
    }

    /**
     * Serves SSE at {@code ssePath} and WebSocket at {@code wsPath} (router paths, e.g. {@code /patient/streams/:type})
     * with this gateway's streaming, the topic and the records each caller sees decided by {@code scope} instead of the
     * role bindings. Mounted with the gateway's own routes (or at once when they are mounted already); the paths need
     * their rules in config/access.properties like every path ({@code open}: the stream authenticates itself with a
     * bearer token or a ticket, as {@code /streams/*} does).
     */
    public synchronized void addScopedStream(String ssePath, String wsPath, StreamScope scope) {
        if (delegate != null) {
            delegate.addScopedStream(ssePath, wsPath, scope);
            return;
        }
        ScopedStream s = new ScopedStream(ssePath, wsPath, scope);
        scoped.add(s);
        if (mounted) {
            mountScoped(s);
        }
    }

    private void mountScoped(ScopedStream s) {
        mounter.get(s.ssePath(), ctx -> sse(ctx, caller -> s.scope().decide(caller, ctx)));
        mounter.get(s.wsPath(), ctx -> websocket(ctx, caller -> s.scope().decide(caller, ctx)));
        LOG.info("Scoped streams at {} (SSE) and {} (WebSocket)", s.ssePath(), s.wsPath());
    }

    /** The topic of the path, allowed by the role bindings, and the {@code key} parameter's filter. */
    private java.util.function.Function<Caller, StreamScope.Target> topicOfPath(RoutingContext ctx) {
        String keyFilter = ctx.request().getParam("key");
        return caller -> {
            String topic = ctx.pathParam("topic");
            catalog.require(topic);
            checkChannel(caller, AclOperation.READ, topic, address(ctx));
            return new StreamScope.Target(topic, keyFilter == null ? null : r -> keyFilter.equals(r.key()));
        };
    }

    private void sse(RoutingContext ctx) {
        sse(ctx, topicOfPath(ctx));
    }

    private void sse(RoutingContext ctx, java.util.function.Function<Caller, StreamScope.Target> scope) {
        openStream(ctx, scope, s -> {
            HttpServerResponse response = ctx.response();
            if (response.closed()) {
                s.session().stop();
                return;
            }
            response.setStatusCode(200).setChunked(true).setWriteQueueMaxSize(streamWriteQueueBytes)
                    .putHeader("Content-Type", "text/event-stream; charset=utf-8")
                    .putHeader("Cache-Control", "no-cache").putHeader("X-Accel-Buffering", "no");
            response.write("retry: 2000\n: stream of " + s.topic() + "\n\n");
            java.util.concurrent.atomic.AtomicLong sent = new java.util.concurrent.atomic.AtomicLong();
            ctx.put(ApiUsage.RECORDS_OUT, sent);
            StreamSession session = s.session();
            response.closeHandler(v -> session.stop());
            session.start(new StreamSession.Sink() {
                @Override
                public boolean full() {
                    return response.writeQueueFull();
                }

                @Override
                public void send(String id, ConsumerRecord<String, byte[]> record) {
                    sent.incrementAndGet();
                    response.write("id: " + id + "\ndata: " + RecordCodec.render(record).toString() + "\n\n");
                }

                @Override
                public void heartbeat() {
                    response.write(": heartbeat\n\n");
                }

                @Override
                public void close(String reason) {
                    if (!response.ended() && !response.closed()) {
                        response.end("event: error\ndata: " + RecordCodec.JSON.createObjectNode()
                                .put("error_code", 503).put("message", reason) + "\n\n");
                    }
                }
            }, streams, pollIntervalMs);
            if (response.closed()) {
                session.stop();
            }
        });
    }

    private void websocket(RoutingContext ctx) {
        websocket(ctx, topicOfPath(ctx));
    }

    private void websocket(RoutingContext ctx, java.util.function.Function<Caller, StreamScope.Target> scope) {
        ctx.request().pause();
        openStream(ctx, scope, s -> ctx.request().toWebSocket().onComplete(upgraded -> {
            if (upgraded.failed()) {
                s.session().stop();
                return;
            }
            ServerWebSocket ws = upgraded.result();
            ws.setWriteQueueMaxSize(streamWriteQueueBytes);
            java.util.concurrent.atomic.AtomicLong sent = new java.util.concurrent.atomic.AtomicLong();
            ctx.put(ApiUsage.RECORDS_OUT, sent);
            StreamSession session = s.session();
            ws.closeHandler(v -> session.stop());
            ws.exceptionHandler(e -> session.stop());
            session.start(new StreamSession.Sink() {
                @Override
                public boolean full() {
                    return ws.writeQueueFull();
                }

                @Override
                public void send(String id, ConsumerRecord<String, byte[]> record) {
                    sent.incrementAndGet();
                    ObjectNode frame = RecordCodec.JSON.createObjectNode().put("id", id);
                    frame.setAll(RecordCodec.render(record));
                    ws.writeTextMessage(frame.toString());
                }

                @Override
                public void heartbeat() {
                    ws.writePing(io.vertx.core.buffer.Buffer.buffer("heartbeat"));
                }

                @Override
                public void close(String reason) {
                    if (!ws.isClosed()) {
                        ws.close((short) 1013, reason.length() > 100 ? reason.substring(0, 100) : reason);
                    }
                }
            }, streams, pollIntervalMs);
            if (ws.isClosed()) {
                session.stop();
            }
        }));
    }

    // ---- shared with the GraphQL endpoint (GraphQlEndpoint): the same catalog, readers, access and stream limits ----

    /** What the GraphQL endpoint serves with: the gateway's own parts, so both answer alike (mounts first). */
    record Shared(TopicCatalog catalog, Admin admin, CursorReader reader, ChannelAccess access, HttpAccess httpAccess,
            StreamTickets tickets, ApiUsage usage, java.util.concurrent.ScheduledExecutorService streams, int readMax,
            long heartbeatMs, long pollIntervalMs, long stallTimeoutMs, int streamBufferRecords,
            int streamWriteQueueBytes) {
    }

    Shared shared() {
        mount();
        return new Shared(catalog, admin, reader, access, httpAccess, tickets, usage, streams, readMax, heartbeatMs,
                pollIntervalMs, stallTimeoutMs, streamBufferRecords, streamWriteQueueBytes);
    }

    /** Refuses (403, audited) unless the caller may do the operation on the topic. */
    void authorize(Caller caller, AclOperation operation, String topic, String address) {
        checkChannel(caller, operation, topic, address);
    }

    /** Takes one stream place of the client under the same limits as SSE/WebSocket (429 beyond); the result frees it. */
    Runnable reserveStream(String client) {
        if (sessions.size() >= maxStreams) {
            throw new ApiException(429, "Too many streams on this instance.");
        }
        AtomicInteger mine = streamsPerClient.computeIfAbsent(client, c -> new AtomicInteger());
        if (mine.incrementAndGet() > maxStreamsPerClient) {
            mine.decrementAndGet();
            throw new ApiException(429, "Too many streams for this client (at most " + maxStreamsPerClient + ").");
        }
        java.util.concurrent.atomic.AtomicBoolean released = new java.util.concurrent.atomic.AtomicBoolean();
        return () -> {
            if (released.compareAndSet(false, true) && mine.decrementAndGet() <= 0) {
                streamsPerClient.remove(client, mine);
            }
        };
    }

    // ---- marketplace ----

    private volatile String portalPage;

    private void portal(RoutingContext ctx) {
        String page = portalPage;
        if (page == null) {
            try (java.io.InputStream in = EventApiGateway.class.getClassLoader()
                    .getResourceAsStream("eventapi/portal/index.html")) {
                page = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            } catch (java.io.IOException | RuntimeException e) {
                error(ctx, new ApiException(500, "The portal page is missing."));
                return;
            }
            portalPage = page;
        }
        ctx.response().putHeader("Content-Type", "text/html; charset=utf-8")
                .putHeader("Content-Security-Policy", "default-src 'self'; script-src 'self' 'unsafe-inline'; "
                        + "style-src 'unsafe-inline'")
                .putHeader("X-Content-Type-Options", "nosniff").end(page);
    }

    private void subscribe(RoutingContext ctx) {
        blocking(ctx, 201, () -> {
            JsonNode request;
            try {
                request = RecordCodec.JSON.readTree(ctx.body() == null || ctx.body().buffer() == null ? new byte[0]
                        : ctx.body().buffer().getBytes());
            } catch (java.io.IOException e) {
                throw new ApiException(400, "Malformed JSON.");
            }
            if (request == null || !request.isObject()) {
                throw new ApiException(400, "Expected {\"application\": ..., \"channel\": ...}.");
            }
            Caller caller = ctx.get(HttpAccessGuard.CALLER);
            return subscriptionNode(subscriptions.request(request.path("application").asText(null),
                    request.path("channel").asText(null), caller == null ? "anonymous" : caller.name(), address(ctx)));
        });
    }

    private void approve(RoutingContext ctx) {
        blocking(ctx, () -> {
            Caller caller = ctx.get(HttpAccessGuard.CALLER);
            return subscriptionNode(subscriptions.approve(ctx.pathParam("id"),
                    caller == null ? "anonymous" : caller.name(), address(ctx)));
        });
    }

    private void listSubscriptions(RoutingContext ctx) {
        blocking(ctx, () -> {
            ObjectNode list = RecordCodec.JSON.createObjectNode().put("kind", "SubscriptionList");
            ArrayNode data = list.putArray("data");
            subscriptions.list().forEach(s -> data.add(subscriptionNode(s)));
            return list;
        });
    }

    private static ObjectNode subscriptionNode(Subscriptions.Subscription s) {
        ObjectNode n = RecordCodec.JSON.createObjectNode().put("id", s.id()).put("application", s.application())
                .put("channel", s.channel()).put("status", s.status()).put("requested_by", s.requestedBy())
                .put("requested_at", s.requestedAt().toString());
        if (s.approvedBy() != null) {
            n.put("approved_by", s.approvedBy()).put("approved_at", s.approvedAt().toString());
        }
        return n;
    }

    // ---- shared ----

    private String requireCluster(RoutingContext ctx) {
        String id = catalog.clusterId();
        String asked = ctx.pathParam("cluster_id");
        if (asked != null && !asked.equals(id)) {
            throw new ApiException(404, "Cluster '" + asked + "' not found.");
        }
        return id;
    }

    private TopicDescription describe(RoutingContext ctx, AclOperation operation) {
        String topic = ctx.pathParam("topic");
        TopicDescription d = catalog.require(topic);
        checkChannel(ctx.get(HttpAccessGuard.CALLER), operation, topic, address(ctx));
        return d;
    }

    private void checkChannel(Caller caller, AclOperation operation, String topic, String address) {
        if (!access.allows(caller, operation, topic)) {
            String op = operation == AclOperation.WRITE ? "Write" : operation == AclOperation.READ ? "Read" : "Describe";
            audit.record(AuditEvent.authorization("http", caller == null ? null : caller.name(), op, "Topic", topic,
                    false, address, "no role binding grants " + op + " on the topic"));
            throw new ApiException(403, "Not authorized to " + op.toLowerCase(java.util.Locale.ROOT) + " topic '"
                    + topic + "'.");
        }
    }

    private static String address(RoutingContext ctx) {
        return ctx.request().remoteAddress() == null ? null : ctx.request().remoteAddress().hostAddress();
    }

    private static String base(RoutingContext ctx) {
        URI uri = URI.create(ctx.request().absoluteURI());
        return uri.getScheme() + "://" + uri.getRawAuthority();
    }

    private static int intParam(RoutingContext ctx, String name, int fallback, int min, int max) {
        String v = ctx.request().getParam(name);
        if (v == null) {
            return fallback;
        }
        try {
            int i = Integer.parseInt(v);
            if (i < min || i > max) {
                throw new NumberFormatException();
            }
            return i;
        } catch (NumberFormatException e) {
            throw new ApiException(400, name + " must be an integer from " + min + " to " + max + ".");
        }
    }

    private static void blocking(RoutingContext ctx, Callable<JsonNode> work) {
        blocking(ctx, 200, work);
    }

    private static void blocking(RoutingContext ctx, int status, Callable<JsonNode> work) {
        ctx.vertx().executeBlocking(work, false).onComplete(r -> {
            if (r.failed()) {
                error(ctx, r.cause());
            } else {
                json(ctx, status, r.result());
            }
        });
    }

    private void failure(RoutingContext ctx) {
        if (ctx.failure() != null) {
            error(ctx, ctx.failure());
        } else {
            int status = ctx.statusCode() > 0 ? ctx.statusCode() : 500;
            error(ctx, new ApiException(status, status == 413 ? "The request body is larger than "
                    + maxRequestBytes + " bytes." : "The request failed (" + status + ")."));
        }
    }

    private static ObjectNode errorNode(ApiException e) {
        return RecordCodec.JSON.createObjectNode().put("error_code", e.errorCode()).put("message", e.getMessage());
    }

    private static void error(RoutingContext ctx, Throwable cause) {
        ApiException e = cause instanceof ApiException a ? a : null;
        if (e == null) {
            LOG.warn("Event API request {} {} failed: {}", ctx.request().method(), ctx.normalizedPath(),
                    cause == null ? "?" : cause.getClass().getSimpleName());
            e = new ApiException(500, "Internal error.");
        }
        if (e.status() == 401) {
            ctx.response().putHeader("WWW-Authenticate", "Bearer realm=\"" + HttpAccessGuard.REALM + "\"");
        }
        json(ctx, e.status(), errorNode(e));
    }

    private static void json(RoutingContext ctx, int status, JsonNode body) {
        if (ctx.response().ended() || ctx.response().closed()) {
            return;
        }
        ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json").end(body.toString());
    }

    private static List<String> list(String value) {
        return value == null ? List.of() : Arrays.stream(value.split(",")).map(String::trim).filter(s -> !s.isEmpty())
                .toList();
    }

    // ---- configuration (config/eventapi.properties) ----

    public void setPort(int port) {
        this.port = port;
    }

    public void setMaxRequestBytes(int maxRequestBytes) {
        this.maxRequestBytes = maxRequestBytes;
    }

    public void setMaxRecordBytes(int maxRecordBytes) {
        this.maxRecordBytes = maxRecordBytes;
    }

    public void setMaxRecordsPerRequest(int maxRecordsPerRequest) {
        this.maxRecordsPerRequest = maxRecordsPerRequest;
    }

    public void setReadMax(int readMax) {
        this.readMax = readMax;
    }

    public void setReaders(int readers) {
        this.readers = readers;
    }

    public void setHeartbeatMs(long heartbeatMs) {
        this.heartbeatMs = heartbeatMs;
    }

    public void setPollIntervalMs(long pollIntervalMs) {
        this.pollIntervalMs = pollIntervalMs;
    }

    public void setStallTimeoutMs(long stallTimeoutMs) {
        this.stallTimeoutMs = stallTimeoutMs;
    }

    public void setStreamBufferRecords(int streamBufferRecords) {
        this.streamBufferRecords = streamBufferRecords;
    }

    public void setStreamWriteQueueBytes(int streamWriteQueueBytes) {
        this.streamWriteQueueBytes = streamWriteQueueBytes;
    }

    public void setMaxStreams(int maxStreams) {
        this.maxStreams = maxStreams;
    }

    public void setMaxStreamsPerClient(int maxStreamsPerClient) {
        this.maxStreamsPerClient = maxStreamsPerClient;
    }

    public void setStreamThreads(int streamThreads) {
        this.streamThreads = streamThreads;
    }

    public void setTicketTtlMs(long ticketTtlMs) {
        this.ticketTtlMs = ticketTtlMs;
    }

    public void setRoleBindingsFile(String roleBindingsFile) {
        this.roleBindingsFile = roleBindingsFile;
    }

    public void setAutoApprove(String autoApprove) {
        this.autoApprove = autoApprove;
    }

    public void setMaxConsumerInstances(int maxConsumerInstances) {
        this.maxConsumerInstances = maxConsumerInstances;
    }

    public void setConsumerIdleTimeoutMs(long consumerIdleTimeoutMs) {
        this.consumerIdleTimeoutMs = consumerIdleTimeoutMs;
    }

    public void setUsageTopic(String usageTopic) {
        this.usageTopic = usageTopic;
    }

    public void setSubscriptionsTopic(String subscriptionsTopic) {
        this.subscriptionsTopic = subscriptionsTopic;
    }

    public void setUsageIntervalMs(long usageIntervalMs) {
        this.usageIntervalMs = usageIntervalMs;
    }

    public void setProduceLingerMs(String produceLingerMs) {
        this.produceLingerMs = produceLingerMs;
    }
}
