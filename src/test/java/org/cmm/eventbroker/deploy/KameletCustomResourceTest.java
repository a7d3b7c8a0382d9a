package org.cmm.eventbroker.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Every file in kamelets/ is a valid Kamelet custom resource (camel.apache.org/v1), so the same file installs on
 * Camel K ({@code kubectl apply -f kamelets/}). Validated against the real Kamelet CRD when ../shared/schemas has it, and
 * against src/test/resources/schema/kamelet-v1.schema.json,
 * a JSON Schema written for this project from the Kamelet resource's documented structure (the upstream CRD is not
 * available as a Maven artifact, and copies of public files are not committed).
 */
class KameletCustomResourceTest {

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    static JsonSchema kameletSchema() throws IOException {
        try (InputStream in = KameletCustomResourceTest.class.getResourceAsStream("/schema/kamelet-v1.schema.json")) {
            return JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V4).getSchema(in);
        }
    }

    private static List<Path> kamelets() throws IOException {
        try (Stream<Path> files = Files.list(Path.of("kamelets"))) {
            return files.filter(p -> p.toString().endsWith(".kamelet.yaml")).sorted().toList();
        }
    }

    @TestFactory
    Stream<DynamicTest> everyKameletIsAValidKameletCustomResource() throws IOException {
        JsonSchema schema = kameletSchema();
        List<Path> files = kamelets();
        assertFalse(files.isEmpty());
        return files.stream().map(file -> DynamicTest.dynamicTest(file.toString(), () -> {
            Set<ValidationMessage> errors = schema.validate(YAML.readTree(file.toFile()));
            assertEquals(Set.of(), errors, file + " is not a valid Kamelet custom resource");
        }));
    }

    /** The real Kamelet CRD (../shared/schemas, skipped when absent), beside the project's own stricter schema. */
    @TestFactory
    Stream<DynamicTest> everyKameletIsAcceptedByTheRealKameletCustomResourceDefinition() throws IOException {
        java.util.Optional<CustomResourceDefinitions> crd = CustomResourceDefinitions.v1("camel.apache.org_kamelets.yaml");
        org.junit.jupiter.api.Assumptions.assumeTrue(crd.isPresent(), "the Camel K CRDs are not in " + CustomResourceDefinitions.FOLDER);
        return kamelets().stream().map(file -> DynamicTest.dynamicTest(file.toString(),
                () -> assertEquals(List.of(), crd.get().problems(YAML.readTree(file.toFile())), file + " against the Kamelet CRD")));
    }

    @Test
    void schemaRejectsWhatTheClusterWouldRefuseOrDrop() throws IOException {
        JsonSchema schema = kameletSchema();
        JsonNode valid = YAML.readTree(kamelets().get(0).toFile());
        assertEquals(Set.of(), schema.validate(valid));

        ObjectNode misspeltSpecField = valid.deepCopy();
        ObjectNode spec = (ObjectNode) misspeltSpecField.path("spec");
        spec.set("dependency", spec.remove("dependencies"));
        assertFalse(schema.validate(misspeltSpecField).isEmpty(), "spec.dependency is not a Kamelet field");

        ObjectNode misspeltParameterField = valid.deepCopy();
        ObjectNode firstParameter = (ObjectNode) misspeltParameterField.path("spec").path("definition").path("properties")
                .elements().next();
        firstParameter.put("tilte", "Typo");
        assertFalse(schema.validate(misspeltParameterField).isEmpty(), "a parameter field typo is reported");

        ObjectNode numericLabel = valid.deepCopy();
        ((ObjectNode) numericLabel.path("metadata").path("labels")).put("camel.apache.org/kamelet.version", 1);
        assertFalse(schema.validate(numericLabel).isEmpty(), "label values are strings");

        ObjectNode badName = valid.deepCopy();
        ((ObjectNode) badName.path("metadata")).put("name", "Lab_Results");
        assertFalse(schema.validate(badName).isEmpty(), "metadata.name is a DNS-1123 name");

        ObjectNode alpha = valid.deepCopy();
        alpha.put("apiVersion", "camel.apache.org/v1alpha1");
        assertFalse(schema.validate(alpha).isEmpty(), "only camel.apache.org/v1");

        ObjectNode noTemplate = valid.deepCopy();
        ((ObjectNode) noTemplate.path("spec")).remove("template");
        assertFalse(schema.validate(noTemplate).isEmpty(), "a Kamelet has a template or sources");

        ObjectNode badDependency = valid.deepCopy();
        ((com.fasterxml.jackson.databind.node.ArrayNode) badDependency.path("spec").path("dependencies")).add("kafka");
        assertTrue(schema.validate(badDependency).stream().anyMatch(m -> m.getMessage().contains("dependencies")),
                "dependencies are camel:, mvn:, github: or file: references");
    }
}
