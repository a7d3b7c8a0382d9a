package org.cmm.eventbroker.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import org.cmm.eventbroker.runtime.FlowGroups;
import org.cmm.eventbroker.runtime.Flows;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * deploy/camel-k/: one Integration per flow, or per group of flows that run together (routes/flow-groups.yaml), each
 * complete and portable, and nothing but what the route files declare; a flow whose Integration lacks a flow it is
 * declared to run with is reported.
 * The manifests are generated ({@link CamelKManifests}) from the same wiring map the runtime uses for {@code cmm.flows}
 * ({@link org.cmm.eventbroker.runtime.Flows}), so there is no table of files to keep in step; the sources are the route
 * files themselves (a ConfigMap kustomize builds from routes/), not copies.
 *
 * <p>Placeholders: every {{placeholder}} of an Integration's sources must be set by the Integration itself (camel trait
 * properties, or a ConfigMap of deploy/camel-k it mounts). The defaults in the project jar's application.properties are
 * not relied on: that file is Camel Main's configuration (routes from file:routes/, management server) and is not
 * loaded by the Camel K runtime. Every key set must exist in the runtime's configuration, so a renamed key is noticed.
 *
 * <p>Beans: every bean an Integration's routes name ({@code ref}, {@code idempotentRepository}) is declared in one of
 * its sources, with a type on the classpath; nothing only the Camel Main launcher would provide.
 *
 * <p>The Integrations are valid against the real Camel K CRD (../shared/schemas; skipped when absent).
 */
class CamelKManifestsTest {

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final Path CAMEL_K = Path.of("deploy", "camel-k");
    private static final String PROJECT_JAR = "mvn:org.cmm.eventbroker:cmm-event-broker:0.1.0-SNAPSHOT";
    private static final java.util.Properties CLUSTER = CamelKManifests.load(CAMEL_K.resolve("cluster.properties"));
    /** A property key that names a password, secret, token, key password, JAAS configuration, key or trust store. */
    static final Pattern NAMES_A_SECRET = Pattern.compile("(?i).*(password|secret|token|jaas|keystore|truststore).*");
    private static final Pattern PLACEHOLDER = Pattern.compile("\\{\\{(\\?)?([A-Za-z0-9_.-]+)(?::[^}]*)?}}");
    private static final Pattern KAMELET = Pattern.compile("kamelet:([a-z0-9-]+)");
    private static final Pattern PROJECT_COMPONENT = Pattern.compile("\\b(mllp-listener|mllp-sender|kafka-delivery)\\b|org\\.cmm\\.eventbroker\\.");

    private static List<Path> routeFiles() throws IOException {
        try (Stream<Path> paths = Files.walk(Path.of("routes"))) {
            return paths.filter(p -> p.toString().endsWith(".camel.yaml")).sorted().toList();
        }
    }

    private static List<Path> manifests() throws IOException {
        try (Stream<Path> paths = Files.list(CAMEL_K)) {
            return paths.filter(p -> p.toString().endsWith(".integration.yaml")).sorted().toList();
        }
    }

    private static List<JsonNode> documents(Path file) throws IOException {
        List<JsonNode> docs = new ArrayList<>();
        try (var it = YAML.readerFor(JsonNode.class).readValues(file.toFile())) {
            while (it.hasNext()) {
                JsonNode doc = (JsonNode) it.next();
                if (doc != null && !doc.isNull() && !doc.isMissingNode()) {
                    docs.add(doc);
                }
            }
        }
        return docs;
    }

    private static JsonNode integration(Path file) throws IOException {
        List<JsonNode> integrations = documents(file).stream()
                .filter(d -> d.path("kind").asText().equals("Integration") || d.path("kind").asText().equals("Pipe")).toList();
        assertEquals(1, integrations.size(), file + " holds one Integration (or Pipe)");
        return integrations.get(0);
    }

    private static Properties applicationProperties() {
        return CamelKManifests.configurationDefaults(Path.of(""));
    }

