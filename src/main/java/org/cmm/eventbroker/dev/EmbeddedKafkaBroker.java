package org.cmm.eventbroker.dev;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.clients.admin.UserScramCredentialsDescription;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Exit;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.metadata.storage.Formatter;
import org.apache.kafka.server.common.MetadataVersion;
import org.cmm.eventbroker.platform.security.kafka.AuditingOAuthBearerValidator;
import org.cmm.eventbroker.platform.security.kafka.AuditingSslEngineFactory;
import org.cmm.eventbroker.platform.security.kafka.DataAccessReplicaSelector;
import org.cmm.eventbroker.platform.security.kafka.CmmKafkaPrincipalBuilder;
import org.cmm.eventbroker.platform.security.kafka.RbacAuthorizer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real, single-node Apache Kafka broker (KRaft, combined broker and controller) running in this JVM.
 *
 * <p>It exists so that a developer machine needs nothing but Java to run the Event Broker: the runtime starts it
 * when no bootstrap servers are configured. It is a development default, not a production deployment: one node
 * means replication factor 1, so {@code acks=all} only means "the leader has it". Its data lives in a folder that
 * survives restarts; the folder is formatted on first use only.
 *
 * <p>With {@link Security} (the production posture) it has no PLAINTEXT listener: a SASL_SSL listener (SCRAM-SHA-512;
 * PLAIN only when it has users; OAUTHBEARER when an OIDC issuer is given, tokens checked by Kafka's own
 * {@code OAuthBearerValidatorCallbackHandler}), an SSL listener that requires a client certificate, and the KRaft
 * controller listener over SSL with the broker's own certificate. Requests are authorized by the
 * {@link RbacAuthorizer}; principals come from {@link CmmKafkaPrincipalBuilder}; SCRAM users are written at format
 * (KIP-900) and added while running when missing.
 *
 * <p><b>A fatal error does not end the JVM.</b> Kafka answers some errors by halting the process
 * ({@code Exit.halt(1)}): in KRaft, a failed metadata log dir (its disk full, for example) does. Here that process is
 * the runtime's own, so the halt would kill every flow without a graceful close. While an embedded broker runs, the
 * JVM's Kafka exit and halt procedures are replaced: the broker is stopped instead, {@link #failure()} says why (the
 * runtime then answers AE and readiness is DOWN, since Kafka cannot be reached), and every
 * {@code recoveryIntervalMs} it is started again once its data folder has {@code minFreeBytes} usable (issue 17,
 * docs/reliability.md, "Disk full").
 */
