package org.cmm.eventbroker.deploy;

import java.io.IOException;
import java.io.InputStream;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;

import org.cmm.eventbroker.runtime.FlowGroups;
import org.cmm.eventbroker.runtime.Flows;

/**
 * The Camel K manifests of deploy/camel-k, derived from what the route files declare ({@link Flows}: one Integration
 * per flow, with the same files the runtime loads for {@code cmm.flows=<flow>}; flows declared to run together in
 * routes/flow-groups.yaml ({@link FlowGroups}) share one Integration, named after the group's first flow, with the
 * files the runtime loads for {@code cmm.flows=<its flows>}) and the runtime's configuration
 * defaults, with the cluster's own values from {@code deploy/camel-k/cluster.properties}. No route text is copied: the
 * Integrations name their sources in the ConfigMap {@value #ROUTES_CONFIG_MAP}, which kustomize builds from the files
 * of routes/ themselves (configMapGenerator); data files the routes read (CDS rules, SubscriptionTopics) likewise.
 * CamelKManifestsTest checks that deploy/camel-k is what this produces, and writes it with
 * {@code -Dcmm.deploy.regenerate=true}.
 */
final class CamelKManifests {

    static final Path CAMEL_K = Path.of("deploy", "camel-k");
    static final String PROJECT_JAR = "mvn:org.cmm.eventbroker:cmm-event-broker:0.1.0-SNAPSHOT";
    static final String KAFKA_CONFIG = "cmm-event-broker-kafka";
    static final String ROUTES_CONFIG_MAP = "cmm-event-broker-routes";
    static final String MOUNTED = "/etc/camel/conf.d/_configmaps/";
    /**
     * Issue 12: the Secret whose properties file (key {@value #CREDENTIALS_FILE}) gives every secret property of the
     * Integrations (passwords, tokens, JAAS configurations), mounted by the mount trait as a configuration; its keys are
     * listed, without values, in {@value #CREDENTIALS_TEMPLATE}, which this class writes.
     */
    static final String CREDENTIALS_SECRET = "cmm-event-broker-credentials";
    static final String CREDENTIALS_FILE = "credentials.properties";
    static final String CREDENTIALS_TEMPLATE = CREDENTIALS_SECRET + ".properties.template";
    /** The Secret with the PKCS12 key and trust stores (keystore.p12, truststore.p12), mounted as files at {@value #TLS_MOUNT}. */
    static final String TLS_SECRET = "cmm-event-broker-tls";
    static final String TLS_MOUNT = "/etc/cmm/tls";
    /** A key whose last word names a secret: its value comes from {@value #CREDENTIALS_SECRET}, never the Integration. */
    static final java.util.regex.Pattern SECRET_KEY = java.util.regex.Pattern.compile(
            "(?i)(.*[.-])?(password|secret|token|jaas-config|key-password|client-secret|secret-key|access-key)$");
    /** Keys of cluster.properties every Integration gets, whatever its route files name (read by the project's Java code). */
    private static final List<String> FOR_EVERY_INTEGRATION = List.of("cmm.security.", "camel.component.kafka.");

    /** Components of Camel an endpoint scheme needs (the project's own components come with its jar). */
    private static final Map<String, String> COMPONENTS = Map.ofEntries(
            Map.entry("direct", "camel:direct"),
            Map.entry("platform-http", "camel:platform-http"),
            Map.entry("http", "camel:http"),
            Map.entry("https", "camel:http"),
            Map.entry("smtp", "camel:mail"),
            Map.entry("smtps", "camel:mail"),
            Map.entry("vertx-websocket", "camel:vertx-websocket"),
            Map.entry("fhir", "camel:fhir"),
            Map.entry("timer", "camel:timer"),
            Map.entry("log", "camel:log"));

    private final Path root;
    private final Flows flows;
    private final Properties defaults;
    private final Properties cluster;
    private final Set<String> fromKafkaConfigMap;