    /** The files kustomize puts in each generated ConfigMap: ConfigMap name -> key -> file. */
    static Map<String, Map<String, Path>> generatedConfigMaps() throws IOException {
        Map<String, Map<String, Path>> maps = new HashMap<>();
        for (JsonNode generator : YAML.readTree(CAMEL_K.resolve("kustomization.yaml").toFile()).path("configMapGenerator")) {
            Map<String, Path> files = new HashMap<>();
            for (JsonNode file : generator.path("files")) {
                String[] keyAndPath = file.asText().split("=", 2);
                files.put(keyAndPath[0], CAMEL_K.resolve(keyAndPath[1]).normalize());
            }
            maps.put(generator.path("name").asText(), files);
        }
        return maps;
    }

    /** The text of a source: inline content, or the file of the generated ConfigMap it names. */
    static String content(JsonNode source, Map<String, Map<String, Path>> generated) throws IOException {
        if (source.has("content")) {
            return source.path("content").asText();
        }
        Map<String, Path> files = generated.get(source.path("contentRef").asText());
        Path file = files == null ? null : files.get(source.path("contentKey").asText());
        if (file == null) {
            throw new IOException("source " + source.path("name").asText() + ": no ConfigMap " + source.path("contentRef").asText()
                    + " key " + source.path("contentKey").asText() + " in deploy/camel-k/kustomization.yaml");
        }
        return Files.readString(file);
    }

    /** Routes in the file that start from something else than direct: (the file is then a flow of its own). */
    private static boolean isFlow(JsonNode routeFile) {
        for (JsonNode item : routeFile) {
            JsonNode route = item.get("route");
            if (route != null && !route.path("from").path("uri").asText().startsWith("direct:")) {
                return true;
            }
        }
        return false;
    }

    private static boolean hasRoutes(JsonNode routeFile) {
        for (JsonNode item : routeFile) {
            if (item.has("route")) {
                return true;
            }
        }
        return false;
    }

