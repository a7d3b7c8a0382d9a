package org.cmm.eventbroker.eventapi.registry;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import org.apache.camel.CamelContext;
import org.apache.camel.CamelContextAware;
import org.apache.camel.ExtendedStartupListener;
import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpRouter;
import org.apache.camel.support.service.ServiceSupport;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.cmm.eventbroker.platform.security.http.HttpAccess;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The schema registry (docs/event-api.md): the core of the Confluent Schema Registry REST API on the platform HTTP
 * server under {@code /schema-registry} (so a Confluent- or Apicurio-compatible serde or tool takes
 * {@code http://host:8081/schema-registry} as its registry URL), kept on a compacted {@code _schemas} topic as Karapace
 * keeps it ({@link SchemaStore}). At start it registers the payload schemas of {@code schemas/*.json}
 * ({@link PayloadSchemas}); the AsyncAPI document asks it for them ({@link #payloadSchema(String)}). Any number of
 * instances may serve and write the same topic: their writes are serialised by Kafka's transactional fencing
 * ({@link SchemaStore}), so an id never names two schemas. With
 * {@code cmm.eventapi.registry.url} set, an external registry is used instead and nothing is served here.
 */
public class SchemaRegistryApi extends ServiceSupport implements CamelContextAware, ExtendedStartupListener {

    /** Where the API is served on the platform HTTP server. */
    public static final String PREFIX = "/schema-registry";
    static final String MEDIA_TYPE = "application/vnd.schemaregistry.v1+json";
    private static final Logger LOG = LoggerFactory.getLogger(SchemaRegistryApi.class);

    private CamelContext camelContext;
    private String topic = "_schemas";
    private String url = "";
    private String compatibility = "BACKWARD";
    private int maxRequestBytes = 1024 * 1024;
    private String transactionalId = "cmm-schema-registry-_schemas";
    private int writeAttempts = 10;
    private SchemaStore store;
    private ExternalRegistry external;
    private final Map<String, String> subjectsByKamelet = new ConcurrentHashMap<>();
    /** The subjects of the payload schema files, once registered at start. */
    private final java.util.Set<String> payloadSubjects = ConcurrentHashMap.newKeySet();
    private volatile boolean mounted;
    /** The instance that serves when the YAML loader created this bean twice (see {@link #mount}). */
    private volatile SchemaRegistryApi delegate;
    /** The instance serving each runtime (removed when it stops). */
    private static final Map<CamelContext, SchemaRegistryApi> SERVING =
            java.util.Collections.synchronizedMap(new java.util.WeakHashMap<>());

    public void setTopic(String topic) {
        this.topic = topic;
    }

    public void setUrl(String url) {
        this.url = url == null ? "" : url.trim();
    }

    public void setCompatibility(String compatibility) {
        this.compatibility = compatibility;
    }

    public void setMaxRequestBytes(int maxRequestBytes) {
        this.maxRequestBytes = maxRequestBytes;
    }

    /** The one transactional id every instance writing the topic uses (SchemaStore: how writers are serialised). */
    public void setTransactionalId(String transactionalId) {
        this.transactionalId = transactionalId == null ? "" : transactionalId.trim();
    }

    /** How many times a write is tried when other instances' writes fence it, before it answers 50001. */
    public void setWriteAttempts(int writeAttempts) {
        this.writeAttempts = writeAttempts;
    }

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
        // mounted once the platform HTTP server is up: onCamelContextFullyStarted
    }

    @Override
    public void onCamelContextFullyStarted(CamelContext context, boolean alreadyStarted) {
        mount();
    }

    /** The instance that serves on this runtime's server: this one, or the first one mounted there. */
    private SchemaRegistryApi serving() {
        if (delegate != null || camelContext == null || !url.isEmpty()) {
            return delegate != null ? delegate : this;
        }
        SchemaRegistryApi first = SERVING.get(camelContext);
        return first != null ? first : this;
    }

    synchronized void mount() {
        if (mounted) {
            return;
        }
        Compatibility.level(compatibility);
        if (!url.isEmpty()) {
            external = new ExternalRegistry(url);
            mounted = true;
            LOG.info("Schema registry: the external registry at {} (nothing served under {})", external.base(), PREFIX);
            return;
        }
        int serverPort = Integer.parseInt(camelContext.resolvePropertyPlaceholders("{{camel.server.port}}"));
        // Camel main may create a beans-only file's beans twice (read early for the configuration, then with the
        // routes). Two instances would keep two stores on one topic, each handing out ids on its own: the same id
        // for two schemas when both register at once (the start-up registration and a client). One per runtime.
        SchemaRegistryApi first = SERVING.putIfAbsent(camelContext, this);
        if (first != null && first != this) {
            delegate = first;
            mounted = true;
            first.mount();
            return;
        }
        VertxPlatformHttpRouter router = VertxPlatformHttpRouter.lookup(camelContext,
                VertxPlatformHttpRouter.getRouterNameFromPort(serverPort));
        if (router == null) {
            throw new IllegalStateException("The platform HTTP server on port " + serverPort
                    + " was not found (camel.server.enabled); the schema registry cannot be served");
        }
        KafkaClients clients = KafkaClients.of(camelContext);
        try (Admin admin = clients.admin("cmm-schema-registry-admin", Map.of())) {
            admin.createTopics(List.of(new NewTopic(topic, Optional.of(1), Optional.empty())
                    .configs(Map.of("cleanup.policy", "compact")))).all().get(30, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException)) {
                throw new IllegalStateException("The schema registry's topic " + topic + " cannot be created: "
                        + e.getCause().getClass().getSimpleName(), e);
            }
        } catch (Exception e) {
            throw new IllegalStateException("The schema registry's topic " + topic + " cannot be created: "
                    + e.getClass().getSimpleName(), e);
        }
        if (transactionalId.isEmpty()) {
            throw new IllegalStateException("The schema registry's transactional id is empty: set "
                    + "cmm.eventapi.registry.transactional-id (the same at every instance writing " + topic + ")");
        }
        // every instance writes with the registry's one transactional id: its initTransactions() fences the others'
        // (SchemaStore); the reader reads read_committed, so a fenced or aborted write is never seen
        store = new SchemaStore(topic,
                () -> clients.producer("cmm-schema-registry", Map.of(
                        ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId,
                        ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true",
                        ProducerConfig.ACKS_CONFIG, "all",
                        ProducerConfig.LINGER_MS_CONFIG, "0",
                        ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, "30000",
                        ProducerConfig.MAX_BLOCK_MS_CONFIG, "30000")),
                role -> clients.consumer("cmm-schema-registry-" + role, null, Map.of(
                        ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                        ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed")),
                compatibility, writeAttempts);
        store.awaitCaughtUp(Duration.ofSeconds(60));

        HttpAccess httpAccess = HttpAccess.of(camelContext);
        Handler<RoutingContext> guard = httpAccess.enabled() ? httpAccess.intakeGuard() : RoutingContext::next;
        BodyHandler body = BodyHandler.create(false).setBodyLimit(maxRequestBytes);
        route(router, HttpMethod.GET, "", guard, null, ctx -> SchemaStore.JSON.createObjectNode());
        route(router, HttpMethod.GET, "/", guard, null, ctx -> SchemaStore.JSON.createObjectNode());
        route(router, HttpMethod.GET, "/schemas/types", guard, null,
                ctx -> SchemaStore.JSON.createArrayNode().add("JSON").add("AVRO"));
        route(router, HttpMethod.GET, "/subjects", guard, null,
                ctx -> strings(store.subjects(flag(ctx, "deleted"))));
        route(router, HttpMethod.GET, "/schemas/ids/:id", guard, null, ctx -> schemaById(ctx, false));
        route(router, HttpMethod.GET, "/schemas/ids/:id/schema", guard, null, ctx -> schemaById(ctx, true));
        route(router, HttpMethod.GET, "/schemas/ids/:id/versions", guard, null, this::schemaUses);
        route(router, HttpMethod.GET, "/subjects/:subject/versions", guard, null, ctx -> {
            ArrayNode out = SchemaStore.JSON.createArrayNode();
            store.versions(ctx.pathParam("subject"), flag(ctx, "deleted")).forEach(v -> out.add(v.version()));
            return out;
        });
        route(router, HttpMethod.POST, "/subjects/:subject/versions", guard, body, this::register);
        route(router, HttpMethod.GET, "/subjects/:subject/versions/:version", guard, null,
                ctx -> version(store.version(ctx.pathParam("subject"), ctx.pathParam("version"), flag(ctx, "deleted"))));
        route(router, HttpMethod.GET, "/subjects/:subject/versions/:version/schema", guard, null,
                ctx -> SchemaStore.JSON.readTree(store.version(ctx.pathParam("subject"), ctx.pathParam("version"),
                        flag(ctx, "deleted")).schema()));
        route(router, HttpMethod.DELETE, "/subjects/:subject/versions/:version", guard, null, ctx -> SchemaStore.JSON
                .getNodeFactory().numberNode(store.delete(ctx.pathParam("subject"),
                        Optional.of(ctx.pathParam("version")), flag(ctx, "permanent")).get(0)));
        route(router, HttpMethod.POST, "/subjects/:subject", guard, body, this::lookup);
        route(router, HttpMethod.DELETE, "/subjects/:subject", guard, null, ctx -> {
            ArrayNode out = SchemaStore.JSON.createArrayNode();
            store.delete(ctx.pathParam("subject"), Optional.empty(), flag(ctx, "permanent")).forEach(out::add);
            return out;
        });
        route(router, HttpMethod.POST, "/compatibility/subjects/:subject/versions/:version", guard, body,
                this::compatible);
        route(router, HttpMethod.POST, "/compatibility/subjects/:subject/versions", guard, body, this::compatible);
        route(router, HttpMethod.GET, "/config", guard, null, ctx -> SchemaStore.JSON.createObjectNode()
                .put("compatibilityLevel", store.compatibility(null)));
        route(router, HttpMethod.PUT, "/config", guard, body, ctx -> setConfig(ctx, null));
        route(router, HttpMethod.GET, "/config/:subject", guard, null, ctx -> {
            String subject = ctx.pathParam("subject");
            String level = flag(ctx, "defaultToGlobal") ? store.compatibility(subject)
                    : store.subjectCompatibility(subject).orElseThrow(() -> new RegistryException(404, 40408,
                            "Subject '" + subject + "' does not have subject-level compatibility configured"));
            return SchemaStore.JSON.createObjectNode().put("compatibilityLevel", level);
        });
        route(router, HttpMethod.PUT, "/config/:subject", guard, body, ctx -> setConfig(ctx, ctx.pathParam("subject")));
        route(router, HttpMethod.DELETE, "/config/:subject", guard, null, ctx -> {
            String subject = ctx.pathParam("subject");
            String level = store.compatibility(subject);
            store.setCompatibility(subject, null);
            return SchemaStore.JSON.createObjectNode().put("compatibilityLevel", level);
        });
        mounted = true;
        LOG.info("Schema registry (Confluent Schema Registry API) on port {} under {}, kept on {}; default "
                + "compatibility {}", serverPort, PREFIX, topic, store.compatibility(null));
    }

    /**
     * Registers every payload schema file (the flow's route calls it once at start); a file whose change is
     * incompatible with what the registry holds fails, naming it. Answers how many files were registered.
     */
    public int registerPayloadSchemas() {
        mount();
        if (delegate != null) {
            return delegate.registerPayloadSchemas();
        }
        List<PayloadSchemas.PayloadSchema> schemas = PayloadSchemas.load();
        Runnable registerAll = () -> {
            for (PayloadSchemas.PayloadSchema schema : schemas) {
                try {
                    if (external != null) {
                        external.register(schema.subject(), SchemaType.JSON, schema.text());
                    } else {
                        store.register(schema.subject(), SchemaType.JSON, schema.text());
                    }
                } catch (Exception e) {
                    throw new IllegalStateException("The payload schema schemas/" + schema.subject()
                            + ".json cannot be registered: " + e.getMessage(), e);
                }
                schema.kamelets().forEach(k -> subjectsByKamelet.put(k, schema.subject()));
                payloadSubjects.add(schema.subject());
            }
        };
        if (store != null) {
            store.inOneGo(registerAll); // one producer for all of them, not one each
        } else {
            registerAll.run();
        }
        LOG.info("Schema registry: {} payload schemas of schemas/*.json registered", schemas.size());
        return schemas.size();
    }

    /**
     * The latest registered JSON Schema of the events a sink Kamelet's topics carry, as the registry holds it (without
     * this project's {@code x-cmm-} keywords), with its subject and version; empty when none is registered.
     */
    public Optional<Map<String, Object>> payloadSchema(String kamelet) {
        SchemaRegistryApi serving = serving();
        if (serving != this) {
            return serving.payloadSchema(kamelet);
        }
        String subject = subjectsByKamelet.get(kamelet);
        return subject == null ? Optional.empty() : registeredSchema(subject);
    }

    /**
     * The latest registered JSON Schema of a subject (a payload schema file's, e.g. one that a topic family of
     * eventapi/topic-families.yaml names), as {@link #payloadSchema(String)} answers it; empty when none is registered.
     */
    public Optional<Map<String, Object>> registeredSchema(String subject) {
        SchemaRegistryApi serving = serving();
        if (serving != this) {
            return serving.registeredSchema(subject);
        }
        if (!payloadSubjects.contains(subject)) {
            return Optional.empty();
        }
        try {
            String text;
            int version;
            int id;
            if (external != null) {
                Optional<JsonNode> latest = external.latest(subject);
                if (latest.isEmpty()) {
                    return Optional.empty();
                }
                text = latest.get().path("schema").asText();
                version = latest.get().path("version").asInt();
                id = latest.get().path("id").asInt();
            } else {
                SchemaStore.Version latest = store.version(subject, "latest", false);
                text = latest.schema();
                version = latest.version();
                id = latest.id();
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> schema = SchemaStore.JSON.readValue(text, LinkedHashMap.class);
            schema.keySet().removeIf(k -> k.startsWith("x-cmm-") || k.equals("$schema") || k.equals("$id"));
            schema.put("x-cmm-schema-registry", Map.of("subject", subject, "version", version, "id", id));
            return Optional.of(schema);
        } catch (Exception e) {
            LOG.warn("The payload schema {} cannot be read from the registry: {}", subject, e.getClass().getSimpleName());
            return Optional.empty();
        }
    }

    // ---- handlers ----

    private JsonNode schemaById(RoutingContext ctx, boolean raw) throws Exception {
        int id = id(ctx);
        SchemaStore.Version v = store.byId(id).orElseThrow(() -> RegistryException.schemaNotFound("Schema " + id
                + " not found"));
        if (raw) {
            return SchemaStore.JSON.readTree(v.schema());
        }
        ObjectNode out = SchemaStore.JSON.createObjectNode().put("schema", v.schema());
        if (v.type() != SchemaType.AVRO) {
            out.put("schemaType", v.type().name());
        }
        return out;
    }

    private JsonNode schemaUses(RoutingContext ctx) {
        int id = id(ctx);
        if (store.byId(id).isEmpty()) {
            throw RegistryException.schemaNotFound("Schema " + id + " not found");
        }
        ArrayNode out = SchemaStore.JSON.createArrayNode();
        store.usesOf(id).forEach(v -> out.addObject().put("subject", v.subject()).put("version", v.version()));
        return out;
    }

    private JsonNode register(RoutingContext ctx) {
        JsonNode request = request(ctx);
        SchemaStore.Version v = store.register(ctx.pathParam("subject"),
                SchemaType.of(request.path("schemaType").asText(null)), request.path("schema").asText(null));
        return SchemaStore.JSON.createObjectNode().put("id", v.id());
    }

    private JsonNode lookup(RoutingContext ctx) {
        String subject = ctx.pathParam("subject");
        JsonNode request = request(ctx);
        SchemaType type = SchemaType.of(request.path("schemaType").asText(null));
        String canonical = type.canonical(request.path("schema").asText(null));
        store.versions(subject, flag(ctx, "deleted")); // 40401 when the subject is unknown
        return version(store.find(subject, type, canonical, flag(ctx, "deleted"))
                .orElseThrow(() -> RegistryException.schemaNotFound("Schema not found")));
    }

    private JsonNode compatible(RoutingContext ctx) {
        String subject = ctx.pathParam("subject");
        JsonNode request = request(ctx);
        SchemaType type = SchemaType.of(request.path("schemaType").asText(null));
        String canonical = type.canonical(request.path("schema").asText(null));
        String version = ctx.pathParam("version");
        String level = store.compatibility(subject);
        List<String> existing;
        if (version == null) {
            existing = store.versions(subject, false).stream().map(SchemaStore.Version::schema).toList();
        } else {
            // against that one version; the level's direction applies, its TRANSITIVE part is moot for one version
            existing = List.of(store.version(subject, version, false).schema());
            level = level.replace("_TRANSITIVE", "");
        }
        if (version == null && !level.endsWith("_TRANSITIVE") && !level.equals("NONE")) {
            level = level + "_TRANSITIVE";
        }
        List<String> problems = new ArrayList<>(Compatibility.problems(level, type, canonical, existing));
        ObjectNode out = SchemaStore.JSON.createObjectNode().put("is_compatible", problems.isEmpty());
        if (flag(ctx, "verbose")) {
            ArrayNode messages = out.putArray("messages");
            problems.forEach(messages::add);
        }
        return out;
    }

    private JsonNode setConfig(RoutingContext ctx, String subject) {
        JsonNode request = request(ctx);
        String level = Compatibility.level(request.path("compatibility").asText(
                request.path("compatibilityLevel").asText(null)));
        store.setCompatibility(subject, level);
        return SchemaStore.JSON.createObjectNode().put("compatibility", level);
    }

    private static JsonNode version(SchemaStore.Version v) {
        ObjectNode out = SchemaStore.JSON.createObjectNode().put("subject", v.subject()).put("version", v.version())
                .put("id", v.id());
        if (v.type() != SchemaType.AVRO) {
            out.put("schemaType", v.type().name());
        }
        out.put("schema", v.schema());
        return out;
    }

    private static JsonNode request(RoutingContext ctx) {
        try {
            JsonNode node = ctx.body() == null || ctx.body().buffer() == null ? null
                    : SchemaStore.JSON.readTree(ctx.body().asString());
            if (node == null || !node.isObject()) {
                throw new RegistryException(422, 42201, "Invalid schema: the request body is not a JSON object");
            }
            if (node.path("references").isArray() && !node.path("references").isEmpty()) {
                throw new RegistryException(422, 42201, "Invalid schema: schema references are not supported here");
            }
            return node;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new RegistryException(400, 400, "Unrecognized JSON: " + e.getOriginalMessage());
        }
    }

    private static int id(RoutingContext ctx) {
        try {
            return Integer.parseInt(ctx.pathParam("id"));
        } catch (NumberFormatException e) {
            throw RegistryException.schemaNotFound("Schema " + ctx.pathParam("id") + " not found");
        }
    }

    private static boolean flag(RoutingContext ctx, String name) {
        return Boolean.parseBoolean(ctx.queryParams().get(name));
    }

    private static ArrayNode strings(List<String> values) {
        ArrayNode out = SchemaStore.JSON.createArrayNode();
        values.forEach(out::add);
        return out;
    }

    @FunctionalInterface
    private interface Work {
        JsonNode run(RoutingContext ctx) throws Exception;
    }

    private static void route(VertxPlatformHttpRouter router, HttpMethod method, String path,
            Handler<RoutingContext> guard, BodyHandler body, Work work) {
        io.vertx.ext.web.Route route = router.route(method, PREFIX + path);
        if (body != null) {
            route.handler(body);
        }
        route.handler(guard).handler(ctx -> {
            Callable<JsonNode> call = () -> work.run(ctx);
            ctx.vertx().executeBlocking(call, false).onComplete(r -> {
                if (r.succeeded()) {
                    answer(ctx, 200, r.result());
                } else {
                    fail(ctx, r.cause());
                }
            });
        }).failureHandler(ctx -> fail(ctx, ctx.failure() != null ? ctx.failure()
                : new RegistryException(ctx.statusCode() > 0 ? ctx.statusCode() : 500,
                        ctx.statusCode() == 413 ? 413 : 50001, "The request failed (" + ctx.statusCode() + ").")));
    }

    private static void fail(RoutingContext ctx, Throwable cause) {
        if (cause instanceof RegistryException e) {
            answer(ctx, e.status(), SchemaStore.JSON.createObjectNode().put("error_code", e.errorCode())
                    .put("message", e.getMessage()));
        } else {
            LOG.warn("Schema registry request failed: {}", cause.getClass().getSimpleName());
            answer(ctx, 500, SchemaStore.JSON.createObjectNode().put("error_code", 50001)
                    .put("message", "Error in the backend data store"));
        }
    }

    private static void answer(RoutingContext ctx, int status, JsonNode body) {
        if (ctx.response().ended()) {
            return;
        }
        ctx.response().setStatusCode(status).putHeader("Content-Type", MEDIA_TYPE).end(body.toString());
    }

    @Override
    protected void doStart() {
        // mounted once Camel has fully started
    }

    @Override
    protected void doStop() {
        if (camelContext != null) {
            SERVING.remove(camelContext, this);
        }
        if (store != null) {
            store.close();
        }
    }
}