    CamelKManifests(Path root) {
        this.root = root;
        this.flows = Flows.read(root.resolve("routes"));
        this.defaults = configurationDefaults(root);
        this.cluster = load(root.resolve(CAMEL_K).resolve("cluster.properties"));
        this.fromKafkaConfigMap = kafkaConfigMapKeys(root.resolve(CAMEL_K).resolve(KAFKA_CONFIG + ".configmap.yaml"));
    }

    Flows flows() {
        return flows;
    }

    /** application.properties and every config/*.properties of the runtime, as the runtime reads them. */
    static Properties configurationDefaults(Path root) {
        Properties p = load(root.resolve("src/main/resources/application.properties"));
        Path config = root.resolve("src/main/resources/config");
        if (Files.isDirectory(config)) {
            try (Stream<Path> files = Files.list(config)) {
                for (Path f : files.filter(f -> f.toString().endsWith(".properties")).sorted().toList()) {
                    p.putAll(load(f));
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return p;
    }

    /** Every generated file of deploy/camel-k, by name, in order. */
    Map<String, String> generate() {
        Map<String, String> out = new LinkedHashMap<>();
        secretKeys.clear();
        Map<String, Path> routeFiles = new TreeMap<>();
        Map<String, Path> dataFiles = new TreeMap<>();
        for (String flow : flows.names()) {
            if (!flows.groups().groupOf(flow).equals(flow)) {
                continue; // runs in the Integration of its group (routes/flow-groups.yaml)
            }
            List<String> group = flows.groups().flowsOf(flow);
            List<Flows.RouteFile> files = flows.filesOf(group, Set.of());
            for (Flows.RouteFile f : files) {
                Path previous = routeFiles.put(f.path().getFileName().toString(), f.path());
                if (previous != null && !previous.equals(f.path())) {
                    throw new IllegalStateException("Two route files are named " + f.path().getFileName() + " (" + previous
                            + ", " + f.path() + "): the ConfigMap " + ROUTES_CONFIG_MAP + " keys them by file name");
                }
            }
            out.put(flow + ".integration.yaml", integration(flow, group, files, dataFiles));
        }
        integrations = out.size();
        out.put("kustomization.yaml", kustomization(out.keySet(), routeFiles, dataFiles));
        out.put(CREDENTIALS_TEMPLATE, credentialsTemplate());
        return out;
    }

    /** Secret keys the Integrations need, with the Integrations that need each. */
    private final Map<String, Set<String>> secretKeys = new TreeMap<>();
    private int integrations;

    static boolean isSecretKey(String key) {
        return SECRET_KEY.matcher(key).matches();
    }

    private String credentialsTemplate() {
        List<String> l = new ArrayList<>();
        l.add("# Template (no values) of the Secret " + CREDENTIALS_SECRET + ": every secret property of the Integrations of");
        l.add("# deploy/camel-k. Copy it to " + CREDENTIALS_FILE + " outside the repository, fill in the values, then:");
        l.add("#   kubectl create secret generic " + CREDENTIALS_SECRET + " --from-file=" + CREDENTIALS_FILE);
        l.add("# Each Integration mounts it (mount.configs: secret:" + CREDENTIALS_SECRET + ") and reads the keys it names as");
        l.add("# {{placeholders}}. An empty value means the feature is not used (e.g. no SMS gateway password).");
        l.add("# Generated by CamelKManifestsTest (-Dcmm.deploy.regenerate=true) from the keys the flows name; do not edit.");
        secretKeys.forEach((key, flows) -> {
            l.add("");
            l.add("# " + (flows.size() == integrations ? "every Integration" : String.join(", ", flows)));
            l.add(key + "=");
        });
        return String.join("\n", l) + "\n";
    }

    /**
     * The Integration named {@code flow} running the flows of its group ({@code group}, the flow first: just the flow
     * when it is in no group of routes/flow-groups.yaml) from their files.
     */
    private String integration(String flow, List<String> group, List<Flows.RouteFile> files, Map<String, Path> dataFiles) {
        Set<String> placeholders = new TreeSet<>();
        for (String key : cluster.stringPropertyNames()) {
            if (FOR_EVERY_INTEGRATION.stream().anyMatch(key::startsWith)) {
                placeholders.add(key);
            }
        }
        if (cluster.getProperty("cmm.security.enabled", "false").trim().equals("true")) {
            // the security settings the project's Java code reads (the jar's config/security.properties is not loaded)
            defaults.stringPropertyNames().stream().filter(k -> k.startsWith("cmm.security.")).forEach(placeholders::add);
        }
        Set<String> kamelets = new TreeSet<>();
        Set<String> schemes = new TreeSet<>();
        boolean http = false;
        List<String[]> mllpPorts = new ArrayList<>();
        for (Flows.RouteFile f : files) {
            placeholders.addAll(f.placeholders(false));
            kamelets.addAll(f.kamelets());
            for (String uri : f.endpointUris()) {
                schemes.add(scheme(uri));
            }
            for (String from : f.fromUris()) {
                http |= from.startsWith("platform-http:");
                if (scheme(from).equals("mllp-listener")) {
                    String port = String.valueOf(f.fromParameters(from).get("port"));
                    mllpPorts.add(new String[] {port.replaceAll("[{}]", ""), f.name()});
                }
            }
        }
        // the configuration the Kamelets and the Kafka component read (camel.kamelet.<name>.*, camel.component.kafka.*),
        // which the Camel K runtime does not get from the jar's properties, and every key their values name
        for (String key : defaults.stringPropertyNames()) {
            if (key.startsWith("camel.component.kafka.") || kamelets.stream().anyMatch(k -> key.startsWith("camel.kamelet." + k + "."))) {
                placeholders.add(key);
            }
        }
        java.util.Deque<String> pending = new java.util.ArrayDeque<>(placeholders);
        while (!pending.isEmpty()) {
            String key = pending.poll();
            String value = cluster.getProperty(key, defaults.getProperty(key, ""));
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\{\\{(\\?)?([A-Za-z0-9_.-]+)(?::[^}]*)?}}").matcher(value);
            while (m.find()) {
                if (m.group(1) == null && placeholders.add(m.group(2))) {
                    pending.add(m.group(2));
                }
            }
        }
        Map<String, String> properties = new TreeMap<>();
        Set<String> configMaps = new TreeSet<>();
        for (String key : placeholders) {
            if (fromKafkaConfigMap.contains(key)) {
                continue;
            }
            if (isSecretKey(key) && !cluster.containsKey(key)) {
                secretKeys.computeIfAbsent(key, k -> new TreeSet<>()).add(flow);
                continue;
            }
            String value = cluster.getProperty(key, defaults.getProperty(key));
            if (value == null) {
                throw new IllegalStateException("{{" + key + "}} of flow " + flow + " has no value in the configuration");
            }
            Path data = dataFile(defaults.getProperty(key));
            if (data != null && !cluster.containsKey(key)) {
                String name = "cmm-" + data.getFileName().toString().replaceFirst("\\.[^.]+$", "");
                dataFiles.put(name, data);
                configMaps.add(name);
                value = "file:" + MOUNTED + name + "/" + data.getFileName();
            }
            properties.put(key, value.trim());
        }
        List<String> dependencies = new ArrayList<>(List.of(PROJECT_JAR, "camel:kamelet", "camel:kafka"));
        for (String scheme : schemes) {
            String dep = COMPONENTS.get(scheme);
            if (dep != null && !dependencies.contains(dep)) {
                dependencies.add(dep);
            }
        }
        if (files.stream().anyMatch(f -> f.text().matches("(?s).*\\n\\s*- bean:.*"))) {
            dependencies.add("camel:bean");
        }

        List<String> l = new ArrayList<>();
        if (group.size() == 1) {
            l.add("# Camel K Integration of the flow " + rel(files.get(0).path()) + ".");
        } else {
            wrap(l, "# Camel K Integration of the flows " + String.join(", ", group) + ", which run in one runtime (routes/"
                    + FlowGroups.FILE + "):", "# ");
            for (FlowGroups.Member m : flows.groups().membersOf(flow)) {
                wrap(l, "#   " + m.flow() + (m.required() ? " needs " : " runs with ") + m.runsWith() + ": " + m.because() + ".",
                        "#     ");
            }
        }
        if (group.size() == 1) {
            l.add("# Generated from what the route files declare (org.cmm.eventbroker.runtime.Flows, as cmm.flows=" + flow + ") and");
        } else {
            wrap(l, "# Generated from what the route files declare (org.cmm.eventbroker.runtime.Flows, as cmm.flows="
                    + String.join(",", group) + ") and", "# ");
        }
        l.add("# deploy/camel-k/cluster.properties by CamelKManifestsTest (-Dcmm.deploy.regenerate=true); do not edit. Sources are");
        l.add("# the route files themselves, in the ConfigMap " + ROUTES_CONFIG_MAP + " that kustomize builds from routes/");
        l.add("# (kustomization.yaml). Needs the project's Kamelets (kubectl apply -f kamelets/), the ConfigMap " + KAFKA_CONFIG);
        l.add("# and " + PROJECT_JAR + " in a Maven repository the operator can reach, and the Secrets " + CREDENTIALS_SECRET);
        l.add("# (" + CREDENTIALS_TEMPLATE + ") and " + TLS_SECRET + " (keystore.p12, truststore.p12): docs/security.md.");
        l.add("apiVersion: camel.apache.org/v1");
        l.add("kind: Integration");
        l.add("metadata:");
        l.add("  name: " + flow);
        l.add("  labels:");
        l.add("    app.kubernetes.io/part-of: cmm-event-broker");
        l.add("spec:");
        l.add("  sources:");
        for (Flows.RouteFile f : files) {
            String name = f.path().getFileName().toString();
            l.add("    - name: " + name);
            l.add("      contentRef: " + ROUTES_CONFIG_MAP);
            l.add("      contentKey: " + name);
        }
        l.add("  dependencies:");
        dependencies.forEach(d -> l.add("    - " + quote(d)));
        l.add("  traits:");
        l.add("    camel:");
        l.add("      # every {{placeholder}} of the sources: the runtime's default unless deploy/camel-k/cluster.properties differs;");
        l.add("      # secret ones come from the mounted Secret " + CREDENTIALS_SECRET + ", never from here");
        l.add("      properties:");
        properties.forEach((k, v) -> l.add("        - " + quote(k + "=" + v)));
        if (!kamelets.isEmpty()) {
            l.add("    kamelets:");
            l.add("      list: " + quote(String.join(",", kamelets)));
        }
        l.add("    mount:");
        l.add("      # cmm.kafka.bootstrap-servers; the secret properties (" + CREDENTIALS_TEMPLATE + ")");
        l.add("      configs:");
        l.add("        - configmap:" + KAFKA_CONFIG);
        l.add("        - secret:" + CREDENTIALS_SECRET);
        configMaps.forEach(c -> l.add("        - configmap:" + c));
        l.add("      # keystore.p12 and truststore.p12 (cmm.security.tls.*, the Kafka client's truststore)");
        l.add("      resources:");
        l.add("        - secret:" + TLS_SECRET + "@" + TLS_MOUNT);
        if (http) {
            l.add("    service:");
            l.add("      # the platform-http endpoints on the runtime's HTTP port, as a ClusterIP Service");
            l.add("      enabled: true");
        }
        for (String[] mllp : mllpPorts) {
            String port = cluster.getProperty(mllp[0], defaults.getProperty(mllp[0]));
            if (port == null || !port.trim().matches("\\d+")) {
                throw new IllegalStateException("The MLLP listener of " + flow + " listens on " + mllp[0] + ", which has no port value");
            }
            port = port.trim();
            l.add("---");
            l.add("# MLLP is plain TCP, which Camel K's service trait does not expose: this Service publishes " + mllp[0] + ".");
            l.add("apiVersion: v1");
            l.add("kind: Service");
            l.add("metadata:");
            l.add("  name: " + mllp[1] + "-mllp");
            l.add("  labels:");
            l.add("    app.kubernetes.io/part-of: cmm-event-broker");
            l.add("spec:");
            l.add("  selector:");
            l.add("    camel.apache.org/integration: " + flow);
            l.add("  ports:");
            l.add("    - name: mllp");
            l.add("      protocol: TCP");
            l.add("      port: " + port);
            l.add("      targetPort: " + port);
        }
        return String.join("\n", l) + "\n";
    }

    private String kustomization(Set<String> generated, Map<String, Path> routeFiles, Map<String, Path> dataFiles) {
        List<String> l = new ArrayList<>();
        l.add("# Everything of deploy/camel-k, after the Kamelets (kubectl apply -f kamelets/). The route files are not copied: the");
        l.add("# ConfigMap " + ROUTES_CONFIG_MAP + " is built from routes/ (files outside this folder, hence the load restrictor):");
        l.add("#   kubectl kustomize --load-restrictor LoadRestrictionsNone deploy/camel-k | kubectl apply -f -");
        l.add("# Generated by CamelKManifestsTest (-Dcmm.deploy.regenerate=true); do not edit.");
        l.add("apiVersion: kustomize.config.k8s.io/v1beta1");
        l.add("kind: Kustomization");
        l.add("resources:");
        l.add("  - " + KAFKA_CONFIG + ".configmap.yaml");
        generated.stream().filter(n -> n.endsWith(".integration.yaml")).sorted().forEach(n -> l.add("  - " + n));
        l.add("generatorOptions:");
        l.add("  # the Integrations name the ConfigMaps (contentRef, mount): no hash suffix");
        l.add("  disableNameSuffixHash: true");
        l.add("  labels:");
        l.add("    app.kubernetes.io/part-of: cmm-event-broker");
        l.add("configMapGenerator:");
        l.add("  - name: " + ROUTES_CONFIG_MAP);
        l.add("    files:");
        routeFiles.forEach((name, path) -> l.add("      - " + name + "=../../" + rel(path)));
        dataFiles.forEach((name, path) -> {
            l.add("  - name: " + name);
            l.add("    files:");
            l.add("      - " + path.getFileName() + "=../../" + rel(path));
        });
        return String.join("\n", l) + "\n";
    }

    /** A file under routes/ that is not a route file (CDS rules, SubscriptionTopics) named by a default value, or null. */
    private Path dataFile(String value) {
        if (value == null || value.isBlank()) {
            return null;
        }
        String path = value.trim().replaceFirst("^file:", "");
        if (!path.startsWith("routes/") || path.endsWith(Flows.SUFFIX)) {
            return null;
        }
        Path file = root.resolve(path);
        return Files.isRegularFile(file) ? Path.of(path) : null;
    }

    /** Adds {@code text} as comment lines of at most 120 characters, the next ones starting with {@code indent}. */
    private static void wrap(List<String> lines, String text, String indent) {
        StringBuilder line = new StringBuilder();
        for (String word : text.split(" ")) {
            if (line.length() > 0 && line.length() + 1 + word.length() > 120) {
                lines.add(line.toString());
                line = new StringBuilder(indent);
            } else if (line.length() > 0 && !line.toString().equals(indent)) {
                line.append(' ');
            }
            line.append(word);
        }
        lines.add(line.toString());
    }

    private String rel(Path path) {
        Path p = path.isAbsolute() ? root.toAbsolutePath().relativize(path) : path;
        return p.toString().replace('\\', '/');
    }

    private static String scheme(String uri) {
        int colon = uri.indexOf(':');
        String scheme = colon < 0 ? uri : uri.substring(0, colon);
        return scheme.startsWith("{{") ? "http" : scheme;
    }

    static String quote(String text) {
        return '"' + text.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
    }

    static Properties load(Path file) {
        Properties p = new Properties();
        if (Files.isRegularFile(file)) {
            try (InputStream in = Files.newInputStream(file)) {
                p.load(in);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return p;
    }

    private static Set<String> kafkaConfigMapKeys(Path file) {
        Set<String> keys = new TreeSet<>();
        try {
            boolean inData = false;
            StringBuilder content = new StringBuilder();
            for (String line : Files.readAllLines(file)) {
                if (line.startsWith("data:")) {
                    inData = true;
                } else if (inData && line.startsWith("    ")) {
                    content.append(line.trim()).append('\n');
                }
            }
            Properties p = new Properties();
            p.load(new StringReader(content.toString()));
            keys.addAll(p.stringPropertyNames());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return keys;
    }
}