    /** What is wrong with an Integration, given its own document and the properties its mounted ConfigMaps give. */
    static List<String> problems(JsonNode integration, Properties defaults, Set<String> kamelets,
            Map<String, Properties> configMaps) throws IOException {
        Map<String, Map<String, Path>> generated = generatedConfigMaps();
        List<String> problems = new ArrayList<>();
        if (!integration.path("apiVersion").asText().equals("camel.apache.org/v1")) {
            problems.add("apiVersion is not camel.apache.org/v1");
        }
        JsonNode spec = integration.path("spec");
        StringBuilder all = new StringBuilder();
        Map<String, String> beans = new HashMap<>();
        Set<String> routeConfigurations = new TreeSet<>();
        Set<String> directConsumers = new TreeSet<>();
        List<String[]> references = new ArrayList<>();
        for (JsonNode source : spec.path("sources")) {
            String content;
            try {
                content = content(source, generated);
            } catch (IOException e) {
                problems.add(e.getMessage());
                continue;
            }
            all.append(content).append('\n');
            JsonNode parsed = YAML.readTree(content);
            for (JsonNode item : parsed) {
                for (JsonNode bean : item.path("beans")) {
                    beans.put(bean.path("name").asText(), bean.path("type").asText());
                }
                if (item.has("routeConfiguration")) {
                    routeConfigurations.add(item.path("routeConfiguration").path("id").asText());
                }
                if (item.has("route")) {
                    String from = item.path("route").path("from").path("uri").asText();
                    if (from.startsWith("direct:")) {
                        directConsumers.add(from);
                    }
                }
            }
            collectReferences(parsed, null, references);
        }
        for (Map.Entry<String, String> bean : beans.entrySet()) {
            try {
                Class.forName(bean.getValue());
            } catch (ClassNotFoundException e) {
                problems.add("bean " + bean.getKey() + ": type " + bean.getValue() + " is not on the classpath");
            }
        }
        for (String[] ref : references) {
            switch (ref[0]) {
                case "routeConfigurationId" -> {
                    if (!routeConfigurations.contains(ref[1])) {
                        problems.add("routeConfiguration " + ref[1] + " is not in the sources");
                    }
                }
                case "direct" -> {
                    if (!directConsumers.contains(ref[1])) {
                        problems.add(ref[1] + " has no route in the sources");
                    }
                }
                default -> {
                    if (!beans.containsKey(ref[1])) {
                        problems.add("bean " + ref[1] + " (" + ref[0] + ") is not declared in the sources");
                    }
                }
            }
        }

        Set<String> set = new TreeSet<>();
        for (JsonNode property : spec.path("traits").path("camel").path("properties")) {
            String key = property.asText().split("=", 2)[0];
            set.add(key);
            if (!defaults.containsKey(key) && !CLUSTER.containsKey(key)) {
                problems.add("property " + key + " is not a key of the runtime's configuration or of cluster.properties");
            }
        }
        for (JsonNode config : spec.path("traits").path("mount").path("configs")) {
            String name = config.asText().replaceFirst("^(configmap|secret):", "");
            if (config.asText().equals("secret:" + CamelKManifests.CREDENTIALS_SECRET)) {
                // the secret properties: the keys of the Secret's template
                set.addAll(CamelKManifests.load(CAMEL_K.resolve(CamelKManifests.CREDENTIALS_TEMPLATE)).stringPropertyNames());
            } else if (config.asText().startsWith("secret:")) {
                problems.add("mounted Secret " + name + " is not " + CamelKManifests.CREDENTIALS_SECRET);
            }
            if (config.asText().startsWith("configmap:")) {
                Properties mounted = configMaps.get(name);
                if (mounted == null && !generated.containsKey(name)) {
                    problems.add("mounted ConfigMap " + name + " is not in deploy/camel-k");
                } else if (mounted == null) {
                    // a data file (CDS rules, SubscriptionTopics) mounted as a file: its property names the file
                    continue;
                } else {
                    set.addAll(mounted.stringPropertyNames());
                }
            }
        }
        // placeholders of the sources and of the Integration's own property values (camel.kamelet.<name>.<instance>.*)
        StringBuilder placeholders = new StringBuilder(all);
        for (JsonNode property : spec.path("traits").path("camel").path("properties")) {
            placeholders.append('\n').append(property.asText());
        }
        Matcher m = PLACEHOLDER.matcher(placeholders);
        while (m.find()) {
            if (m.group(1) == null && !set.contains(m.group(2))) {
                problems.add("{{" + m.group(2) + "}} is not set by the Integration");
            }
        }

        Set<String> used = new TreeSet<>();
        Matcher k = KAMELET.matcher(all);
        while (k.find()) {
            used.add(k.group(1));
            if (!kamelets.contains(k.group(1))) {
                problems.add("Kamelet " + k.group(1) + " is not in kamelets/");
            }
        }
        Set<String> listed = new TreeSet<>(List.of(spec.path("traits").path("kamelets").path("list").asText().split(",")));
        listed.remove("");
        if (!listed.equals(used)) {
            problems.add("kamelets trait lists " + listed + ", the sources use " + used);
        }

        Set<String> dependencies = new TreeSet<>();
        spec.path("dependencies").forEach(d -> dependencies.add(d.asText()));
        if (PROJECT_COMPONENT.matcher(all).find() && !dependencies.contains(PROJECT_JAR)) {
            problems.add("uses the project's components or beans but does not depend on " + PROJECT_JAR);
        }
        return problems;
    }