public final class EmbeddedKafkaBroker implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedKafkaBroker.class);
    private static final int NODE_ID = 1;

    private final String host;
    private final int port;
    private final int controllerPort;
    private final Path dataDir;
    private final Map<String, String> overrides;
    private final Security security;
    private KafkaRaftServer server;

    /** Brokers running in this JVM: those a halt or exit asked by Kafka is turned into a stop for. */
    private static final Set<EmbeddedKafkaBroker> RUNNING = ConcurrentHashMap.newKeySet();
    private static boolean exitIntercepted;

    /** Usable bytes the data folder needs before a failed broker is started again (64 MiB). */
    public static final long DEFAULT_MIN_FREE_BYTES = 64L * 1024 * 1024;
    /** How often a failed broker checks whether it can start again (10 s). */
    public static final long DEFAULT_RECOVERY_INTERVAL_MS = 10_000;

    private volatile String failure;
    private volatile boolean closed;
    private long minFreeBytes = DEFAULT_MIN_FREE_BYTES;
    private long recoveryIntervalMs = DEFAULT_RECOVERY_INTERVAL_MS;
    private ScheduledExecutorService recovery;
    private long lastDownWarning = System.nanoTime() - TimeUnit.HOURS.toNanos(1);

    /**
     * The secure posture's settings.
     *
     * @param sslPort            the SSL (client certificate) listener's port
     * @param keystore           PKCS12 with the broker's key and chain (also its client certificate towards its own
     *                           controller and the audit topics)
     * @param truststore         PKCS12 with the CA(s) of client certificates
     * @param brokerPrincipal    the user name the broker's own certificate maps to (a super user)
     * @param principalMappingRules {@code ssl.principal.mapping.rules}
     * @param scramUsers         SCRAM-SHA-512 users and passwords, written at format and added when missing
     * @param plainUsers         PLAIN users and passwords; empty: PLAIN is off
     * @param oauth              the OIDC issuer for OAUTHBEARER; null: OAUTHBEARER is off
     * @param roleBindings       the authorizer's role-bindings file
     * @param superUsers         further super users (user names)
     * @param reauthMs           {@code connections.max.reauth.ms}
     * @param authorizerSettings further {@code cmm.authorizer.*} settings
     */
    public record Security(int sslPort, Path keystore, String keystorePassword, Path truststore,
            String truststorePassword, String brokerPrincipal, String principalMappingRules,
            Map<String, String> scramUsers, Map<String, String> plainUsers, Oauth oauth, Path roleBindings,
            List<String> superUsers, long reauthMs, Map<String, String> authorizerSettings) {

        /** The default mapping: the CN of a certificate's subject, e.g. {@code CN=lis.example.org,O=X} to {@code lis.example.org}. */
        public static final String CN_MAPPING_RULES = "RULE:^CN=([^,]+).*$/$1/,DEFAULT";

        @Override
        public String toString() {
            return "Security[sslPort=" + sslPort + ", scramUsers=" + scramUsers.keySet() + ", plainUsers="
                    + plainUsers.keySet() + ", oauth=" + oauth + "]"; // never the passwords
        }
    }

    /** OAUTHBEARER: tokens of this issuer, checked against its JWKS. */
    public record Oauth(String issuer, String jwksUri, String audience, int clockSkewSeconds) {
    }

    /**
     * @param host           the address both listeners bind to and advertise (127.0.0.1 by default)
     * @param port           the client (PLAINTEXT) port, 9092 by default
     * @param controllerPort the KRaft controller port, 9093 by default
     * @param dataDir        where logs and metadata live; formatted when empty
     * @param overrides      further broker settings, e.g. {@code message.max.bytes}
     */
    public EmbeddedKafkaBroker(String host, int port, int controllerPort, Path dataDir, Map<String, String> overrides) {
        this(host, port, controllerPort, dataDir, overrides, null);
    }

    /**
     * A broker in the production posture ({@code security} not null): {@code port} is then the SASL_SSL listener's.
     */
    public EmbeddedKafkaBroker(String host, int port, int controllerPort, Path dataDir, Map<String, String> overrides,
            Security security) {
        this.security = security;
        this.host = host;
        this.port = port;
        this.controllerPort = controllerPort;
        this.dataDir = dataDir.toAbsolutePath();
        this.overrides = Map.copyOf(overrides);
    }

    /**
     * After a fatal error, the broker is started again once its data folder has this many usable bytes, checked every
     * {@code intervalMs} (set before {@link #start()}).
     */
    public void setRecovery(long minFreeBytes, long intervalMs) {
        this.minFreeBytes = minFreeBytes;
        this.recoveryIntervalMs = intervalMs;
    }

    /**
     * Why the broker stopped on its own (Kafka asked to halt or exit the JVM, e.g. its data folder's disk is full),
     * while it is stopped for that reason; empty when it runs or was stopped on purpose.
     */
    public Optional<String> failure() {
        return Optional.ofNullable(failure);
    }

    public synchronized void start() throws Exception {
        if (server != null) {
            return;
        }
        closed = false;
        interceptExit();
        startServer();
        RUNNING.add(this);
        if (recovery == null) {
            recovery = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "embedded-kafka-recovery");
                t.setDaemon(true);
                return t;
            });
            recovery.scheduleWithFixedDelay(this::recoverIfFailed, recoveryIntervalMs, recoveryIntervalMs,
                    TimeUnit.MILLISECONDS);
        }
    }

    /**
     * Kafka's {@code Exit.halt}/{@code Exit.exit} stop the embedded brokers instead of the JVM. Installed once; the
     * procedures are the JVM's (Kafka's {@code Exit} is static), and no other Kafka server runs in this process.
     */
    private static synchronized void interceptExit() {
        if (exitIntercepted) {
            return;
        }
        Exit.setHaltProcedure((status, message) -> fatal("halt", status, message));
        Exit.setExitProcedure((status, message) -> fatal("exit", status, message));
        exitIntercepted = true;
    }

    private static void fatal(String what, int status, String message) {
        LOG.error("Kafka asked to {} the JVM with status {} ({}): the embedded broker is stopped instead; the runtime "
                + "answers AE until it is back", what, status, message == null ? "no reason given" : message);
        for (EmbeddedKafkaBroker broker : RUNNING) {
            broker.fail(what + " " + status + (message == null ? "" : ": " + message));
        }
    }

    /** Stops the broker after a fatal error, on a thread of its own (the caller is one of Kafka's threads). */
    private void fail(String reason) {
        if (failure != null) {
            return;
        }
        failure = reason;
        RUNNING.remove(this);
        Thread stopper = new Thread(() -> {
            try {
                stopServer();
            } catch (RuntimeException e) {
                LOG.warn("The failed embedded Kafka broker did not stop cleanly: {}", e.toString());
            }
        }, "embedded-kafka-failed-stop");
        stopper.setDaemon(true);
        stopper.start();
    }

    /** Starts a failed broker again when it is stopped and its folder has room. */
    private void recoverIfFailed() {
        if (failure == null || closed) {
            return;
        }
        synchronized (this) {
            if (server != null || failure == null || closed) {
                return; // still stopping
            }
            try {
                long usable = Files.getFileStore(dataDir).getUsableSpace();
                if (usable < minFreeBytes) {
                    long now = System.nanoTime();
                    if (now - lastDownWarning > TimeUnit.MINUTES.toNanos(1)) {
                        lastDownWarning = now;
                        LOG.warn("Embedded Kafka broker still down ({}): {} bytes usable in its data folder, {} needed",
                                failure, usable, minFreeBytes);
                    }
                    return;
                }
                LOG.info("Starting the embedded Kafka broker again after: {}", failure);
                failure = null;
                startServer();
                RUNNING.add(this);
            } catch (Exception e) {
                failure = failure == null ? "restart failed: " + e.getClass().getSimpleName() : failure;
                LOG.warn("The embedded Kafka broker could not start again: {}", e.toString());
                stopServer();
            }
        }
    }

    private synchronized void startServer() throws Exception {
        if (server != null) {
            return;
        }
        long started = System.nanoTime();
        Files.createDirectories(dataDir);
        KafkaConfig config = new KafkaConfig(brokerProperties(), false);
        formatIfNew();
        KafkaRaftServer raftServer = new KafkaRaftServer(config, Time.SYSTEM);
        raftServer.startup();
        server = raftServer;
        if (security != null) {
            addMissingScramUsers(security.scramUsers());
            LOG.info("Embedded Kafka broker (KRaft) listening with SASL_SSL on {} and SSL (client certificates) on {} "
                    + "with data in {} ({} ms)", bootstrapServers(), sslBootstrapServers(), dataDir,
                    (System.nanoTime() - started) / 1_000_000);
            return;
        }
        LOG.info("Embedded Kafka broker (KRaft, development only) listening on {} with data in {} ({} ms)",
                bootstrapServers(), dataDir, (System.nanoTime() - started) / 1_000_000);
    }

    /** The SSL (client certificate) listener's address; null without security. */
    public String sslBootstrapServers() {
        return security == null ? null : host + ":" + security.sslPort();
    }

    /**
     * Client settings that connect as the broker itself (its certificate on the SSL listener, a super user): the
     * broker's own Admin work. Null without security.
     */
    public Properties brokerClientProperties() {
        if (security == null) {
            return null;
        }
        Properties p = new Properties();
        p.put("bootstrap.servers", sslBootstrapServers());
        p.putAll(sslClientSettings(security));
        return p;
    }

    /**
     * Adds or changes a SCRAM-SHA-512 user while running (Admin.alterUserScramCredentials), as the broker itself.
     */
    public void upsertScramUser(String user, String password) throws Exception {
        try (Admin admin = Admin.create(brokerClientProperties())) {
            admin.alterUserScramCredentials(List.of(new UserScramCredentialUpsertion(user,
                    new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192), password))).all().get();
        }
        LOG.info("SCRAM-SHA-512 credential set for user {}", user);
    }

    private void addMissingScramUsers(Map<String, String> users) throws Exception {
        if (users.isEmpty()) {
            return;
        }
        Set<String> existing;
        try (Admin admin = Admin.create(brokerClientProperties())) {
            Map<String, UserScramCredentialsDescription> described = admin.describeUserScramCredentials().all().get();
            existing = described.keySet();
        }
        for (Map.Entry<String, String> user : users.entrySet()) {
            if (!existing.contains(user.getKey())) {
                upsertScramUser(user.getKey(), user.getValue());
            }
        }
    }

    private static Map<String, String> sslClientSettings(Security security) {
        Map<String, String> p = new HashMap<>();
        p.put("security.protocol", "SSL");
        p.put("ssl.keystore.type", "PKCS12");
        p.put("ssl.keystore.location", security.keystore().toAbsolutePath().toString());
        p.put("ssl.keystore.password", security.keystorePassword());
        p.put("ssl.key.password", security.keystorePassword());
        p.put("ssl.truststore.type", "PKCS12");
        p.put("ssl.truststore.location", security.truststore().toAbsolutePath().toString());
        p.put("ssl.truststore.password", security.truststorePassword());
        return p;
    }

    /** The value for {@code bootstrap.servers} that reaches this broker. */
    public String bootstrapServers() {
        return host + ":" + port;
    }

    public Path dataDir() {
        return dataDir;
    }

    public synchronized boolean isRunning() {
        return server != null && failure == null;
    }

    public synchronized void stop() {
        closed = true;
        failure = null;
        RUNNING.remove(this);
        if (recovery != null) {
            recovery.shutdownNow();
            recovery = null;
        }
        stopServer();
    }

    private synchronized void stopServer() {
        if (server == null) {
            return;
        }
        LOG.info("Stopping embedded Kafka broker on {}", bootstrapServers());
        server.shutdown();
        server.awaitShutdown();
        server = null;
    }

    @Override
    public void close() {
        stop();
    }

    private Map<String, String> brokerProperties() {
        Map<String, String> p = new HashMap<>();
        p.put("process.roles", "broker,controller");
        p.put("node.id", String.valueOf(NODE_ID));
        p.put("controller.quorum.voters", NODE_ID + "@" + host + ":" + controllerPort);
        p.put("listeners", "PLAINTEXT://" + host + ":" + port + ",CONTROLLER://" + host + ":" + controllerPort);
        p.put("advertised.listeners", "PLAINTEXT://" + host + ":" + port);
        p.put("controller.listener.names", "CONTROLLER");
        p.put("inter.broker.listener.name", "PLAINTEXT");
        p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        p.put("log.dirs", dataDir.toString());
        p.put("metadata.log.dir", dataDir.toString());
        // a single node: internal topics cannot be replicated
        p.put("offsets.topic.replication.factor", "1");
        p.put("offsets.topic.num.partitions", "4");
        p.put("transaction.state.log.replication.factor", "1");
        p.put("transaction.state.log.min.isr", "1");
        // as few as the offsets topic: the first transactional producer of a fresh broker waits for them all to be
        // created (50 by default took longer than a 2.5 s initTransactions on a loaded machine)
        p.put("transaction.state.log.num.partitions", "4");
        p.put("default.replication.factor", "1");
        p.put("min.insync.replicas", "1");
        p.put("num.partitions", "4");
        p.put("auto.create.topics.enable", "true");
        p.put("group.initial.rebalance.delay.ms", "0");
        // HL7 documents (MDM with embedded PDFs/CDA) exceed Kafka's 1 MB default
        p.put("message.max.bytes", String.valueOf(16 * 1024 * 1024));
        p.put("replica.fetch.max.bytes", String.valueOf(16 * 1024 * 1024));
        p.put("log.flush.interval.messages", String.valueOf(Long.MAX_VALUE));
        if (security != null) {
            secure(p, security);
        }
        p.putAll(overrides);
        return p;
    }

    private void secure(Map<String, String> p, Security s) {
        p.put("listeners", "SASL_SSL://" + host + ":" + port + ",SSL://" + host + ":" + s.sslPort()
                + ",CONTROLLER://" + host + ":" + controllerPort);
        p.put("advertised.listeners", "SASL_SSL://" + host + ":" + port + ",SSL://" + host + ":" + s.sslPort());
        p.put("listener.security.protocol.map", "SASL_SSL:SASL_SSL,SSL:SSL,CONTROLLER:SSL");
        p.put("inter.broker.listener.name", "SSL");
        sslClientSettings(s).forEach((k, v) -> {
            if (!k.equals("security.protocol")) {
                p.put(k, v);
            }
        });
        p.put("listener.name.ssl.ssl.client.auth", "required");
        p.put("listener.name.controller.ssl.client.auth", "required");
        p.put("listener.name.sasl_ssl.ssl.client.auth", "none");
        p.put("ssl.principal.mapping.rules", s.principalMappingRules());
        // failed TLS handshakes (no or an untrusted certificate, garbage, plain text) audited, not only logged
        p.put("ssl.engine.factory.class", AuditingSslEngineFactory.class.getName());
        p.put("principal.builder.class", CmmKafkaPrincipalBuilder.class.getName());
        // the default, 0, never re-authenticates: a revoked user or an expired token would keep its connections
        p.put("connections.max.reauth.ms", String.valueOf(s.reauthMs()));

        List<String> mechanisms = new ArrayList<>(List.of("SCRAM-SHA-512"));
        p.put("listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config",
                "org.apache.kafka.common.security.scram.ScramLoginModule required;");
        if (!s.plainUsers().isEmpty()) {
            mechanisms.add("PLAIN");
            p.put("listener.name.sasl_ssl.plain.sasl.jaas.config",
                    "org.apache.kafka.common.security.plain.PlainLoginModule required "
                            + s.plainUsers().entrySet().stream()
                                    .map(u -> "user_" + u.getKey() + "=\"" + jaasEscape(u.getValue()) + "\"")
                                    .collect(Collectors.joining(" ")) + ";");
        }
        if (s.oauth() != null) {
            mechanisms.add("OAUTHBEARER");
            Oauth o = s.oauth();
            p.put("listener.name.sasl_ssl.oauthbearer.sasl.jaas.config",
                    "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;");
            p.put("listener.name.sasl_ssl.oauthbearer.sasl.server.callback.handler.class",
                    AuditingOAuthBearerValidator.class.getName());
            p.put("listener.name.sasl_ssl.oauthbearer.sasl.oauthbearer.jwks.endpoint.url", o.jwksUri());
            p.put("listener.name.sasl_ssl.oauthbearer.sasl.oauthbearer.expected.issuer", o.issuer());
            if (o.audience() != null && !o.audience().isBlank()) {
                p.put("listener.name.sasl_ssl.oauthbearer.sasl.oauthbearer.expected.audience", o.audience());
            }
            p.put("listener.name.sasl_ssl.oauthbearer.sasl.oauthbearer.clock.skew.seconds",
                    String.valueOf(o.clockSkewSeconds()));
            // Kafka 3.9 allows every URL, 4.0 none: name the JWKS explicitly
            allowOauthUrl(o.jwksUri());
        }
        p.put("sasl.enabled.mechanisms", String.join(",", mechanisms));
        p.put("listener.name.sasl_ssl.sasl.enabled.mechanisms", String.join(",", mechanisms));

        p.put("authorizer.class.name", RbacAuthorizer.class.getName());
        // who reads which partition of a patient topic, from when: Kafka asks the replica selector on every fetch
        p.put("replica.selector.class", DataAccessReplicaSelector.class.getName());
        List<String> supers = new ArrayList<>();
        supers.add("User:" + s.brokerPrincipal());
        s.superUsers().forEach(u -> supers.add("User:" + u));
        p.put("super.users", String.join(";", supers));
        p.put(RbacAuthorizer.BINDINGS_FILE, s.roleBindings().toAbsolutePath().toString());
        p.put(RbacAuthorizer.AUDIT_PRODUCER_PREFIX + "bootstrap.servers", host + ":" + s.sslPort());
        sslClientSettings(s).forEach((k, v) -> p.put(RbacAuthorizer.AUDIT_PRODUCER_PREFIX + k, v));
        p.putAll(s.authorizerSettings());
    }

    private static String jaasEscape(String value) {
        return value.replace("\\", "\\\\").replace("\"", "\\\"");
    }

    /** Adds a URL to {@code org.apache.kafka.sasl.oauthbearer.allowed.urls} (JVM-wide, as Kafka reads it). */
    static synchronized void allowOauthUrl(String url) {
        String key = "org.apache.kafka.sasl.oauthbearer.allowed.urls";
        String current = System.getProperty(key, "").trim();
        if (current.isEmpty()) {
            System.setProperty(key, url);
        } else if (!List.of(current.split(",")).contains(url)) {
            System.setProperty(key, current + "," + url);
        }
    }

    private void formatIfNew() throws Exception {
        if (Files.exists(dataDir.resolve("meta.properties"))) {
            return;
        }
        String clusterId = Uuid.randomUuid().toString();
        new Formatter()
                .setNodeId(NODE_ID)
                .setClusterId(clusterId)
                .setDirectories(List.of(dataDir.toString()))
                .setMetadataLogDirectory(dataDir.toString())
                .setReleaseVersion(MetadataVersion.LATEST_PRODUCTION)
                .setControllerListenerName("CONTROLLER")
                .setScramArguments(security == null ? List.of() : security.scramUsers().entrySet().stream()
                        .map(u -> "SCRAM-SHA-512=[name=" + u.getKey() + ",password=\"" + u.getValue() + "\"]")
                        .toList())
                .setPrintStream(new java.io.PrintStream(java.io.OutputStream.nullOutputStream()))
                .run();
        LOG.info("Formatted new embedded Kafka data folder {} (cluster id {})", dataDir, clusterId);
    }

    /** Deletes a data folder (tests and "reset" use it). */
    public static void deleteDataDir(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (var paths = Files.walk(dir)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
