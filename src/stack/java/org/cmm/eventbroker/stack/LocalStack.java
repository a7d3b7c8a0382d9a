package org.cmm.eventbroker.stack;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;

import org.cmm.eventbroker.runtime.EventBrokerRuntime;
import org.cmm.eventbroker.dev.HawtioServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every peer the flows talk to, on one machine, beside the runtime: a FHIR R4 server, an S3-compatible store with
 * the data-lake bucket, SMTP and IMAP, an MQTT broker where mosquitto is installed, stand-ins for the LIS, the
 * pharmacy system and the EHR that the outbound flows deliver to, the runtime itself (with its embedded Kafka) and
 * Hawtio connected to it, all on loopback. For trying the flows by hand, not for production:
 *
 * <pre>
 * mvn -B -Pstack verify            # or, built:  java -cp ... org.cmm.eventbroker.stack.LocalStack
 * </pre>
 * Ports and folders are {@code cmm.stack.*} system properties; the runtime's own keys ({@code camel.management.port},
 * {@code cmm.lab.lis.port}, ...) work as usual and the stand-ins listen where the runtime delivers. Ctrl+C stops
 * everything.
 */
public final class LocalStack implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(LocalStack.class);

    /** One row of the table of what runs where. */
    public record Service(String name, String address, String note) {
    }

    private final Map<String, String> settings;
    private final Properties runtimeDefaults = loadRuntimeDefaults();
    private final Deque<AutoCloseable> started = new ArrayDeque<>();
    private final List<Service> services = new ArrayList<>();
    private final Map<String, Hl7StandInPeer> standIns = new LinkedHashMap<>();
    private FhirServer fhir;
    private S3Store s3;
    private WarehouseDatabase warehouse;
    private MailServer mail;
    private MqttBroker mqtt;
    private EventBrokerRuntime runtime;

    /**
     * @param settings {@code cmm.stack.*} settings and runtime properties; what is not here is read from the system
     *                 properties, then the defaults (the runtime's from its application.properties)
     */
    public LocalStack(Map<String, String> settings) {
        this.settings = Map.copyOf(settings);
    }

    public static void main(String[] args) throws Exception {
        LocalStack stack = new LocalStack(Map.of());
        Runtime.getRuntime().addShutdownHook(new Thread(stack::close, "local-stack-stop"));
        try {
            stack.start();
        } catch (Exception | Error e) {
            LOG.error("The local stack could not start: {}", e.getMessage(), e);
            System.exit(1);
        }
        System.out.println(stack.table());
        new CountDownLatch(1).await();
    }

    public synchronized LocalStack start() throws Exception {
        String host = setting("cmm.stack.host", "127.0.0.1");
        // the AWS SDK v2 (camel-aws2-s3) sends checksums s3proxy rejects unless these are when_required
        setSystemPropertyIfAbsent("aws.requestChecksumCalculation", "when_required");
        setSystemPropertyIfAbsent("aws.responseChecksumValidation", "when_required");

        int fhirPort = port("cmm.stack.fhir.port", 8090);
        int s3Port = port("cmm.stack.s3.port", 9000);
        int smtpPort = port("cmm.stack.smtp.port", 3025);
        int imapPort = port("cmm.stack.imap.port", 3143);
        int hawtioPort = port("cmm.stack.hawtio.port", 8082);
        int lisPort = port("cmm.lab.lis.port", 6661);
        int pharmacyPort = port("cmm.pharmacy.system.port", 6662);
        int ehrPort = port("cmm.ehr.mllp.port", 6663);
        Optional<java.nio.file.Path> mosquitto = mqttEnabled() ? MqttBroker.findExecutable() : Optional.empty();
        int mqttPort = port("cmm.stack.mqtt.port", 1883);
        // issue 14: the warehouse's PostgreSQL where Debian's postgresql is installed (cmm.stack.postgres.enabled)
        Optional<Path> postgres = Boolean.parseBoolean(setting("cmm.stack.postgres.enabled", "true"))
                ? WarehouseDatabase.findInstallation() : Optional.empty();
        int postgresPort = port("cmm.stack.postgres.port", 5433);
        boolean withRuntime = Boolean.parseBoolean(setting("cmm.stack.runtime", "true"));
        Path workDir = Path.of(setting("cmm.stack.work-dir", "data/stack"));

        Map<String, Integer> ports = new LinkedHashMap<>();
        ports.put("cmm.stack.fhir.port", fhirPort);
        ports.put("cmm.stack.s3.port", s3Port);
        ports.put("cmm.stack.smtp.port", smtpPort);
        ports.put("cmm.stack.imap.port", imapPort);
        ports.put("cmm.stack.hawtio.port", hawtioPort);
        ports.put("cmm.lab.lis.port", lisPort);
        ports.put("cmm.pharmacy.system.port", pharmacyPort);
        ports.put("cmm.ehr.mllp.port", ehrPort);
        mosquitto.ifPresent(m -> ports.put("cmm.stack.mqtt.port", mqttPort));
        postgres.ifPresent(p -> ports.put("cmm.stack.postgres.port", postgresPort));
        if (withRuntime) {
            for (String key : List.of("cmm.mllp.port", "cmm.lab.results.port", "cmm.pharmacy.dispensing.port",
                    "camel.server.port", "camel.management.port", "cmm.fhir.subscription.websocket.port")) {
                ports.put(key, port(key, 0));
            }
            if (setting("cmm.kafka.bootstrap-servers", "").isBlank()) {
                ports.put("cmm.kafka.embedded.port", port("cmm.kafka.embedded.port", 9092));
                ports.put("cmm.kafka.embedded.controller-port", port("cmm.kafka.embedded.controller-port", 9093));
            }
        }
        requireFree(host, ports);

        try {
            fhir = register(new FhirServer(host, fhirPort).start());
            services.add(new Service("FHIR R4 server (HAPI, in memory)", fhir.baseUrl(),
                    "CapabilityStatement at /fhir/metadata"));

            String bucket = setting("cmm.stack.s3.bucket", "cmm-data-lake");
            String accessKey = setting("cmm.stack.s3.access-key", "cmm-local");
            String secretKey = setting("cmm.stack.s3.secret-key", "cmm-local-secret");
            Path s3Dir = Path.of(setting("cmm.stack.s3.data-dir", "data/s3"));
            s3 = register(new S3Store(host, s3Port, s3Dir, accessKey, secretKey, bucket).start());
            services.add(new Service("S3-compatible store (s3proxy)", s3.endpoint(),
                    "bucket " + bucket + ", path-style, access key " + accessKey + " / secret " + secretKey
                            + ", data in " + s3Dir));

            String mailbox = setting("cmm.stack.mail.mailbox", "ops@cmm.local");
            mail = register(new MailServer(host, smtpPort, imapPort, mailbox).start());
            services.add(new Service("SMTP (GreenMail)", "smtp://" + host + ":" + smtpPort,
                    "any sender and recipient, no authentication"));
            services.add(new Service("IMAP (GreenMail)", "imap://" + host + ":" + imapPort,
                    "login and password = the recipient's address (" + mailbox + ")"));

            if (mosquitto.isPresent()) {
                mqtt = register(new MqttBroker(mosquitto.get(), host, mqttPort, workDir.resolve("mosquitto"))
                        .start(10_000));
                services.add(new Service("MQTT broker (mosquitto)", mqtt.url(), "anonymous, no persistence"));
            } else {
                services.add(new Service("MQTT broker (mosquitto)", "-",
                        mqttEnabled() ? "not installed (apt-get install mosquitto)" : "off (cmm.stack.mqtt.enabled)"));
            }

            if (postgres.isPresent()) {
                Path pgDir = Path.of(setting("cmm.stack.postgres.data-dir", "data/postgres"));
                warehouse = register(new WarehouseDatabase(postgres.get(), pgDir, host, postgresPort).start());
                services.add(new Service("Warehouse database (PostgreSQL)", warehouse.jdbcUrl(), "user "
                        + warehouse.user() + ", no password (trust on loopback), data in " + pgDir
                        + "; star schema: docs/data-platform.md"));
            } else {
                services.add(new Service("Warehouse database (PostgreSQL)", "-",
                        Boolean.parseBoolean(setting("cmm.stack.postgres.enabled", "true"))
                                ? "not installed (apt-get install postgresql): the warehouse loader stays off"
                                : "off (cmm.stack.postgres.enabled)"));
            }

            standIn("LIS", "MLLP, lab orders (ORM^O01)", host, lisPort);
            standIn("Pharmacy", "MLLP, medication orders (RDE^O11)", host, pharmacyPort);
            standIn("EHR", "MLLP, results and dispensing", host, ehrPort);

            int managementPort = port("camel.management.port", 0);
            if (withRuntime) {
                startRuntime(host, lisPort, pharmacyPort, ehrPort);
            }
            Path war = Path.of(setting("cmm.stack.hawtio.war", "target/hawtio/hawtio.war"));
            register(new HawtioServer(host, hawtioPort, war, host, managementPort).start());
            services.add(new Service("Hawtio", "http://" + host + ":" + hawtioPort + "/",
                    "connected to the runtime's Jolokia on port " + managementPort));
        } catch (Exception | Error e) {
            close();
            throw e;
        }
        return this;
    }

    private void standIn(String name, String what, String host, int port) throws InterruptedException {
        Hl7StandInPeer peer = register(new Hl7StandInPeer(name, host, port).start());
        standIns.put(name, peer);
        services.add(new Service(name + " stand-in (HAPI, answers AA)", "mllp://" + host + ":" + port, what));
    }

    private void startRuntime(String host, int lisPort, int pharmacyPort, int ehrPort) throws Exception {
        Map<String, String> overrides = new HashMap<>();
        settings.forEach((key, value) -> {
            if (!key.startsWith("cmm.stack.")) {
                overrides.put(key, value);
            }
        });
        // the runtime listens on the stack's address unless told otherwise, and delivers to the stand-ins
        for (String key : List.of("camel.management.host", "camel.server.host", "cmm.mllp.host",
                "cmm.lab.results.host", "cmm.pharmacy.dispensing.host", "cmm.lab.lis.host", "cmm.pharmacy.system.host",
                "cmm.ehr.mllp.host", "cmm.kafka.embedded.host", "cmm.fhir.subscription.websocket.host")) {
            overrides.putIfAbsent(key, explicitSetting(key).orElse(host));
        }
        overrides.put("cmm.lab.lis.port", String.valueOf(lisPort));
        overrides.put("cmm.pharmacy.system.port", String.valueOf(pharmacyPort));
        overrides.put("cmm.ehr.mllp.port", String.valueOf(ehrPort));
        // the FHIR flows follow the stack's FHIR server (history connector) and mail through its SMTP server
        overrides.putIfAbsent("cmm.fhir.server.base-url", fhir.baseUrl());
        overrides.putIfAbsent("cmm.fhir.history.enabled", "true");
        overrides.putIfAbsent("cmm.fhir.subscription.email.smtp-host", host);
        overrides.putIfAbsent("cmm.fhir.subscription.email.smtp-port", String.valueOf(port("cmm.stack.smtp.port", 3025)));
        // the data lake sink lands the topics in the stack's S3 store (docs/data-platform.md)
        overrides.putIfAbsent("cmm.lake.enabled", "true");
        overrides.putIfAbsent("cmm.lake.s3.endpoint", s3.endpoint());
        overrides.putIfAbsent("cmm.lake.s3.bucket", setting("cmm.stack.s3.bucket", "cmm-data-lake"));
        overrides.putIfAbsent("cmm.lake.s3.access-key", setting("cmm.stack.s3.access-key", "cmm-local"));
        overrides.putIfAbsent("cmm.lake.s3.secret-key", setting("cmm.stack.s3.secret-key", "cmm-local-secret"));
        // files written within seconds and new topics found soon, for a stack someone is watching
        overrides.putIfAbsent("cmm.lake.idle-cut-ms", "2000");
        overrides.putIfAbsent("cmm.lake.topic-discovery-ms", "3000");
        // the warehouse loader fills the star schema in the stack's PostgreSQL, when there is one
        if (warehouse != null) {
            overrides.putIfAbsent("cmm.warehouse.enabled", "true");
            overrides.putIfAbsent("cmm.warehouse.jdbc-url", warehouse.jdbcUrl());
            overrides.putIfAbsent("cmm.warehouse.user", warehouse.user());
            overrides.putIfAbsent("cmm.warehouse.topic-discovery-ms", "3000");
        }
        // everything Hawtio's Camel plugin can show, which production leaves off for its CPU cost (README, Benchmarks)
        overrides.putIfAbsent("camel.main.jmx-management-statistics-level", "Extended");
        overrides.putIfAbsent("camel.main.endpoint-runtime-statistics-enabled", "true");
        overrides.putIfAbsent("camel.main.message-history", "true");
        runtime = register(new EventBrokerRuntime(overrides).start());
        String runtimeHost = overrides.get("cmm.mllp.host");
        services.add(new Service("Kafka", runtime.bootstrapServers(),
                runtime.embeddedBroker() != null ? "embedded broker, data in " + setting("cmm.kafka.embedded.data-dir",
                        "data/kafka") : "external cluster"));
        services.add(new Service("Runtime: HL7 MLLP inbound (EHR)", "mllp://" + runtimeHost + ":"
                + port("cmm.mllp.port", 0), "hl7.<type>.<trigger>"));
        services.add(new Service("Runtime: lab results inbound (LIS)", "mllp://"
                + overrides.get("cmm.lab.results.host") + ":" + port("cmm.lab.results.port", 0), "lab.results.*"));
        services.add(new Service("Runtime: dispensing inbound (pharmacy)", "mllp://"
                + overrides.get("cmm.pharmacy.dispensing.host") + ":" + port("cmm.pharmacy.dispensing.port", 0),
                "pharmacy.dispensing.*"));
        services.add(new Service("Runtime: EHR webhooks (HTTP)", "http://" + overrides.get("camel.server.host") + ":"
                + port("camel.server.port", 0) + "/ehr/{vendor}/{resourceType}/{operation}", "ehr.<vendor>.*"));
        services.add(new Service("Runtime: FHIR change intake (HTTP)", "http://" + overrides.get("camel.server.host") + ":"
                + port("camel.server.port", 0) + "/fhir/changes", "fhir.<type>.<operation>; also follows "
                + fhir.baseUrl() + "/_history"));
        services.add(new Service("Runtime: FHIR Subscription websocket", "ws://"
                + overrides.get("cmm.fhir.subscription.websocket.host") + ":"
                + port("cmm.fhir.subscription.websocket.port", 8086) + "/fhir/subscriptions/websocket",
                "bind <subscription-id>"));
        services.add(new Service("Runtime: management", "http://" + overrides.get("camel.management.host") + ":"
                + port("camel.management.port", 0) + "/observe/health", "health, metrics, Jolokia"));
    }

    /** What runs where, as a text table. */
    public synchronized String table() {
        int name = services.stream().mapToInt(s -> s.name().length()).max().orElse(10);
        int address = services.stream().mapToInt(s -> s.address().length()).max().orElse(10);
        StringBuilder out = new StringBuilder("\nCMM Event Broker local stack (Ctrl+C stops everything)\n");
        String format = "%-" + name + "s  %-" + address + "s  %s%n";
        out.append(String.format(format, "Service", "Address", "Notes"));
        services.forEach(s -> out.append(String.format(format, s.name(), s.address(), s.note())));
        return out.toString();
    }

    public synchronized List<Service> services() {
        return List.copyOf(services);
    }

    /** The warehouse's PostgreSQL, or null where none is installed. */
    public WarehouseDatabase warehouse() {
        return warehouse;
    }

    public FhirServer fhir() {
        return fhir;
    }

    public S3Store s3() {
        return s3;
    }

    public MailServer mail() {
        return mail;
    }

    /** The MQTT broker, or null where mosquitto is not installed. */
    public MqttBroker mqtt() {
        return mqtt;
    }

    /** The stand-ins by name: LIS, Pharmacy, EHR. */
    public Map<String, Hl7StandInPeer> standIns() {
        return Map.copyOf(standIns);
    }

    /** The runtime, or null when started with cmm.stack.runtime=false. */
    public EventBrokerRuntime runtime() {
        return runtime;
    }

    /** Stops everything that started, the last first. */
    @Override
    public synchronized void close() {
        while (!started.isEmpty()) {
            AutoCloseable service = started.pop();
            try {
                service.close();
            } catch (Exception e) {
                LOG.warn("Stopping {} failed: {}", service.getClass().getSimpleName(), e.toString());
            }
        }
    }

    private <T extends AutoCloseable> T register(T service) {
        started.push(service);
        return service;
    }

    private boolean mqttEnabled() {
        return Boolean.parseBoolean(setting("cmm.stack.mqtt.enabled", "true"));
    }

    /** A setting from the map, else the system properties, else the runtime's default, else the given default. */
    private String setting(String key, String defaultValue) {
        String value = settings.get(key);
        if (value == null) {
            value = System.getProperty(key);
        }
        if (value == null) {
            value = runtimeDefaults.getProperty(key);
        }
        return value == null ? defaultValue : value.trim();
    }

    /** A setting given in the map or as a system property (not a default). */
    private Optional<String> explicitSetting(String key) {
        return Optional.ofNullable(settings.getOrDefault(key, System.getProperty(key))).map(String::trim);
    }

    private int port(String key, int defaultValue) {
        String value = setting(key, String.valueOf(defaultValue));
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " is not a port: " + value);
        }
    }

    /** Fails before anything starts when a port is taken, naming the property that moves it. */
    private static void requireFree(String host, Map<String, Integer> ports) {
        List<String> taken = new ArrayList<>();
        ports.forEach((key, port) -> {
            try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getByName(host))) {
                socket.setReuseAddress(true);
            } catch (IOException e) {
                taken.add(host + ":" + port + " (-D" + key + "=...)");
            }
        });
        if (!taken.isEmpty()) {
            throw new IllegalStateException("Ports already in use: " + String.join(", ", taken)
                    + "; stop what uses them or move the stack's services");
        }
    }

    private static void setSystemPropertyIfAbsent(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }

    private static Properties loadRuntimeDefaults() {
        Properties properties = new Properties();
        try (InputStream in = LocalStack.class.getClassLoader().getResourceAsStream("application.properties")) {
            if (in != null) {
                properties.load(in);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return properties;
    }
}
