package org.cmm.eventbroker.routes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Every YAML route and every Kamelet template is valid Camel YAML DSL (the JSON schema shipped in camel-yaml-dsl),
 * and every Kamelet follows the house rules (../shared/GUIDE.md): name = file name with a -source/-sink/-action
 * suffix matching its type label, a title ending in Source/Sink/Action, camelCase properties each with a title,
 * description and type, every declared property used and every used one declared, dependencies listed.
 *
 * <p>And the platform boundary: Kafka connection and client settings are set once ({@code camel.component.kafka.*}),
 * never at a route or Kamelet call site; no Kamelet template names a topic (topics are Kamelet properties, set once
 * as {@code camel.kamelet.<name>.<property>}); every routeConfigurationId names a routeConfiguration that exists;
 * every key is defined once across application.properties and config/*.properties, every key has a comment, and
 * every placeholder the configuration, routes and Kamelets use is defined.
 */
class RouteAndKameletConventionsTest {

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final Pattern PLACEHOLDER = Pattern.compile("\\{\\{\\??([A-Za-z0-9_.-]+)(?::[^}]*)?}}");

    private static JsonSchema dslSchema() throws IOException {
        try (InputStream in = org.apache.camel.dsl.yaml.YamlRoutesBuilderLoader.class.getResourceAsStream("/schema/camelYamlDsl.json")) {
            return JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V4).getSchema(in);
        }
    }

    private static List<Path> files(String folder, String suffix) throws IOException {
        try (Stream<Path> paths = Files.walk(Path.of(folder))) {
            return paths.filter(p -> p.toString().endsWith(suffix)).sorted().toList();
        }
    }

    @TestFactory
    Stream<DynamicTest> everyRouteFileIsValidCamelYamlDsl() throws IOException {
        JsonSchema schema = dslSchema();
        List<Path> routes = files("routes", ".camel.yaml");
        assertFalse(routes.isEmpty());
        return routes.stream().map(file -> DynamicTest.dynamicTest(file.toString(), () -> {
            JsonNode node = YAML.readTree(file.toFile());
            Set<ValidationMessage> errors = schema.validate(node);
            assertEquals(Set.of(), errors, file + " is not valid Camel YAML DSL");
        }));
    }

    @org.junit.jupiter.api.Test
    void routeAndNodeIdsAreUniqueAcrossAllRouteFiles() throws IOException {
        // Camel refuses to start a route whose node id another route already uses: check it here, not at start
        java.util.Map<String, List<String>> where = new java.util.TreeMap<>();
        for (Path file : files("routes", ".camel.yaml")) {
            collectIds(YAML.readTree(file.toFile()), file.toString(), where);
        }
        java.util.Map<String, List<String>> duplicates = new java.util.TreeMap<>();
        where.forEach((id, files) -> {
            if (files.size() > 1) {
                duplicates.put(id, files);
            }
        });
        assertEquals(java.util.Map.of(), duplicates, "ids used more than once");
    }

    private static void collectIds(JsonNode node, String file, java.util.Map<String, List<String>> where) {
        if (node.isObject()) {
            JsonNode id = node.get("id");
            boolean isBeanOrConfiguration = node.has("type") && node.has("name");
            if (id != null && id.isTextual() && !isBeanOrConfiguration) {
                where.computeIfAbsent(id.asText(), k -> new java.util.ArrayList<>()).add(file);
            }
            node.fields().forEachRemaining(e -> collectIds(e.getValue(), file, where));
        } else if (node.isArray()) {
            node.forEach(child -> collectIds(child, file, where));
        }
    }

    @TestFactory
    Stream<DynamicTest> everyRouteHasAnIdAndADescription() throws IOException {
        return files("routes", ".camel.yaml").stream().map(file -> DynamicTest.dynamicTest(file.toString(), () -> {
            for (JsonNode item : YAML.readTree(file.toFile())) {
                JsonNode route = item.get("route");
                if (route != null) {
                    assertTrue(route.path("id").asText().matches("[a-z0-9]+(-[a-z0-9]+)*"), "kebab-case route id in " + file);
                    assertFalse(route.path("description").asText().isBlank(), "route description in " + file);
                }
            }
        }));
    }

    @TestFactory
    Stream<DynamicTest> everyPlaceholderInARouteHasADefaultInApplicationProperties() throws IOException {
        // application.properties and the domains' config/*.properties, read by the runtime as one set
        java.util.Properties defaults = ConfigurationKeys.load();
        return files("routes", ".camel.yaml").stream().map(file -> DynamicTest.dynamicTest(file.toString(), () -> {
            Matcher m = PLACEHOLDER.matcher(Files.readString(file));
            while (m.find()) {
                if (!m.group(0).startsWith("{{?")) {
                    assertTrue(defaults.containsKey(m.group(1)), m.group(1) + " used in " + file + " has no default");
                }
            }
        }));
    }

    @TestFactory
    Stream<DynamicTest> everyKameletTemplateIsValidCamelYamlDsl() throws IOException {
        JsonSchema schema = dslSchema();
        return files("kamelets", ".kamelet.yaml").stream().map(file -> DynamicTest.dynamicTest(file.toString(), () -> {
            JsonNode template = YAML.readTree(file.toFile()).path("spec").path("template");
            ArrayNode asRoutes = YAML.createArrayNode();
            ObjectNode wrapped = YAML.createObjectNode();
            wrapped.set("from", template.get("from"));
            asRoutes.add(wrapped);
            assertEquals(Set.of(), schema.validate(asRoutes), file + " template is not valid Camel YAML DSL");
        }));
    }

    @TestFactory
    Stream<DynamicTest> everyKameletFollowsTheNamingAndPropertyRules() throws IOException {
        List<Path> kamelets = files("kamelets", ".kamelet.yaml");
        assertFalse(kamelets.isEmpty());
        return kamelets.stream().map(file -> DynamicTest.dynamicTest(file.toString(), () -> {
            JsonNode k = YAML.readTree(file.toFile());
            String name = k.path("metadata").path("name").asText();
            assertEquals("camel.apache.org/v1", k.path("apiVersion").asText());
            assertEquals("Kamelet", k.path("kind").asText());
            assertEquals(file.getFileName().toString(), name + ".kamelet.yaml", "file name = metadata.name");
            Matcher suffix = Pattern.compile("^[a-z0-9]+(-[a-z0-9]+)*-(source|sink|action)$").matcher(name);
            assertTrue(suffix.matches(), name + " ends in -source, -sink or -action");
            String type = suffix.group(2);
            assertEquals(type, k.path("metadata").path("labels").path("camel.apache.org/kamelet.type").asText());
            String title = k.path("spec").path("definition").path("title").asText();
            assertTrue(title.endsWith(Character.toUpperCase(type.charAt(0)) + type.substring(1)), "title ends in the type: " + title);
            assertFalse(k.path("spec").path("definition").path("description").asText().isBlank());
            assertTrue(k.path("spec").path("dependencies").isArray() && k.path("spec").path("dependencies").size() > 0,
                    "dependencies listed");

            JsonNode properties = k.path("spec").path("definition").path("properties");
            Set<String> declared = new TreeSet<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = properties.fields(); it.hasNext();) {
                Map.Entry<String, JsonNode> p = it.next();
                declared.add(p.getKey());
                assertTrue(p.getKey().matches("[a-z][A-Za-z0-9]*"), p.getKey() + " is camelCase");
                assertTrue(p.getValue().path("title").asText().matches("[A-Z][A-Za-z0-9]*( [A-Z][A-Za-z0-9]*)*"),
                        p.getKey() + " has a Title Case title");
                assertFalse(p.getValue().path("description").asText().isBlank(), p.getKey() + " has a description");
                assertFalse(p.getValue().path("type").asText().isBlank(), p.getKey() + " has a type");
            }
            for (JsonNode required : k.path("spec").path("definition").path("required")) {
                assertTrue(declared.contains(required.asText()), "required " + required.asText() + " is declared");
            }
            Set<String> used = new HashSet<>();
            Matcher m = PLACEHOLDER.matcher(YAML.writeValueAsString(k.path("spec").path("template")));
            while (m.find()) {
                used.add(m.group(1));
            }
            // the template's own beans are referenced as {{name}} too: they are not properties
            for (JsonNode bean : k.path("spec").path("template").path("beans")) {
                used.remove(bean.path("name").asText());
            }
            assertEquals(declared, new TreeSet<>(used), "declared properties = properties used in the template");
        }));
    }

    @TestFactory
    Stream<DynamicTest> routesOnlyUseKameletsThatExist() throws IOException {
        Set<String> kamelets = new HashSet<>();
        for (Path k : files("kamelets", ".kamelet.yaml")) {
            kamelets.add(k.getFileName().toString().replace(".kamelet.yaml", ""));
        }
        List<DynamicTest> tests = new ArrayList<>();
        for (Path file : files("routes", ".camel.yaml")) {
            tests.add(DynamicTest.dynamicTest(file.toString(), () -> {
                Matcher m = Pattern.compile("kamelet:([a-z0-9-]+)").matcher(Files.readString(file));
                while (m.find()) {
                    assertTrue(kamelets.contains(m.group(1)), m.group(1) + " used in " + file + " is in kamelets/");
                }
            }));
        }
        return tests.stream();
    }

    // ---- the platform boundary ------------------------------------------------------------------------------------

    /** Kafka connection and client settings: the Camel Kafka component's options, set once in application.properties. */
    static final Set<String> KAFKA_CLIENT_SETTINGS = Set.of("brokers", "bootstrapServers", "requestRequiredAcks",
            "enableIdempotence", "deliveryTimeoutMs", "requestTimeoutMs", "maxBlockMs", "maxRequestSize",
            "keySerializer", "valueSerializer", "keyDeserializer", "valueDeserializer", "securityProtocol",
            "saslMechanism", "saslJaasConfig", "sslTruststoreLocation", "sslTruststorePassword", "sslKeystoreLocation",
            "sslKeystorePassword", "sslKeyPassword", "sslEndpointAlgorithm", "additionalProperties", "retries",
            "retryBackoffMs", "compressionCodec", "bufferMemorySize", "sendBufferBytes", "receiveBufferBytes");

    /** Every endpoint (a map with a uri) in a YAML tree, skipping bean definitions. */
    private static void endpoints(JsonNode node, List<JsonNode> out) {
        if (node.isObject()) {
            if (node.has("uri") && node.get("uri").isTextual()) {
                out.add(node);
            }
            node.fields().forEachRemaining(e -> {
                if (!e.getKey().equals("beans")) {
                    endpoints(e.getValue(), out);
                }
            });
        } else if (node.isArray()) {
            node.forEach(child -> endpoints(child, out));
        }
    }

    /** The problems of one endpoint: a Kafka client setting in its parameters or query, or a Kafka key it passes. */
    static List<String> kafkaSettingsAtCallSite(JsonNode endpoint) {
        List<String> problems = new ArrayList<>();
        String uri = endpoint.get("uri").asText();
        if (!(uri.startsWith("kafka:") || uri.startsWith("kafka-delivery:") || uri.startsWith("kamelet:"))) {
            return problems;
        }
        Map<String, String> parameters = new java.util.TreeMap<>();
        endpoint.path("parameters").fields().forEachRemaining(e -> parameters.put(e.getKey(), e.getValue().asText()));
        int query = uri.indexOf('?');
        if (query > 0) {
            for (String pair : uri.substring(query + 1).split("&")) {
                String[] kv = pair.split("=", 2);
                parameters.put(kv[0], kv.length > 1 ? kv[1] : "");
            }
        }
        parameters.forEach((name, value) -> {
            if (KAFKA_CLIENT_SETTINGS.contains(name)) {
                problems.add(uri + " passes the Kafka setting " + name);
            } else if (value.contains("{{cmm.kafka.") || value.contains("{{camel.component.kafka.")) {
                problems.add(uri + " passes a Kafka setting as " + name + ": " + value);
            }
        });
        return problems;
    }

    @TestFactory
    Stream<DynamicTest> noRouteOrKameletCallSitePassesAKafkaConnectionOrClientSetting() throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        for (Path file : files("routes", ".camel.yaml")) {
            tests.add(DynamicTest.dynamicTest(file.toString(), () -> {
                List<JsonNode> found = new ArrayList<>();
                endpoints(YAML.readTree(file.toFile()), found);
                List<String> problems = new ArrayList<>();
                found.forEach(e -> problems.addAll(kafkaSettingsAtCallSite(e)));
                assertEquals(List.of(), problems, file + ": Kafka is configured once, as camel.component.kafka.*");
            }));
        }
        for (Path file : files("kamelets", ".kamelet.yaml")) {
            tests.add(DynamicTest.dynamicTest(file.toString(), () -> {
                JsonNode k = YAML.readTree(file.toFile());
                List<JsonNode> found = new ArrayList<>();
                endpoints(k.path("spec").path("template"), found);
                List<String> problems = new ArrayList<>();
                found.forEach(e -> problems.addAll(kafkaSettingsAtCallSite(e)));
                k.path("spec").path("definition").path("properties").fieldNames().forEachRemaining(name -> {
                    if (KAFKA_CLIENT_SETTINGS.contains(name)) {
                        problems.add("declares the Kafka setting " + name + " as a property");
                    }
                });
                assertEquals(List.of(), problems, file + ": Kafka is configured once, as camel.component.kafka.*");
            }));
        }
        return tests.stream();
    }

    @org.junit.jupiter.api.Test
    void theCallSiteCheckSeesKafkaSettingsInParametersQueriesAndPlaceholders() throws IOException {
        // the rule above must be able to fail: each of these is one problem
        for (String endpoint : List.of(
                "{uri: 'kamelet:hl7-topic-sink', parameters: {bootstrapServers: 'x:9092'}}",
                "{uri: 'kafka:t?brokers=x:9092'}",
                "{uri: 'kafka-delivery:g', parameters: {timeout: '{{camel.component.kafka.delivery-timeout-ms}}'}}",
                "{uri: 'kamelet:dead-letter-sink', parameters: {topic: t, maxBlockMs: 3000}}")) {
            assertEquals(1, kafkaSettingsAtCallSite(YAML.readTree(endpoint)).size(), endpoint);
        }
        assertEquals(List.of(), kafkaSettingsAtCallSite(YAML.readTree(
                "{uri: 'kamelet:dead-letter-sink', parameters: {topic: '{{cmm.hl7.dead-letter-topic}}', source: x}}")));
    }

    /** Topic families the Kamelets write or read: a literal starting like this in a template is a hard-coded topic. */
    private static final Pattern TOPIC_LITERAL = Pattern.compile(
            "^(hl7|ehr|lab|pharmacy|device|fhir|cds|workflow|notifications|delivery)(\\.[A-Za-z0-9$-]+)+.*");

    /** Where a template names a topic: kafka: paths, kafka-delivery topic prefixes, the topic and ce_type headers. */
    static List<String> topicLiterals(JsonNode template) {
        List<String> problems = new ArrayList<>();
        List<JsonNode> found = new ArrayList<>();
        endpoints(template, found);
        for (JsonNode endpoint : found) {
            String uri = endpoint.get("uri").asText();
            if (uri.startsWith("kafka:") && !uri.substring("kafka:".length()).startsWith("{{")) {
                problems.add(uri);
            }
            if (uri.startsWith("kafka-delivery:")) {
                for (String parameter : List.of("topic", "topicPrefix")) {
                    JsonNode value = endpoint.path("parameters").path(parameter);
                    if (!value.isMissingNode() && !value.asText().startsWith("{{")) {
                        problems.add(uri + " " + parameter + " " + value.asText());
                    }
                }
            }
        }
        collectTopicHeaders(template, problems);
        collectBeanTopicProperties(template, problems);
        return problems;
    }

    /** A bean property naming a topic (topic, topicPrefix, stateTopic, ...) is a placeholder of the configuration. */
    private static void collectBeanTopicProperties(JsonNode node, List<String> problems) {
        if (node.isObject()) {
            JsonNode properties = node.path("properties");
            if (node.has("type") && properties.isObject()) {
                properties.fields().forEachRemaining(p -> {
                    String name = p.getKey();
                    boolean topical = name.equals("topic") || name.equals("topicPrefix") || name.endsWith("Topic")
                            || name.endsWith("TopicPrefix");
                    if (topical && !p.getValue().asText().startsWith("{{")) {
                        problems.add("bean " + node.path("name").asText() + "." + name + " = " + p.getValue().asText());
                    }
                });
            }
            node.fields().forEachRemaining(e -> collectBeanTopicProperties(e.getValue(), problems));
        } else if (node.isArray()) {
            node.forEach(child -> collectBeanTopicProperties(child, problems));
        }
    }

    @TestFactory
    Stream<DynamicTest> noRouteFileNamesATopicLiterally() throws IOException {
        return files("routes", ".camel.yaml").stream().map(file -> DynamicTest.dynamicTest(file.toString(), () ->
                assertEquals(List.of(), topicLiterals(YAML.readTree(file.toFile())),
                        file + ": a topic is a placeholder of the configuration (config/<domain>.properties)")));
    }

    /** Java files that may name a topic family: each holds a default that has no Camel configuration to come from. */
    private static final Map<String, String> JAVA_TOPIC_DEFAULTS = Map.of(
            "AuditCloudEvents.java", "the audit topics of the broker's authorizer plugin (security.audit.<kind>)",
            "RbacAuthorizer.java", "the broker plugin's default of cmm.authorizer.audit.patient.topic.prefixes");

    @org.junit.jupiter.api.Test
    void noJavaSourceNamesATopicOutsideTheBrokerPluginsDefaults() throws IOException {
        Pattern literal = Pattern.compile("\"(hl7|ehr|lab|pharmacy|device|fhir|cds|workflow|notifications|analytics"
                + "|patient|security\\.audit|delivery)\\.[a-z]");
        List<String> problems = new ArrayList<>();
        for (Path file : files("src/main/java", ".java")) {
            if (JAVA_TOPIC_DEFAULTS.containsKey(file.getFileName().toString())) {
                continue;
            }
            List<String> lines = java.nio.file.Files.readAllLines(file);
            for (int i = 0; i < lines.size(); i++) {
                String line = lines.get(i).trim();
                if (!line.startsWith("*") && !line.startsWith("//") && !line.startsWith("/*") && literal.matcher(line).find()) {
                    problems.add(file + ":" + (i + 1) + ": " + line);
                }
            }
        }
        assertEquals(List.of(), problems, "topics come from configuration (camel.kamelet.*, cmm.*), not Java literals");
    }

    private static void collectTopicHeaders(JsonNode node, List<String> problems) {
        if (node.isObject()) {
            String name = node.path("name").asText();
            if (name.equals("kafka.OVERRIDE_TOPIC") || name.equals("ce_type")) {
                for (String language : List.of("constant", "simple")) {
                    String value = node.path(language).asText();
                    if (!value.isEmpty() && (TOPIC_LITERAL.matcher(value).matches() || !value.startsWith("{{"))) {
                        problems.add(name + " = " + value);
                    }
                }
            }
            node.fields().forEachRemaining(e -> collectTopicHeaders(e.getValue(), problems));
        } else if (node.isArray()) {
            node.forEach(child -> collectTopicHeaders(child, problems));
        }
    }

    @TestFactory
    Stream<DynamicTest> noKameletTemplateNamesATopicLiterally() throws IOException {
        return files("kamelets", ".kamelet.yaml").stream().map(file -> DynamicTest.dynamicTest(file.toString(), () -> {
            JsonNode k = YAML.readTree(file.toFile());
            assertEquals(List.of(), topicLiterals(k.path("spec").path("template")),
                    file + ": a topic is a Kamelet property (topic or topicPrefix), set as camel.kamelet.<name>.<property>");
        }));
    }

    @org.junit.jupiter.api.Test
    void theTopicCheckSeesALiteralTopicInAnEndpointAPrefixOrAHeader() throws IOException {
        assertEquals(1, topicLiterals(YAML.readTree("{from: {uri: 'kamelet:source', steps: [{to: {uri: 'kafka:lab.results.x'}}]}}")).size());
        assertEquals(1, topicLiterals(YAML.readTree("{from: {uri: 'kafka-delivery:g', parameters: {topicPrefix: hl7}}}")).size());
        assertEquals(1, topicLiterals(YAML.readTree("{from: {uri: 'kafka-delivery:g', parameters: {topic: fhir.resource.changed}}}")).size());
        assertEquals(1, topicLiterals(YAML.readTree(
                "[{beans: [{name: b, type: x.Y, properties: {stateTopic: cds.state, other: 1}}]}]")).size());
        assertEquals(List.of(), topicLiterals(YAML.readTree(
                "[{beans: [{name: b, type: x.Y, properties: {stateTopic: '{{cmm.cds.state-topic}}'}}]}]")));
        assertEquals(1, topicLiterals(YAML.readTree(
                "{from: {uri: 'kamelet:source', steps: [{setHeader: {name: kafka.OVERRIDE_TOPIC, simple: 'cds.${header.t}'}}]}}")).size());
        assertEquals(List.of(), topicLiterals(YAML.readTree(
                "{from: {uri: 'kamelet:source', steps: [{setHeader: {name: ce_type, simple: '{{topicPrefix}}.${header.t}'}},"
                        + " {to: {uri: 'kafka:{{topicPrefix}}.unrouted'}}]}}")));
    }

    @TestFactory
    Stream<DynamicTest> everyKameletTopicPropertyIsRequiredAndSetOnceInConfiguration() throws IOException {
        java.util.Properties configuration = ConfigurationKeys.load();
        return files("kamelets", ".kamelet.yaml").stream().map(file -> DynamicTest.dynamicTest(file.toString(), () -> {
            JsonNode k = YAML.readTree(file.toFile());
            String name = k.path("metadata").path("name").asText();
            Set<String> required = new HashSet<>();
            k.path("spec").path("definition").path("required").forEach(r -> required.add(r.asText()));
            k.path("spec").path("definition").path("properties").fields().forEachRemaining(p -> {
                String property = p.getKey();
                if (property.equals("topic") || property.equals("topicPrefix") || property.endsWith("Topic")) {
                    assertTrue(required.contains(property), name + "." + property + " is required");
                    assertFalse(p.getValue().has("default"), name + "." + property + " has no default: the site sets it");
                    if (!name.equals("dead-letter-sink")) {
                        // the dead-letter topic is the caller's (one per domain); every other topic is set once
                        assertTrue(configuration.containsKey("camel.kamelet." + name + "." + property),
                                "camel.kamelet." + name + "." + property + " is set in configuration");
                    }
                }
            });
        }));
    }

    @org.junit.jupiter.api.Test
    void everyRouteConfigurationIdNamesARouteConfigurationThatExists() throws IOException {
        Set<String> configurations = new TreeSet<>();
        Map<String, String> references = new java.util.TreeMap<>();
        for (Path file : files("routes", ".camel.yaml")) {
            for (JsonNode item : YAML.readTree(file.toFile())) {
                JsonNode configuration = item.get("routeConfiguration");
                if (configuration != null) {
                    assertTrue(configurations.add(configuration.path("id").asText()),
                            "routeConfiguration " + configuration.path("id").asText() + " defined once");
                }
                JsonNode route = item.get("route");
                if (route != null && route.has("routeConfigurationId")) {
                    for (String id : route.get("routeConfigurationId").asText().split(",")) {
                        references.put(route.path("id").asText() + " -> " + id.trim(), id.trim());
                    }
                }
            }
        }
        assertFalse(references.isEmpty());
        Map<String, String> unresolved = new java.util.TreeMap<>(references);
        unresolved.values().removeIf(configurations::contains);
        assertEquals(Map.of(), unresolved, "routeConfigurationId without a routeConfiguration " + configurations);
    }

    /** Each key and the file and line it is defined at, read line by line (Properties would hide a second definition). */
    private static Map<String, List<String>> definitions() throws IOException {
        Map<String, List<String>> where = new java.util.TreeMap<>();
        for (Path file : ConfigurationKeys.files()) {
            List<String> lines = Files.readAllLines(file);
            for (int i = 0; i < lines.size(); i++) {
                String key = keyOf(lines.get(i));
                if (key != null) {
                    where.computeIfAbsent(key, x -> new ArrayList<>()).add(file.getFileName() + ":" + (i + 1));
                }
            }
        }
        return where;
    }

    private static String keyOf(String line) {
        String l = line.strip();
        if (l.isEmpty() || l.startsWith("#") || l.startsWith("!")) {
            return null;
        }
        int end = 0;
        while (end < l.length() && l.charAt(end) != '=' && l.charAt(end) != ':' && !Character.isWhitespace(l.charAt(end))) {
            end++;
        }
        return l.substring(0, end);
    }

    @org.junit.jupiter.api.Test
    void everyKeyIsDefinedOnceAcrossApplicationPropertiesAndTheDomainFiles() throws IOException {
        Map<String, List<String>> where = definitions();
        assertTrue(where.size() > 100, "the configuration is read");
        Map<String, List<String>> twice = new java.util.TreeMap<>(where);
        twice.values().removeIf(places -> places.size() == 1);
        assertEquals(Map.of(), twice, "keys defined more than once");
    }

    @TestFactory
    Stream<DynamicTest> everyKeyHasACommentAboveIt() {
        // a key is documented by the comment that opens its paragraph: the lines above it, up to a blank line, are
        // keys of the same group or comments, and at least one comment
        return ConfigurationKeys.files().stream().map(file -> DynamicTest.dynamicTest(file.toString(), () -> {
            List<String> lines = Files.readAllLines(file);
            List<String> undocumented = new ArrayList<>();
            for (int i = 0; i < lines.size(); i++) {
                String key = keyOf(lines.get(i));
                if (key == null) {
                    continue;
                }
                int j = i - 1;
                while (j >= 0 && keyOf(lines.get(j)) != null) {
                    j--;
                }
                if (j < 0 || !lines.get(j).strip().startsWith("#")) {
                    undocumented.add(key + " (line " + (i + 1) + ")");
                }
            }
            assertEquals(List.of(), undocumented, file + ": keys without a comment above them");
        }));
    }

    @org.junit.jupiter.api.Test
    void noCommentNumbersTheFlowsInsteadOfNamingThem() throws IOException {
        for (Path file : ConfigurationKeys.files()) {
            String text = Files.readString(file);
            assertFalse(Pattern.compile("(?i)\\bflows? \\d").matcher(text).find(), file + " names flows, not numbers");
        }
    }

    @org.junit.jupiter.api.Test
    void everyPlaceholderOfTheConfigurationAndTheRoutesIsDefined() throws IOException {
        java.util.Properties configuration = ConfigurationKeys.load();
        // set at start by the runtime (runtime/EmbeddedBrokerBootstrap) or by the environment, never in a file
        List<String> undefined = new ArrayList<>();
        for (String key : configuration.stringPropertyNames()) {
            Matcher m = PLACEHOLDER.matcher(configuration.getProperty(key));
            while (m.find()) {
                if (!m.group(0).startsWith("{{?") && !configuration.containsKey(m.group(1))) {
                    undefined.add(m.group(1) + " (in " + key + ")");
                }
            }
        }
        for (Path file : files("routes", ".camel.yaml")) {
            Matcher m = PLACEHOLDER.matcher(Files.readString(file));
            while (m.find()) {
                if (!m.group(0).startsWith("{{?") && !configuration.containsKey(m.group(1))) {
                    undefined.add(m.group(1) + " (in " + file + ")");
                }
            }
        }
        assertEquals(List.of(), undefined, "placeholders without a value");
    }

    @TestFactory
    Stream<DynamicTest> everyRequiredKameletPropertyIsSetInConfigurationOrByEveryCaller() throws IOException {
        java.util.Properties configuration = ConfigurationKeys.load();
        Map<String, List<JsonNode>> callers = new java.util.HashMap<>();
        for (Path file : files("routes", ".camel.yaml")) {
            List<JsonNode> found = new ArrayList<>();
            endpoints(YAML.readTree(file.toFile()), found);
            for (JsonNode e : found) {
                Matcher m = Pattern.compile("^kamelet:([a-z0-9-]+)").matcher(e.get("uri").asText());
                if (m.find()) {
                    callers.computeIfAbsent(m.group(1), x -> new ArrayList<>()).add(e);
                }
            }
        }
        return files("kamelets", ".kamelet.yaml").stream().map(file -> DynamicTest.dynamicTest(file.toString(), () -> {
            JsonNode k = YAML.readTree(file.toFile());
            String name = k.path("metadata").path("name").asText();
            for (JsonNode r : k.path("spec").path("definition").path("required")) {
                String property = r.asText();
                if (configuration.containsKey("camel.kamelet." + name + "." + property)) {
                    continue;
                }
                for (JsonNode call : callers.getOrDefault(name, List.of())) {
                    // a named instance (kamelet:<name>/<instance>) takes camel.kamelet.<name>.<instance>.<property>
                    Matcher instance = Pattern.compile("^kamelet:" + name + "/([a-z0-9-]+)").matcher(call.get("uri").asText());
                    boolean setForInstance = instance.find() && configuration.containsKey(
                            "camel.kamelet." + name + "." + instance.group(1) + "." + property);
                    assertTrue(setForInstance || call.path("parameters").has(property)
                                    || call.get("uri").asText().contains(property + "="),
                            name + "." + property + " is required: set camel.kamelet." + name + "." + property
                                    + " (or camel.kamelet." + name + ".<instance>." + property + ") or pass it at " + call);
                }
            }
        }));
    }

    @org.junit.jupiter.api.Test
    void errorHandlingLivesInOnePlaceOrganisedByTheWayInOrOut() throws IOException {
        // routeConfigurations and the routes an intake hands its failures to live in routes/error-handling/, one file
        // per kind of way in or out (mllp-inbound, http-inbound, mqtt-inbound, kafka-delivery, processing)
        List<String> misplaced = new ArrayList<>();
        for (Path file : files("routes", ".camel.yaml")) {
            boolean inErrorHandling = file.startsWith(Path.of("routes", "error-handling"));
            for (JsonNode item : YAML.readTree(file.toFile())) {
                if (item.has("routeConfiguration") && !inErrorHandling) {
                    misplaced.add(file + ": routeConfiguration " + item.get("routeConfiguration").path("id").asText());
                }
            }
            if (file.getFileName().toString().contains("error-handling") && !inErrorHandling) {
                misplaced.add(file.toString());
            }
        }
        assertEquals(List.of(), misplaced, "error handling outside routes/error-handling/");
        try (Stream<Path> kinds = Files.list(Path.of("routes", "error-handling"))) {
            assertTrue(kinds.map(p -> p.getFileName().toString())
                    .allMatch(n -> n.matches("((mllp|http|mqtt)-inbound|kafka-delivery|processing)-error-handling\\.camel\\.yaml")),
                    "one file per kind of way in or out");
        }
    }

    @org.junit.jupiter.api.Test
    void everyHttpIntakeHasItsErrorHandlingInARouteConfigurationNotADoTryDetour() throws IOException {
        // the doTry + direct: detours existed because pooled exchanges skipped a platform-http route's onException;
        // exchanges are not pooled (camel.main.exchange-factory = default), so intakes use routeConfigurations
        List<String> problems = new ArrayList<>();
        int intakes = 0;
        for (Path file : files("routes", ".camel.yaml")) {
            for (JsonNode item : YAML.readTree(file.toFile())) {
                JsonNode route = item.get("route");
                if (route == null || !route.path("from").path("uri").asText().startsWith("platform-http:")) {
                    continue;
                }
                intakes++;
                String id = route.path("id").asText();
                if (route.path("routeConfigurationId").asText().isBlank()) {
                    problems.add(id + " has no routeConfigurationId");
                }
                for (JsonNode step : route.path("from").path("steps")) {
                    if (step.has("doTry")) {
                        problems.add(id + " catches its failures in a doTry");
                    }
                }
                if (YAML.writeValueAsString(route).contains("direct:")) {
                    problems.add(id + " hands over to a direct: route");
                }
            }
        }
        assertTrue(intakes >= 5, "the HTTP intakes are found");
        assertEquals(List.of(), problems);
    }
}
