package org.cmm.eventbroker.eventapi;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import graphql.ExecutionInput;
import graphql.ExecutionResult;
import graphql.GraphQL;
import graphql.GraphQLContext;
import graphql.GraphqlErrorBuilder;
import graphql.analysis.FieldComplexityCalculator;
import graphql.analysis.MaxQueryComplexityInstrumentation;
import graphql.analysis.MaxQueryDepthInstrumentation;
import graphql.execution.DataFetcherExceptionHandler;
import graphql.execution.DataFetcherExceptionHandlerResult;
import graphql.execution.instrumentation.ChainedInstrumentation;
import graphql.schema.Coercing;
import graphql.schema.DataFetcher;
import graphql.schema.DataFetchingEnvironment;
import graphql.schema.GraphQLScalarType;
import graphql.schema.GraphQLSchema;
import graphql.schema.idl.RuntimeWiring;
import graphql.schema.idl.SchemaGenerator;
import graphql.schema.idl.SchemaParser;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.header.Header;
import org.cmm.eventbroker.platform.security.http.Caller;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The event API's GraphQL schema ({@code eventapi/event-api.graphqls}) wired to the gateway's own parts: the topic
 * catalog, the AsyncAPI channels (content types, payload schemas), the pooled cursor readers, the per-topic access of
 * the role bindings, and subscriptions as {@link EventPublisher}s over the gateway's stream sessions. Every operation
 * is bounded: {@code maxDepth} and {@code maxComplexity} (graphql-java's instrumentations; a list field costs its
 * {@code limit} times its selection, {@code topics} {@value #TOPICS_WEIGHT} times), limits of {@code readMax} records.
 * Refusals come back as GraphQL errors with {@code extensions.code} (FORBIDDEN, NOT_FOUND, BAD_REQUEST, ...) and
 * {@code extensions.status}, the HTTP status the REST API would answer.
 */
final class GraphQlApi {

    private static final Logger LOG = LoggerFactory.getLogger(GraphQlApi.class);
    static final String SCHEMA = "eventapi/event-api.graphqls";
    /** GraphQL context keys: the verified caller (absent with access control off) and the client's address. */
    static final String CALLER = "cmm.caller";
    static final String ADDRESS = "cmm.address";
    static final String CLIENT = "cmm.client";
    /** What a subscription streams with (absent on plain HTTP, where subscriptions are refused). */
    static final String CONNECTION = "cmm.connection";
    static final int TOPICS_WEIGHT = 20;

    private final EventApiGateway gateway;
    private final EventApiGateway.Shared shared;
    private final ChannelDescriptions channels;
    private final int latestScanRecords;
    private final GraphQL graphQL;

    GraphQlApi(EventApiGateway gateway, ChannelDescriptions channels, int maxDepth, int maxComplexity,
            int latestScanRecords) {
        this.gateway = gateway;
        this.shared = gateway.shared();
        this.channels = channels;
        this.latestScanRecords = latestScanRecords;
        GraphQLSchema schema = new SchemaGenerator().makeExecutableSchema(new SchemaParser().parse(sdl()), wiring());
        FieldComplexityCalculator cost = (env, child) -> {
            Object limit = env.getArguments().get("limit");
            long times = limit instanceof Number n ? Math.max(1, n.longValue()) : 1;
            if ("topics".equals(env.getField().getName())) {
                times = TOPICS_WEIGHT;
            }
            return (int) Math.min(Integer.MAX_VALUE / 4, 1 + times * Math.max(child, 1));
        };
        this.graphQL = GraphQL.newGraphQL(schema)
                .instrumentation(new ChainedInstrumentation(List.of(new MaxQueryDepthInstrumentation(maxDepth),
                        new MaxQueryComplexityInstrumentation(maxComplexity, cost))))
                .defaultDataFetcherExceptionHandler(errors())
                .build();
    }

    /** Runs one operation (blocking: call it from a worker). */
    ExecutionResult execute(String query, String operationName, Map<String, Object> variables,
            Map<String, Object> context) {
        ExecutionInput input = ExecutionInput.newExecutionInput().query(query == null ? "" : query)
                .operationName(operationName).variables(variables == null ? Map.of() : variables)
                .graphQLContext(context).build();
        return graphQL.execute(input);
    }

    static String sdl() {
        try (InputStream in = GraphQlApi.class.getClassLoader().getResourceAsStream(SCHEMA)) {
            if (in == null) {
                throw new IllegalStateException(SCHEMA + " is missing from the classpath");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private RuntimeWiring wiring() {
        return RuntimeWiring.newRuntimeWiring()
                .scalar(scalar("JSON", "A JSON value", v -> v instanceof JsonNode n ? RecordCodec.JSON.convertValue(n,
                        Object.class) : v))
                .scalar(scalar("Long", "A 64-bit integer", v -> v instanceof Number n ? n.longValue()
                        : Long.parseLong(String.valueOf(v))))
                .type("Query", t -> t
                        .dataFetcher("cluster", env -> Map.of("id", shared.catalog().clusterId()))
                        .dataFetcher("topics", this::topics)
                        .dataFetcher("topic", env -> shared.catalog().describe(env.<String>getArgument("name"))
                                .map(d -> {
                                    authorize(env, AclOperation.DESCRIBE, d.name());
                                    return d;
                                }).orElse(null)))
                .type("Topic", t -> t
                        .dataFetcher("name", env -> topic(env).name())
                        .dataFetcher("partitionCount", env -> topic(env).partitions().size())
                        .dataFetcher("replicationFactor", env -> topic(env).partitions().isEmpty() ? 0
                                : topic(env).partitions().get(0).replicas().size())
                        .dataFetcher("partitions", env -> TopicCatalog.partitions(topic(env)).stream()
                                .map(p -> Map.of("id", p.id(), "leader", p.leader(), "replicas", p.replicas(),
                                        "inSyncReplicas", p.isr())).toList())
                        .dataFetcher("channel", env -> channels.of(topic(env).name()))
                        .dataFetcher("contentTypes", env -> contentTypes(topic(env).name()))
                        .dataFetcher("latest", this::latest)
                        .dataFetcher("events", this::page))
                .type("Subscription", t -> t.dataFetcher("events", this::subscribe))
                .build();
    }

    private static GraphQLScalarType scalar(String name, String description, Function<Object, Object> out) {
        return GraphQLScalarType.newScalar().name(name).description(description).coercing(new Coercing<Object, Object>() {
            @Override
            @SuppressWarnings("deprecation")
            public Object serialize(Object dataFetcherResult) {
                return out.apply(dataFetcherResult);
            }

            @Override
            @SuppressWarnings("deprecation")
            public Object parseValue(Object input) {
                return input;
            }

            @Override
            @SuppressWarnings("deprecation")
            public Object parseLiteral(Object input) {
                return input instanceof graphql.language.StringValue s ? s.getValue()
                        : input instanceof graphql.language.IntValue i ? i.getValue().longValue() : input;
            }
        }).build();
    }

    private static TopicDescription topic(DataFetchingEnvironment env) {
        return env.getSource();
    }

    private List<TopicDescription> topics(DataFetchingEnvironment env) {
        String prefix = env.getArgument("prefix");
        List<TopicDescription> list = new ArrayList<>();
        for (String name : shared.catalog().topics()) {
            if ((prefix == null || name.startsWith(prefix)) && shared.access().allows(caller(env),
                    AclOperation.DESCRIBE, name)) {
                shared.catalog().describe(name).ifPresent(list::add);
            }
        }
        return list;
    }

    private List<String> contentTypes(String topic) {
        Map<String, Object> channel = channels.of(topic);
        if (channel == null) {
            return List.of();
        }
        List<String> types = new ArrayList<>();
        for (Object m : (List<?>) channel.get("messages")) {
            Object type = ((Map<?, ?>) m).get("contentType");
            if (type != null && !types.contains(type.toString())) {
                types.add(type.toString());
            }
        }
        return types;
    }

    private int limit(DataFetchingEnvironment env) {
        Integer limit = env.getArgument("limit");
        int l = limit == null ? 10 : limit;
        if (l < 1 || l > shared.readMax()) {
            throw new ApiException(400, "limit must be from 1 to " + shared.readMax() + ".");
        }
        return l;
    }

    /** A page from a position: the stateless cursor read, each event with the position after it. */
    private Map<String, Object> page(DataFetchingEnvironment env) {
        TopicDescription d = topic(env);
        authorize(env, AclOperation.READ, d.name());
        int limit = limit(env);
        String position = env.getArgument("position");
        List<Integer> partitions = d.partitions().stream().map(p -> p.partition()).toList();
        Map<Integer, Long> start = new HashMap<>();
        if (position != null) {
            try {
                start.putAll(Position.decode(position, d.name()).nextOffsets());
            } catch (IllegalArgumentException e) {
                throw new ApiException(400, "Invalid position: " + e.getMessage() + ".");
            }
        }
        List<Integer> missing = partitions.stream().filter(p -> !start.containsKey(p)).toList();
        if (!missing.isEmpty()) {
            start.putAll(offsets(d.name(), missing, position != null || !"LATEST".equals(String.valueOf(
                    env.<Object>getArgument("from"))) ? OffsetSpec.earliest() : OffsetSpec.latest()));
        }
        CursorReader.Page page = shared.reader().read(d.name(), partitions, new Position(d.name(), start), true, limit,
                500, env.getArgument("key"));
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("events", events(d.name(), start, page.records()));
        result.put("nextPosition", page.next().encode());
        count(env, page.records().size());
        return result;
    }

    /** The last events (of a key), among the last {@code latestScanRecords} records of each partition. */
    private List<Map<String, Object>> latest(DataFetchingEnvironment env) {
        TopicDescription d = topic(env);
        authorize(env, AclOperation.READ, d.name());
        int limit = limit(env);
        String key = env.getArgument("key");
        List<Integer> partitions = d.partitions().stream().map(p -> p.partition()).toList();
        Map<Integer, Long> ends = offsets(d.name(), partitions, OffsetSpec.latest());
        Map<Integer, Long> begins = offsets(d.name(), partitions, OffsetSpec.earliest());
        Map<Integer, Long> start = new HashMap<>();
        for (int p : partitions) {
            start.put(p, Math.max(begins.getOrDefault(p, 0L), ends.getOrDefault(p, 0L) - latestScanRecords));
        }
        Map<Integer, Long> from = new HashMap<>(start);
        List<ConsumerRecord<String, byte[]>> found = new ArrayList<>();
        Position at = new Position(d.name(), start);
        int rounds = (int) Math.min(1000, (long) latestScanRecords * partitions.size() / shared.readMax() + 3);
        for (int i = 0; i < rounds && !reached(at, ends); i++) {
            CursorReader.Page page = shared.reader().read(d.name(), partitions, at, true, shared.readMax(), 200, key);
            found.addAll(page.records());
            while (found.size() > limit) {
                ConsumerRecord<String, byte[]> dropped = found.remove(0);
                from.put(dropped.partition(), dropped.offset() + 1);
            }
            at = page.next();
        }
        count(env, found.size());
        return events(d.name(), from, found);
    }

    private static boolean reached(Position at, Map<Integer, Long> ends) {
        return ends.entrySet().stream().allMatch(e -> at.nextOffsets().getOrDefault(e.getKey(), 0L) >= e.getValue());
    }

    private Map<Integer, Long> offsets(String topic, List<Integer> partitions, OffsetSpec spec) {
        Map<TopicPartition, OffsetSpec> query = new HashMap<>();
        partitions.forEach(p -> query.put(new TopicPartition(topic, p), spec));
        try {
            Map<Integer, Long> result = new HashMap<>();
            shared.admin().listOffsets(query).all().get(10, TimeUnit.SECONDS)
                    .forEach((tp, info) -> result.put(tp.partition(), info.offset()));
            return result;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ApiException(503, "interrupted");
        } catch (Exception e) {
            throw new ApiException(503, "Kafka did not answer the topic's offsets in time");
        }
    }

    /** The records as GraphQL events, each with the position just after it (from {@code start}, in read order). */
    static List<Map<String, Object>> events(String topic, Map<Integer, Long> start,
            List<ConsumerRecord<String, byte[]>> records) {
        Map<Integer, Long> running = new HashMap<>(start);
        List<Map<String, Object>> list = new ArrayList<>();
        for (ConsumerRecord<String, byte[]> r : records) {
            running.put(r.partition(), r.offset() + 1);
            list.add(event(new Position(topic, running).encode(), r));
        }
        return list;
    }

    /** One event in the schema's shape; the value as the REST API renders it (JSON, STRING or BINARY). */
    static Map<String, Object> event(String id, ConsumerRecord<String, byte[]> r) {
        ObjectNode rendered = RecordCodec.render(r);
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("id", id);
        e.put("topic", r.topic());
        e.put("partition", r.partition());
        e.put("offset", r.offset());
        e.put("timestamp", rendered.path("timestamp").asText());
        e.put("key", r.key());
        List<Map<String, Object>> headers = new ArrayList<>();
        Iterator<Header> it = r.headers().iterator();
        while (it.hasNext()) {
            Header h = it.next();
            Map<String, Object> header = new HashMap<>();
            header.put("name", h.key());
            header.put("value", h.value() == null ? null : Base64.getEncoder().encodeToString(h.value()));
            header.put("text", h.value() == null ? null : RecordCodec.utf8(h.value()));
            headers.add(header);
        }
        e.put("headers", headers);
        JsonNode value = rendered.get("value");
        if (value == null || value.isNull()) {
            e.put("value", null);
        } else {
            Map<String, Object> v = new HashMap<>();
            v.put("type", value.path("type").asText());
            v.put("data", value.get("data"));
            e.put("value", v);
        }
        return e;
    }

    /** A subscription: checked now (topic, Read, position), streamed once subscribed over WebSocket. */
    private EventPublisher subscribe(DataFetchingEnvironment env) {
        GraphQLContext context = env.getGraphQlContext();
        EventPublisher.Connection connection = context.get(CONNECTION);
        if (connection == null) {
            throw new ApiException(400, "Subscriptions are served over WebSocket (graphql-transport-ws) at /graphql.");
        }
        String topic = env.getArgument("topic");
        TopicDescription d = shared.catalog().require(topic);
        authorize(env, AclOperation.READ, topic);
        String last = env.getArgument("lastEventId");
        Position from = null;
        if (last != null && !last.isBlank()) {
            try {
                from = Position.decode(last, topic);
            } catch (IllegalArgumentException e) {
                throw new ApiException(400, "Invalid lastEventId: " + e.getMessage() + ".");
            }
        }
        boolean earliest = "EARLIEST".equals(String.valueOf(env.<Object>getArgument("from"))) || from != null;
        return new EventPublisher(gateway, shared, d, from, earliest, env.getArgument("key"), context.get(CLIENT),
                connection);
    }

    private void authorize(DataFetchingEnvironment env, AclOperation operation, String topic) {
        gateway.authorize(caller(env), operation, topic, env.getGraphQlContext().get(ADDRESS));
    }

    private static Caller caller(DataFetchingEnvironment env) {
        return env.getGraphQlContext().get(CALLER);
    }

    private static void count(DataFetchingEnvironment env, int records) {
        java.util.concurrent.atomic.AtomicLong out = env.getGraphQlContext().get(ApiUsage.RECORDS_OUT);
        if (out != null) {
            out.addAndGet(records);
        }
    }

    /** Refusals as GraphQL errors with the REST API's status; anything else an opaque internal error. */
    private static DataFetcherExceptionHandler errors() {
        return params -> {
            Throwable t = params.getException();
            if (t instanceof java.util.concurrent.CompletionException && t.getCause() != null) {
                t = t.getCause();
            }
            GraphqlErrorBuilder<?> b = GraphqlErrorBuilder.newError().path(params.getPath())
                    .location(params.getSourceLocation());
            if (t instanceof ApiException e) {
                b.message(e.getMessage()).extensions(Map.of("code", code(e.status()), "status", e.status()));
            } else {
                LOG.warn("GraphQL field {} failed: {}", params.getPath(), t.getClass().getSimpleName());
                b.message("Internal error.").extensions(Map.of("code", "INTERNAL", "status", 500));
            }
            return CompletableFuture.completedFuture(DataFetcherExceptionHandlerResult.newResult().error(b.build())
                    .build());
        };
    }

    static String code(int status) {
        return switch (status) {
            case 400 -> "BAD_REQUEST";
            case 401 -> "UNAUTHENTICATED";
            case 403 -> "FORBIDDEN";
            case 404 -> "NOT_FOUND";
            case 413 -> "TOO_LARGE";
            case 429 -> "TOO_MANY_REQUESTS";
            default -> status >= 500 ? "UNAVAILABLE" : "ERROR";
        };
    }

}
