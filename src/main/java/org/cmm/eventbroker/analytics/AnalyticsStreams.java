package org.cmm.eventbroker.analytics;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.camel.CamelContext;
import org.apache.camel.CamelContextAware;
import org.apache.camel.Exchange;
import org.apache.camel.support.service.ServiceSupport;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyQueryMetadata;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.StreamsMetadata;
import org.apache.kafka.streams.errors.InvalidStateStoreException;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.state.HostInfo;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;
import org.cmm.eventbroker.platform.delivery.ConsumerPriority;
import org.cmm.eventbroker.platform.delivery.IntakePriority;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.cmm.eventbroker.platform.kafka.KeptForeverTopic;
import org.cmm.eventbroker.platform.security.TlsMaterial;
import org.cmm.eventbroker.platform.security.http.CallerCredentials;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Kafka Streams application of the analytics flows, run inside the runtime: a service bean, so Camel starts it with
 * the context where a flow that declares it is loaded (routes/analytics/analytics-beans.camel.yaml) and stops it with
 * the context. Its clients
 * connect through {@link KafkaClients#streamsProperties(String)}, the one Kafka boundary. It answers the interactive
 * queries of /analytics/* and feeds the dashboard; with several instances (same application id) the partitions, and so
 * the wards, units and departments, are shared among them, and each answers for the ones it holds.
 */
public class AnalyticsStreams extends ServiceSupport implements CamelContextAware, AnalyticsCounters {

    private static final Logger LOG = LoggerFactory.getLogger(AnalyticsStreams.class);

    private CamelContext camelContext;
    private String applicationId;
    private String adtTopicPrefix;
    private String adtEvents;
    private String bedOccupancyTopic;
    private String patientFlowTopic;
    private String waitTimesTopic;
    private String deadLetterTopic;
    private String wards = "";
    private String waitPatientClasses = "E";
    private String timeZone = "";
    private long maxFutureSkewMs;
    private long retentionMs;
    private int maxEventsPerPatient;
    private long flowGraceMs;
    private long waitWindowMs;
    private long waitAdvanceMs;
    private long waitGraceMs;
    private long punctuationMs;
    private String stateDir;
    private int standbyReplicas;
    private int replicationFactor = -1;
    private long commitIntervalMs = 100;
    private int streamThreads = 1;
    private long producerLingerMs = 0;
    private int fetchMaxWaitMs = 200;
    private int fetchMinBytes = 32_768;
    private String applicationServer = "";
    private long forwardTimeoutMs = 10_000;
    private volatile HostInfo self;
    private boolean forwardTls;
    private volatile HttpClient forwarder;
    private long closeTimeoutMs = 30_000;
    private int sessionTimeoutMs = 45_000;

    private volatile KafkaStreams streams;
    private volatile AnalyticsSettings settings;
    private final Map<String, AtomicLong> rejected = new ConcurrentHashMap<>();
    private final AtomicLong duplicates = new AtomicLong();
    private final Map<String, Counter> meters = new ConcurrentHashMap<>();

    @Override
    public void setCamelContext(CamelContext camelContext) {
        this.camelContext = camelContext;
    }

    @Override
    public CamelContext getCamelContext() {
        return camelContext;
    }

    @Override
    protected synchronized void doStart() throws Exception {
        if (streams != null) {
            return;
        }
        settings = new AnalyticsSettings(AnalyticsSettings.adtTopics(require(adtTopicPrefix, "adt-topic-prefix"),
                require(adtEvents, "adt-events")), require(bedOccupancyTopic, "bed-occupancy-topic"),
                require(patientFlowTopic, "patient-flow-topic"), require(waitTimesTopic, "wait-times-topic"),
                require(deadLetterTopic, "dead-letter-topic"), AnalyticsSettings.split(wards),
                AnalyticsSettings.split(waitPatientClasses), AnalyticsSettings.zone(timeZone), maxFutureSkewMs,
                retentionMs, maxEventsPerPatient, flowGraceMs, waitWindowMs, waitAdvanceMs, waitGraceMs, punctuationMs);
        KafkaClients clients = KafkaClients.of(camelContext);
        ensureTopics(clients);
        Properties p = clients.streamsProperties(require(applicationId, "application-id"));
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        p.put(StreamsConfig.STATE_DIR_CONFIG, Path.of(require(stateDir, "state-dir")).toAbsolutePath().toString());
        p.put(StreamsConfig.NUM_STANDBY_REPLICAS_CONFIG, standbyReplicas);
        p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, replicationFactor);
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, commitIntervalMs);
        p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, streamThreads);
        // Kafka Streams' own producer default is linger.ms=100: under exactly-once the records then wait in the
        // producer until the commit flushes them, and the commit (which blocks the stream thread) waits for all of them
        p.put(StreamsConfig.producerPrefix("linger.ms"), producerLingerMs);
        p.put(StreamsConfig.consumerPrefix("fetch.max.wait.ms"), fetchMaxWaitMs);
        // in batches, as the kafka-delivery consumers (cmm.delivery.fetch-min-bytes)
        p.put(StreamsConfig.consumerPrefix("fetch.min.bytes"), fetchMinBytes);
        // where the other instances reach this one's /analytics/* (interactive queries of the keys it holds)
        self = applicationServer == null || applicationServer.isBlank() ? null : HostInfo.buildFromEndpoint(
                applicationServer.trim());
        if (self != null) {
            p.put(StreamsConfig.APPLICATION_SERVER_CONFIG, applicationServer.trim());
        }
        // how long the group waits for an instance that stopped (Streams does not leave the group on close) before its
        // partitions move: the pause of a restart or failover
        p.put(StreamsConfig.consumerPrefix("session.timeout.ms"), sessionTimeoutMs);
        p.put(StreamsConfig.consumerPrefix("heartbeat.interval.ms"), Math.max(500, Math.min(3000, sessionTimeoutMs / 3)));
        // made and started on a thread of lowered CPU priority: its stream threads (and their clients' threads)
        // inherit it, so the intake's ACKs come first (issue 17 item 8; cmm.consumers.nice)
        KafkaStreams s = ConsumerPriority.of(camelContext).inLoweredThread("analytics-streams-start-" + applicationId,
                () -> {
                    IntakePriority intake = IntakePriority.of(camelContext);
                    KafkaStreams made = new KafkaStreams(AnalyticsTopology.build(settings, this, true,
                            intake::awaitTurnWhenBusy), p);
                    made.setUncaughtExceptionHandler(e -> {
                        // a bug, not bad input (that is dead-lettered): stop rather than publish a wrong census;
                        // /analytics answers 503
                        LOG.error("Analytics Streams application {} stops after an unexpected error: {}",
                                applicationId, e.getClass().getName());
                        return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
                    });
                    made.start();
                    return made;
                });
        streams = s;
        LOG.info("Analytics Streams application {} started on {} (exactly_once_v2, {} standby replica(s))",
                applicationId, settings.adtTopics(), standbyReplicas);
    }

    @Override
    protected synchronized void doStop() {
        KafkaStreams s = streams;
        streams = null;
        if (s != null) {
            s.close(Duration.ofMillis(closeTimeoutMs));
            LOG.info("Analytics Streams application {} stopped", applicationId);
        }
    }

    /** The inputs exist before the application subscribes (with the broker's partitions, as the HL7 flow would). */
    private void ensureTopics(KafkaClients clients) {
        try (Admin admin = clients.admin("analytics-topics", Map.of())) {
            Set<String> existing = admin.listTopics().names().get(30, TimeUnit.SECONDS);
            List<NewTopic> missing = new ArrayList<>();
            List<String> wanted = new ArrayList<>(settings.adtTopics());
            wanted.addAll(List.of(settings.bedOccupancyTopic(), settings.patientFlowTopic(), settings.waitTimesTopic()));
            for (String topic : wanted) {
                if (!existing.contains(topic)) {
                    missing.add(new NewTopic(topic, Optional.empty(), Optional.empty()));
                }
            }
            // one request for all; a topic another instance created meanwhile is fine
            for (var created : admin.createTopics(missing).values().values()) {
                try {
                    created.get(30, TimeUnit.SECONDS);
                } catch (java.util.concurrent.ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw e;
                    }
                }
            }
            KeptForeverTopic dlq = new KeptForeverTopic();
            dlq.setCamelContext(camelContext);
            dlq.setTopic(settings.deadLetterTopic());
            dlq.ensure();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while preparing the analytics topics", e);
        } catch (Exception e) {
            throw new IllegalStateException("cannot prepare the analytics topics: " + e.getMessage(), e);
        }
    }

    private static String require(String value, String key) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException("cmm.analytics." + key + " is not set");
        }
        return value.trim();
    }

    // ---- interactive queries

    /** Whether the application runs (not starting, rebalancing or stopped). */
    public boolean running() {
        KafkaStreams s = streams;
        return s != null && s.state() == KafkaStreams.State.RUNNING;
    }

    public String state() {
        KafkaStreams s = streams;
        return s == null ? "NOT_STARTED" : s.state().name();
    }

    /** Census per ward, ordered by ward; empty wards are left out (every instance's wards). */
    public ArrayNode bedOccupancy() {
        return bedOccupancy(false, null);
    }

    /** Flow per unit and hour, ordered by unit then hour (every instance's units). */
    public ArrayNode patientFlow() {
        return patientFlow(false, null);
    }

    /** Wait-time windows per department, ordered by department then window, without their samples. */
    public ArrayNode waitTimes() {
        return waitTimes(false, null);
    }

    private ArrayNode bedOccupancy(boolean localOnly, String bearer) {
        return query("bed-occupancy", MetricsAggregator.BED_OCCUPANCY, Comparator.comparing(n -> n.path("ward")
                .asText()), false, localOnly, bearer);
    }

    private ArrayNode patientFlow(boolean localOnly, String bearer) {
        return query("patient-flow", MetricsAggregator.PATIENT_FLOW, Comparator.<ObjectNode, String>comparing(n ->
                n.path("unit").asText()).thenComparingLong(n -> n.path("hourStartMs").asLong()), false, localOnly, bearer);
    }

    private ArrayNode waitTimes(boolean localOnly, String bearer) {
        return query("wait-times", MetricsAggregator.WAIT_TIMES, Comparator.<ObjectNode, String>comparing(n ->
                n.path("department").asText()).thenComparingLong(n -> n.path("windowStartMs").asLong()), true,
                localOnly, bearer);
    }

    private KafkaStreams runningStreams() {
        KafkaStreams s = streams;
        if (s == null || s.state() != KafkaStreams.State.RUNNING) {
            throw new AnalyticsUnavailableException("the analytics application is " + state());
        }
        return s;
    }

    /**
     * The rows of one store: this instance's, plus (unless {@code localOnly}) those of every other instance of the
     * application that holds a part of the store, asked over HTTP at its {@code application.server} with
     * {@code ?scope=local}. An instance that cannot answer makes the whole answer 503, never a silently partial one.
     */
    private ArrayNode query(String metric, String storeName, Comparator<ObjectNode> order, boolean withoutSamples,
            boolean localOnly, String bearer) {
        KafkaStreams s = runningStreams();
        List<ObjectNode> rows = new ArrayList<>();
        try {
            ReadOnlyKeyValueStore<String, String> store = s.store(StoreQueryParameters.fromNameAndType(storeName,
                    QueryableStoreTypes.keyValueStore()));
            try (KeyValueIterator<String, String> all = store.all()) {
                while (all.hasNext()) {
                    KeyValue<String, String> kv = all.next();
                    ObjectNode n = AnalyticsJson.object(kv.value);
                    if (n.has("occupied") && n.get("occupied").asInt() == 0) {
                        continue;
                    }
                    if (withoutSamples) {
                        n.remove("samplesMs");
                        if (n.path("count").asInt() == 0) {
                            continue;
                        }
                    }
                    rows.add(n);
                }
            }
        } catch (InvalidStateStoreException e) {
            throw new AnalyticsUnavailableException("the analytics state is not queryable now (" + state() + ")");
        }
        if (!localOnly && self != null) {
            for (StreamsMetadata other : s.streamsMetadataForStore(storeName)) {
                if (!other.hostInfo().equals(self)) {
                    forward(other.hostInfo(), "/analytics/" + metric, bearer).forEach(n -> rows.add((ObjectNode) n));
                }
            }
        }
        rows.sort(order);
        ArrayNode array = AnalyticsJson.MAPPER.createArrayNode();
        rows.forEach(array::add);
        return array;
    }

    /**
     * One ward's census (zeros when it has no patient), from the instance that holds the ward's partition: this one,
     * or the owner asked over HTTP.
     */
    public JsonNode ward(String ward, boolean localOnly) {
        return ward(ward, localOnly, null);
    }

    /** As {@link #ward(String, boolean)}, forwarded (if at all) with the caller's bearer token (null: none). */
    JsonNode ward(String ward, boolean localOnly, String bearer) {
        KafkaStreams s = runningStreams();
        String key = Contribution.aggregateKey(Contribution.census(ward, ""));
        KeyQueryMetadata owner = s.queryMetadataForKey(MetricsAggregator.BED_OCCUPANCY, key,
                Serdes.String().serializer());
        if (owner == null || owner == KeyQueryMetadata.NOT_AVAILABLE) {
            throw new AnalyticsUnavailableException("the owner of the ward is not known now (" + state() + ")");
        }
        if (!localOnly && self != null && !owner.activeHost().equals(self)) {
            return forward(owner.activeHost(), "/analytics/bed-occupancy/" + URLEncoder.encode(ward,
                    StandardCharsets.UTF_8).replace("+", "%20"), bearer);
        }
        String json;
        try {
            // only the ward's partition, and only if this instance holds it (else 503, not a wrong zero)
            json = s.store(StoreQueryParameters.fromNameAndType(MetricsAggregator.BED_OCCUPANCY,
                    QueryableStoreTypes.<String, String>keyValueStore()).withPartition(owner.partition())).get(ward);
        } catch (InvalidStateStoreException e) {
            throw new AnalyticsUnavailableException("the ward's state is not queryable on this instance now ("
                    + state() + ")");
        }
        ObjectNode n = AnalyticsJson.object(json);
        if (!n.has("ward")) {
            n.put("ward", ward);
            n.put("occupied", 0);
            n.putObject("beds");
        }
        return n;
    }

    /**
     * The client of the forwarded queries, made on first use (HTTP/1.1, the platform HTTP server's protocol): over TLS
     * it verifies the other instance against the runtime's trust ({@code cmm.security.tls.truststore}, else the JDK's
     * CAs; the host of {@code cmm.analytics.application-server} must be in the other instance's certificate) and
     * presents the runtime's key ({@code cmm.security.tls.keystore}) when the other instance asks for a client
     * certificate: the runtime's own service credential, used when there is no caller's token to pass on.
     */
    private HttpClient forwarder() {
        HttpClient c = forwarder;
        if (c == null) {
            synchronized (this) {
                if (forwarder == null) {
                    HttpClient.Builder b = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                            .connectTimeout(Duration.ofSeconds(5));
                    if (forwardTls) {
                        b.sslContext(TlsMaterial.of(camelContext).clientContext());
                    }
                    forwarder = b.build();
                }
                c = forwarder;
            }
        }
        return c;
    }

    /**
     * GET {path}?scope=local at another instance of the application, over HTTPS when this runtime's HTTP server is
     * (the other instances' is then too), with the caller's bearer token so the other instance checks and audits the
     * same caller. Without one (null: access control off, a caller by client certificate, or the dashboard asking for
     * itself) it goes without an {@code Authorization} header: over TLS the other instance then sees the runtime's own
     * client certificate, if it asks for one. A refusal (401, 403) is passed on with its status; the token is never
     * logged, nor part of an exception's message.
     */
    private static boolean isLoopback(String host) {
        try {
            return java.net.InetAddress.getByName(host).isLoopbackAddress();
        } catch (java.net.UnknownHostException e) {
            return false;
        }
    }

    private JsonNode forward(HostInfo host, String path, String bearer) {
        URI uri = URI.create((forwardTls ? "https://" : "http://") + host.host() + ":" + host.port() + path
                + "?scope=local");
        try {
            HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(Duration.ofMillis(forwardTimeoutMs)).GET();
            // a token crosses the network only encrypted: over plain HTTP only to this machine's loopback
            if (bearer != null && !bearer.isBlank() && (forwardTls || isLoopback(host.host()))) {
                request.header("Authorization", "Bearer " + bearer);
            }
            HttpResponse<String> answer = forwarder().send(request.build(), HttpResponse.BodyHandlers.ofString());
            if (answer.statusCode() == 401 || answer.statusCode() == 403) {
                LOG.warn("The analytics instance at {}:{} refused a forwarded query ({}, {} credentials): its access"
                        + " rules or this instance's client certificate roles differ", host.host(), host.port(),
                        answer.statusCode(), bearer == null ? "the runtime's" : "the caller's");
                throw new AnalyticsUnavailableException("the instance at " + host.host() + ":" + host.port()
                        + " refused the query (" + answer.statusCode() + ")", answer.statusCode());
            }
            if (answer.statusCode() != 200) {
                throw new AnalyticsUnavailableException("the instance at " + host.host() + ":" + host.port()
                        + " answered " + answer.statusCode());
            }
            return AnalyticsJson.MAPPER.readTree(answer.body());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AnalyticsUnavailableException("interrupted while asking " + host.host() + ":" + host.port());
        } catch (java.io.IOException e) {
            throw new AnalyticsUnavailableException("the instance at " + host.host() + ":" + host.port()
                    + " cannot be reached (" + e.getClass().getSimpleName() + ")");
        }
    }

    /**
     * GET /analytics/{metric}: the metric as JSON (every instance's part), 503 while the state is restoring or
     * rebalancing or another instance cannot answer. The exchange property {@value #SCOPE_PROPERTY} "local" (from
     * ?scope=local: a call of another instance) answers this instance's part only.
     */
    public void answer(Exchange exchange, String metric) {
        boolean local = "local".equals(exchange.getProperty(SCOPE_PROPERTY, String.class));
        String bearer = CallerCredentials.bearer(exchange).orElse(null);
        respond(exchange, () -> switch (metric) {
            case "bed-occupancy" -> bedOccupancy(local, bearer);
            case "patient-flow" -> patientFlow(local, bearer);
            case "wait-times" -> waitTimes(local, bearer);
            default -> throw new IllegalArgumentException("unknown metric " + metric);
        });
    }

    /** GET /analytics/bed-occupancy/{ward}: one ward's census, from the instance that holds it. */
    public void answerWard(Exchange exchange) {
        boolean local = "local".equals(exchange.getProperty(SCOPE_PROPERTY, String.class));
        String ward = exchange.getProperty(WARD_PROPERTY, String.class);
        String bearer = CallerCredentials.bearer(exchange).orElse(null);
        respond(exchange, () -> ward(ward == null ? "" : ward, local, bearer));
    }

    /** Exchange property: "local" for a query that another instance forwarded (this instance's part only). */
    public static final String SCOPE_PROPERTY = "analyticsScope";
    /** Exchange property: the ward of GET /analytics/bed-occupancy/{ward}. */
    public static final String WARD_PROPERTY = "analyticsWard";

    private void respond(Exchange exchange, java.util.function.Supplier<JsonNode> answer) {
        try {
            exchange.getMessage().setBody(AnalyticsJson.text(answer.get()));
            exchange.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, 200);
        } catch (AnalyticsUnavailableException e) {
            exchange.getMessage().setBody(AnalyticsJson.text(AnalyticsJson.MAPPER.createObjectNode()
                    .put("error", e.getMessage())));
            exchange.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, e.status());
            if (e.status() == 503) {
                exchange.getMessage().setHeader("Retry-After", "5");
            }
        }
        exchange.getMessage().setHeader(Exchange.CONTENT_TYPE, "application/json");
    }

    // ---- counters

    @Override
    public void rejected(String kind) {
        rejected.computeIfAbsent(kind, k -> new AtomicLong()).incrementAndGet();
        count("cmm.analytics.rejected", kind);
    }

    @Override
    public void duplicate() {
        duplicates.incrementAndGet();
        count("cmm.analytics.duplicates", null);
    }

    /** ADT messages dead-lettered by this instance since it started, by rule. */
    public Map<String, Long> rejectedCounts() {
        Map<String, Long> copy = new java.util.TreeMap<>();
        rejected.forEach((k, v) -> copy.put(k, v.get()));
        return copy;
    }

    public long duplicateCount() {
        return duplicates.get();
    }

    private void count(String name, String reason) {
        String key = name + "|" + reason;
        Counter known = meters.get(key);
        if (known != null) {
            known.increment(); // the registry is looked up (a scan of the Camel registry) only for a new counter
            return;
        }
        MeterRegistry registry = camelContext == null ? null : camelContext.getRegistry().findSingleByType(MeterRegistry.class);
        if (registry == null) {
            return;
        }
        meters.computeIfAbsent(key, k -> {
            Counter.Builder b = Counter.builder(name).description(reason == null
                    ? "ADT messages ignored by the analytics as duplicates (same MSH-10)"
                    : "ADT messages dead-lettered by the analytics, by rule");
            if (reason != null) {
                b.tag("reason", reason);
            }
            return b.register(registry);
        }).increment();
    }

    AnalyticsSettings settings() {
        return settings;
    }

    // ---- configuration (cmm.analytics.*, documented in config/analytics.properties)

    public void setApplicationId(String applicationId) { this.applicationId = applicationId; }
    public void setAdtTopicPrefix(String adtTopicPrefix) { this.adtTopicPrefix = adtTopicPrefix; }
    public void setAdtEvents(String adtEvents) { this.adtEvents = adtEvents; }
    public void setBedOccupancyTopic(String bedOccupancyTopic) { this.bedOccupancyTopic = bedOccupancyTopic; }
    public void setPatientFlowTopic(String patientFlowTopic) { this.patientFlowTopic = patientFlowTopic; }
    public void setWaitTimesTopic(String waitTimesTopic) { this.waitTimesTopic = waitTimesTopic; }
    public void setDeadLetterTopic(String deadLetterTopic) { this.deadLetterTopic = deadLetterTopic; }
    public void setWards(String wards) { this.wards = wards; }
    public void setWaitPatientClasses(String waitPatientClasses) { this.waitPatientClasses = waitPatientClasses; }
    public void setTimeZone(String timeZone) { this.timeZone = timeZone; }
    public void setMaxFutureSkewMs(long maxFutureSkewMs) { this.maxFutureSkewMs = maxFutureSkewMs; }
    public void setRetentionMs(long retentionMs) { this.retentionMs = retentionMs; }
    public void setMaxEventsPerPatient(int maxEventsPerPatient) { this.maxEventsPerPatient = maxEventsPerPatient; }
    public void setFlowGraceMs(long flowGraceMs) { this.flowGraceMs = flowGraceMs; }
    public void setWaitWindowMs(long waitWindowMs) { this.waitWindowMs = waitWindowMs; }
    public void setWaitAdvanceMs(long waitAdvanceMs) { this.waitAdvanceMs = waitAdvanceMs; }
    public void setWaitGraceMs(long waitGraceMs) { this.waitGraceMs = waitGraceMs; }
    public void setPunctuationMs(long punctuationMs) { this.punctuationMs = punctuationMs; }
    public void setStateDir(String stateDir) { this.stateDir = stateDir; }
    public void setStandbyReplicas(int standbyReplicas) { this.standbyReplicas = standbyReplicas; }
    public void setReplicationFactor(int replicationFactor) { this.replicationFactor = replicationFactor; }
    public void setCommitIntervalMs(long commitIntervalMs) { this.commitIntervalMs = commitIntervalMs; }
    public void setStreamThreads(int streamThreads) { this.streamThreads = streamThreads; }
    public void setProducerLingerMs(long producerLingerMs) { this.producerLingerMs = producerLingerMs; }
    public void setFetchMaxWaitMs(int fetchMaxWaitMs) { this.fetchMaxWaitMs = fetchMaxWaitMs; }
    public void setFetchMinBytes(int fetchMinBytes) { this.fetchMinBytes = fetchMinBytes; }
    public void setApplicationServer(String applicationServer) { this.applicationServer = applicationServer; }
    public void setForwardTimeoutMs(long forwardTimeoutMs) { this.forwardTimeoutMs = forwardTimeoutMs; }
    public void setForwardTls(boolean forwardTls) { this.forwardTls = forwardTls; }
    public void setCloseTimeoutMs(long closeTimeoutMs) { this.closeTimeoutMs = closeTimeoutMs; }
    public void setSessionTimeoutMs(int sessionTimeoutMs) { this.sessionTimeoutMs = sessionTimeoutMs; }
}
