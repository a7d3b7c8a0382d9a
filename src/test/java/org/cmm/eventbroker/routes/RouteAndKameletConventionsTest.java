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
}