    private static void collectReferences(JsonNode node, String key, List<String[]> out) {
        if (node.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext();) {
                Map.Entry<String, JsonNode> field = it.next();
                String name = field.getKey();
                JsonNode value = field.getValue();
                if (value.isTextual()) {
                    switch (name) {
                        case "ref", "idempotentRepository" -> out.add(new String[] {name, value.asText()});
                        case "routeConfigurationId" -> out.add(new String[] {name, value.asText()});
                        case "uri" -> {
                            if (value.asText().startsWith("direct:") && !"from".equals(key)) {
                                out.add(new String[] {"direct", value.asText()});
                            }
                        }
                        default -> {
                            // not a reference
                        }
                    }
                } else {
                    collectReferences(value, name, out);
                }
            }
        } else if (node.isArray()) {
            for (JsonNode item : node) {
                collectReferences(item, key, out);
            }
        }
    }

    private static Map<String, Properties> configMaps() throws IOException {
        Map<String, Properties> result = new HashMap<>();
        try (Stream<Path> paths = Files.list(CAMEL_K)) {
            for (Path file : paths.filter(p -> p.toString().endsWith(".configmap.yaml")).toList()) {
                for (JsonNode doc : documents(file)) {
                    Properties p = new Properties();
                    for (JsonNode data : doc.path("data")) {
                        p.load(new StringReader(data.asText()));
                    }
                    result.put(doc.path("metadata").path("name").asText(), p);
                }
            }
        }
        return result;
    }

    private static Set<String> kameletNames() throws IOException {
        Set<String> names = new TreeSet<>();
        try (Stream<Path> paths = Files.list(Path.of("kamelets"))) {
            paths.filter(p -> p.toString().endsWith(".kamelet.yaml"))
                    .forEach(p -> names.add(p.getFileName().toString().replace(".kamelet.yaml", "")));
        }
        return names;
    }

    // ---------------------------------------------------------------- tests

    /**
     * What is wrong with the Integrations (by name) as deployments of the flows, per routes/flow-groups.yaml: each flow
     * runs in exactly one Integration, the one named after its group (the flow itself when it is in none), whose first
     * source is that group's first flow; and every flow runs beside each flow it is declared to run with.
     */
    static List<String> groupProblems(Map<String, JsonNode> integrations, Flows flows) {
        FlowGroups groups = flows.groups();
        Map<String, Set<String>> sources = new TreeMap<>();
        integrations.forEach((name, integration) -> {
            Set<String> names = new TreeSet<>();
            integration.path("spec").path("sources").forEach(s -> names.add(s.path("name").asText()));
            sources.put(name, names);
        });
        List<String> problems = new ArrayList<>();
        for (String flow : flows.names()) {
            String file = flow + Flows.SUFFIX;
            List<String> holding = sources.entrySet().stream().filter(e -> e.getValue().contains(file)).map(Map.Entry::getKey).toList();
            String group = groups.groupOf(flow);
            if (holding.size() != 1) {
                problems.add("flow " + flow + " runs in " + holding.size() + " Integrations " + holding + ", not once");
            } else if (!holding.get(0).equals(group)) {
                problems.add("flow " + flow + " runs in the Integration " + holding.get(0) + ", not in " + group + " (its group)");
            } else if (!integrations.get(group).path("spec").path("sources").path(0).path("name").asText().equals(group + Flows.SUFFIX)) {
                problems.add("the first source of the Integration " + group + " is not its flow " + group + Flows.SUFFIX);
            }
        }
        for (FlowGroups.Member m : groups.members()) {
            for (Map.Entry<String, Set<String>> e : sources.entrySet()) {
                if (e.getValue().contains(m.flow() + Flows.SUFFIX) && !e.getValue().contains(m.runsWith() + Flows.SUFFIX)) {
                    problems.add("the Integration " + e.getKey() + " runs " + m.flow() + " without " + m.runsWith() + ", which it "
                            + (m.required() ? "needs" : "runs with") + " (routes/" + FlowGroups.FILE + ")");
                }
            }
        }
        return problems;
    }

    private static Map<String, JsonNode> integrationsByName() throws IOException {
        Map<String, JsonNode> byName = new TreeMap<>();
        for (Path manifest : manifests()) {
            JsonNode integration = integration(manifest);
            byName.put(integration.path("metadata").path("name").asText(), integration);
        }
        return byName;
    }

    @Test
    void everyFlowHasAnIntegrationAndEveryRouteFileIsDeployed() throws IOException {
        Set<String> deployed = new TreeSet<>();
        for (Path manifest : manifests()) {
            integration(manifest).path("spec").path("sources").forEach(s -> deployed.add(s.path("name").asText()));
        }
        for (Path file : routeFiles()) {
            JsonNode routes = YAML.readTree(file.toFile());
            if (hasRoutes(routes) || isFlow(routes)) {
                assertTrue(deployed.contains(file.getFileName().toString()), file + " is a source of some Integration");
            }
        }
        Flows flows = Flows.read(Path.of("routes"));
        assertEquals(List.of(), groupProblems(integrationsByName(), flows));
        // the two groups of issues 15 and 16 are declared (a declaration dropped by mistake would split them again)
        assertEquals("event-api", flows.groups().groupOf("realtime-streams"));
        assertEquals(flows.groups().groupOf("analytics-queries"), flows.groups().groupOf("analytics-dashboard"));
    }

    @Test
    void anIntegrationWithoutAFlowItNeedsIsReported() throws IOException {
        Flows flows = Flows.read(Path.of("routes"));
        Map<String, JsonNode> original = integrationsByName();
        assertEquals(List.of(), groupProblems(original, flows));

        // the event API taken out of the Integration the real-time streams run in
        Map<String, JsonNode> withoutEventApi = new TreeMap<>(original);
        ObjectNode group = original.get("event-api").deepCopy();
        ArrayNode sources = (ArrayNode) group.path("spec").path("sources");
        for (int i = sources.size() - 1; i >= 0; i--) {
            if (sources.get(i).path("name").asText().equals("event-api" + Flows.SUFFIX)) {
                sources.remove(i);
            }
        }
        withoutEventApi.put("event-api", group);
        List<String> problems = groupProblems(withoutEventApi, flows);
        assertTrue(problems.contains("the Integration event-api runs realtime-streams without event-api, which it needs (routes/"
                + FlowGroups.FILE + ")"), problems.toString());

        // one Integration per flow, as before the groups: realtime-streams and analytics-dashboard on their own
        Map<String, JsonNode> perFlow = new TreeMap<>(original);
        for (String flow : List.of("realtime-streams", "analytics-dashboard")) {
            String groupName = flows.groups().groupOf(flow);
            ObjectNode without = perFlow.get(groupName).deepCopy();
            ArrayNode groupSources = (ArrayNode) without.path("spec").path("sources");
            for (int i = groupSources.size() - 1; i >= 0; i--) {
                if (groupSources.get(i).path("name").asText().equals(flow + Flows.SUFFIX)) {
                    groupSources.remove(i);
                }
            }
            perFlow.put(groupName, without);
            ObjectNode alone = YAML.createObjectNode();
            alone.putObject("metadata").put("name", flow);
            alone.putObject("spec").putArray("sources").addObject().put("name", flow + Flows.SUFFIX);
            perFlow.put(flow, alone);
        }
        problems = groupProblems(perFlow, flows);
        assertTrue(problems.contains("the Integration realtime-streams runs realtime-streams without event-api, which it needs (routes/"
                + FlowGroups.FILE + ")"), problems.toString());
        assertTrue(problems.contains("the Integration analytics-dashboard runs analytics-dashboard without analytics-queries, which it "
                + "runs with (routes/" + FlowGroups.FILE + ")"), problems.toString());
        assertTrue(problems.contains("flow analytics-dashboard runs in the Integration analytics-dashboard, not in analytics-queries "
                + "(its group)"), problems.toString());

        // a flow in two Integrations (the same Kafka Streams application started twice)
        Map<String, JsonNode> twice = new TreeMap<>(original);
        ObjectNode dashboard = YAML.createObjectNode();
        dashboard.putObject("metadata").put("name", "analytics-dashboard");
        ArrayNode both = dashboard.putObject("spec").putArray("sources");
        both.addObject().put("name", "analytics-dashboard" + Flows.SUFFIX);
        both.addObject().put("name", "analytics-queries" + Flows.SUFFIX);
        twice.put("analytics-dashboard", dashboard);
        problems = groupProblems(twice, flows);
        assertTrue(problems.stream().anyMatch(p -> p.startsWith("flow analytics-queries runs in 2 Integrations")), problems.toString());
    }

    @TestFactory
    Stream<DynamicTest> everyIntegrationIsCompleteAndPortable() throws IOException {
        Properties defaults = applicationProperties();
        Set<String> kamelets = kameletNames();
        Map<String, Properties> configMaps = configMaps();
        Map<String, Path> routeFilesByName = new HashMap<>();
        for (Path f : routeFiles()) {
            routeFilesByName.put(f.getFileName().toString(), f);
        }
        List<Path> manifests = manifests();
        assertFalse(manifests.isEmpty());
        return manifests.stream().map(file -> DynamicTest.dynamicTest(file.toString(), () -> {
            JsonNode integration = integration(file);
            assertEquals(file.getFileName().toString(), integration.path("metadata").path("name").asText() + ".integration.yaml");
            for (JsonNode doc : documents(file)) {
                assertTrue(Set.of("Integration", "Pipe", "Service").contains(doc.path("kind").asText()), file + ": " + doc.path("kind"));
            }
            Map<String, Map<String, Path>> generated = generatedConfigMaps();
            for (JsonNode source : integration.path("spec").path("sources")) {
                Path original = routeFilesByName.get(source.path("name").asText());
                assertTrue(original != null, source.path("name").asText() + " is a file of routes/");
                assertFalse(source.has("content"), "no copy of " + original + " in " + file);
                assertEquals(CamelKManifests.ROUTES_CONFIG_MAP, source.path("contentRef").asText());
                assertEquals(original.toAbsolutePath().normalize(),
                        generated.get(CamelKManifests.ROUTES_CONFIG_MAP).get(source.path("contentKey").asText()).toAbsolutePath(),
                        source.path("name").asText() + " is the route file itself");
            }
            assertEquals(List.of(), problems(integration, defaults, kamelets, configMaps), file.toString());
        }));
    }

    @Test
    void anIntegrationMissingASharedSourceOrPropertyIsReported() throws IOException {
        Properties defaults = applicationProperties();
        Set<String> kamelets = kameletNames();
        Map<String, Properties> configMaps = configMaps();
        JsonNode original = integration(CAMEL_K.resolve("hl7-mllp-inbound.integration.yaml"));

        // the file declaring the flow's error handling, wherever it lives
        Flows flows = Flows.read(Path.of("routes"));
        String errorHandlingId = flows.flow("hl7-mllp-inbound").routeConfigurationsUsed().iterator().next();
        String errorHandlingFile = flows.filesOf("hl7-mllp-inbound").stream()
                .filter(f -> f.routeConfigurations().contains(errorHandlingId)).findFirst().orElseThrow()
                .path().getFileName().toString();
        ObjectNode withoutErrorHandling = original.deepCopy();
        ArrayNode sources = (ArrayNode) withoutErrorHandling.path("spec").path("sources");
        for (int i = sources.size() - 1; i >= 0; i--) {
            if (sources.get(i).path("name").asText().equals(errorHandlingFile)) {
                sources.remove(i);
            }
        }
        List<String> problems = problems(withoutErrorHandling, defaults, kamelets, configMaps);
        assertTrue(problems.contains("routeConfiguration " + errorHandlingId + " is not in the sources"), problems.toString());

        ObjectNode withoutProperty = original.deepCopy();
        ArrayNode properties = (ArrayNode) withoutProperty.path("spec").path("traits").path("camel").path("properties");
        // the dead-letter topic the flow's dead-letter Kamelet instance is configured with
        for (int i = properties.size() - 1; i >= 0; i--) {
            if (properties.get(i).asText().startsWith("cmm.hl7.dead-letter-topic=")) {
                properties.remove(i);
            }
        }
        assertTrue(problems(withoutProperty, defaults, kamelets, configMaps).stream().anyMatch(p -> p.endsWith("is not set by the Integration")));

        ObjectNode withoutKafkaConfig = original.deepCopy();
        ((ObjectNode) withoutKafkaConfig.path("spec").path("traits")).remove("mount");
        assertTrue(problems(withoutKafkaConfig, defaults, kamelets, configMaps).contains("{{cmm.kafka.bootstrap-servers}} is not set by the Integration"));

        ObjectNode launcherBean = original.deepCopy();
        ObjectNode first = (ObjectNode) ((ArrayNode) launcherBean.path("spec").path("sources")).get(0);
        first.put("content", content(first, generatedConfigMaps()).replace("ref: hl7MessageInspector", "ref: onlyTheLauncherHasThis"));
        assertTrue(problems(launcherBean, defaults, kamelets, configMaps).contains("bean onlyTheLauncherHasThis (ref) is not declared in the sources"));

        ObjectNode noJar = original.deepCopy();
        ((ObjectNode) noJar.path("spec")).set("dependencies", YAML.createArrayNode().add("camel:kafka"));
        assertTrue(problems(noJar, defaults, kamelets, configMaps).stream().anyMatch(p -> p.contains(PROJECT_JAR)));
    }

    /**
     * Issue 12: properties of an Integration whose key names a secret but whose value is a literal. Allowed: a value made
     * only of {{placeholders}} (resolved from the mounted Secret), a path into the mounted TLS Secret, and keys that
     * name a header or a format rather than a secret (token-header, ssl-truststore-type).
     */
    static List<String> secretLiterals(JsonNode integration) {
        List<String> problems = new ArrayList<>();
        Set<String> tlsMounts = new TreeSet<>();
        for (JsonNode resource : integration.path("spec").path("traits").path("mount").path("resources")) {
            String r = resource.asText();
            if (r.startsWith("secret:") && r.contains("@")) {
                tlsMounts.add(r.substring(r.indexOf('@') + 1) + "/");
            }
        }
        for (JsonNode property : integration.path("spec").path("traits").path("camel").path("properties")) {
            String[] kv = property.asText().split("=", 2);
            String key = kv[0];
            String value = kv.length > 1 ? kv[1] : "";
            if (!NAMES_A_SECRET.matcher(key).matches() || key.endsWith("-header") || key.endsWith("-type")) {
                continue;
            }
            boolean placeholders = !value.isEmpty() && value.replaceAll("\\{\\{[A-Za-z0-9_.-]+}}", "").isEmpty();
            boolean mountedFile = tlsMounts.stream().anyMatch(value::startsWith) && !value.contains("..");
            if (!placeholders && !mountedFile) {
                problems.add("property " + key + " holds a literal value; it must come from a Secret");
            }
        }
        return problems;
    }

    @Test
    void noIntegrationHoldsASecretAsALiteralValue() throws IOException {
        Set<String> template = CamelKManifests.load(CAMEL_K.resolve(CamelKManifests.CREDENTIALS_TEMPLATE)).stringPropertyNames();
        for (String key : template) {
            assertTrue(CamelKManifests.isSecretKey(key), key + " in the template names a secret");
            assertEquals("", CamelKManifests.load(CAMEL_K.resolve(CamelKManifests.CREDENTIALS_TEMPLATE)).getProperty(key),
                    key + " has no value in the template");
        }
        assertTrue(template.containsAll(List.of("cmm.kafka.sasl-jaas-config", "cmm.security.tls.keystore-password",
                "cmm.security.tls.truststore-password")), template.toString());
        for (Path file : manifests()) {
            JsonNode integration = integration(file);
            assertEquals(List.of(), secretLiterals(integration), file.toString());
            List<String> configs = new ArrayList<>();
            integration.path("spec").path("traits").path("mount").path("configs").forEach(c -> configs.add(c.asText()));
            assertTrue(configs.contains("secret:" + CamelKManifests.CREDENTIALS_SECRET), file + " mounts the credentials");
            List<String> properties = new ArrayList<>();
            integration.path("spec").path("traits").path("camel").path("properties").forEach(p -> properties.add(p.asText()));
            assertTrue(properties.contains("cmm.security.enabled=true"), file + " runs in the production posture");
            assertTrue(properties.contains("camel.component.kafka.security-protocol=SASL_SSL"), file + " speaks SASL_SSL to Kafka");
        }
        assertEquals("true", CLUSTER.getProperty("cmm.security.enabled", "").trim(), "cluster.properties: cmm.security.enabled");
        for (String key : CLUSTER.stringPropertyNames()) {
            if (CamelKManifests.isSecretKey(key)) {
                assertTrue(CLUSTER.getProperty(key).trim().matches("(\\{\\{[A-Za-z0-9_.-]+}})+"),
                        "cluster.properties: " + key + " is a {{placeholder}} of the Secret, not a value");
            }
        }
    }

    @Test
    void aSecretAsALiteralValueIsReported() throws IOException {
        JsonNode original = integration(CAMEL_K.resolve("hl7-mllp-inbound.integration.yaml"));
        assertEquals(List.of(), secretLiterals(original));
        for (String literal : List.of("camel.component.kafka.sasl-jaas-config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"u\" password=\"p\";",
                "cmm.security.tls.keystore-password=changeit", "cmm.security.tls.truststore=/tmp/truststore.p12",
                "cmm.fhir.subscription.sms.token=abc", "cmm.security.tls.keystore-password=",
                "cmm.security.tls.keystore=/etc/cmm/tls/../../tmp/k.p12")) {
            ObjectNode broken = original.deepCopy();
            ((ArrayNode) broken.path("spec").path("traits").path("camel").path("properties")).add(literal);
            assertEquals(1, secretLiterals(broken).size(), literal + " is reported");
        }
        ObjectNode placeholder = original.deepCopy();
        ((ArrayNode) placeholder.path("spec").path("traits").path("camel").path("properties")).add("x.password={{x.password}}");
        assertEquals(List.of(), secretLiterals(placeholder));
    }

    @Test
    void theManifestsAreWhatTheRouteFilesDeclare() throws IOException {
        Map<String, String> expected = new CamelKManifests(Path.of("")).generate();
        if (Boolean.getBoolean("cmm.deploy.regenerate")) {
            for (Path stale : manifests()) {
                if (!expected.containsKey(stale.getFileName().toString())) {
                    Files.delete(stale);
                }
            }
            for (Map.Entry<String, String> file : expected.entrySet()) {
                Files.writeString(CAMEL_K.resolve(file.getKey()), file.getValue());
            }
        }
        for (Map.Entry<String, String> file : expected.entrySet()) {
            Path onDisk = CAMEL_K.resolve(file.getKey());
            assertTrue(Files.isRegularFile(onDisk), onDisk + " is missing: regenerate (-Dcmm.deploy.regenerate=true, see "
                    + "deploy/camel-k/cluster.properties)");
            assertEquals(file.getValue(), Files.readString(onDisk), onDisk + " is not what the route files declare: regenerate "
                    + "(-Dcmm.deploy.regenerate=true, see deploy/camel-k/cluster.properties)");
        }
        for (Path manifest : manifests()) {
            assertTrue(expected.containsKey(manifest.getFileName().toString()), manifest + " belongs to no flow any more");
        }
    }

    @TestFactory
    Stream<DynamicTest> everyIntegrationIsAValidCamelKResource() throws IOException {
        Optional<CustomResourceDefinitions> crd = CustomResourceDefinitions.v1("camel.apache.org_integrations.yaml");
        Assumptions.assumeTrue(crd.isPresent(), "the Camel K CRDs are not in " + CustomResourceDefinitions.FOLDER);
        return manifests().stream().map(file -> DynamicTest.dynamicTest(file.toString(),
                () -> assertEquals(List.of(), crd.get().problems(integration(file)), file + " against the Integration CRD")));
    }

    @Test
    void theCamelKSchemaCheckReportsWhatTheClusterWouldRefuseOrDrop() throws IOException {
        Optional<CustomResourceDefinitions> crd = CustomResourceDefinitions.v1("camel.apache.org_integrations.yaml");
        Assumptions.assumeTrue(crd.isPresent(), "the Camel K CRDs are not in " + CustomResourceDefinitions.FOLDER);
        JsonNode original = integration(CAMEL_K.resolve("hl7-mllp-inbound.integration.yaml"));
        assertEquals(List.of(), crd.get().problems(original));

        ObjectNode misspeltTrait = original.deepCopy();
        ((ObjectNode) misspeltTrait.path("spec").path("traits")).set("kamelet", misspeltTrait.path("spec").path("traits").path("kamelets"));
        assertTrue(crd.get().problems(misspeltTrait).stream().anyMatch(p -> p.contains("$.spec.traits.kamelet ")),
                crd.get().problems(misspeltTrait).toString());

        ObjectNode wrongType = original.deepCopy();
        ((ObjectNode) wrongType.path("spec")).put("replicas", "two");
        assertFalse(crd.get().problems(wrongType).isEmpty(), "replicas is an integer");
    }

    @Test
    void kustomizationsListEveryManifestAndEveryKamelet() throws IOException {
        Set<String> listed = new TreeSet<>();
        YAML.readTree(CAMEL_K.resolve("kustomization.yaml").toFile()).path("resources").forEach(r -> listed.add(r.asText()));
        for (Path manifest : manifests()) {
            assertTrue(listed.contains(manifest.getFileName().toString()), manifest + " is in deploy/camel-k/kustomization.yaml");
        }
        for (String resource : listed) {
            assertTrue(Files.isRegularFile(CAMEL_K.resolve(resource)), resource + " exists");
        }
        Set<String> kamelets = new TreeSet<>();
        YAML.readTree(CAMEL_K.resolve("kamelets/kustomization.yaml").toFile()).path("resources").forEach(r -> {
            assertTrue(Files.isRegularFile(CAMEL_K.resolve("kamelets").resolve(r.asText())), r.asText() + " exists");
            kamelets.add(Path.of(r.asText()).getFileName().toString().replace(".kamelet.yaml", ""));
        });
        assertEquals(kameletNames(), kamelets, "deploy/camel-k/kamelets installs every Kamelet");
    }
}
