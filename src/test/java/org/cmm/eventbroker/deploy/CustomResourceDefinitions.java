package org.cmm.eventbroker.deploy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;

/**
 * The real Camel K CustomResourceDefinitions (../shared/schemas, see its SOURCES.md; absent on some machines): what
 * the cluster enforces for a resource of camel.apache.org/v1. {@link #problems} reports what the API server would
 * refuse (the openAPIV3Schema of the served v1 version: types, enums, required fields) and what it would silently drop
 * (a field the structural schema does not declare is pruned, so a misspelt trait would just vanish).
 */
final class CustomResourceDefinitions {

    static final Path FOLDER = Path.of("..", "shared", "schemas");

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private final JsonNode openApiSchema;
    private final JsonSchema schema;

    private CustomResourceDefinitions(JsonNode openApiSchema) {
        this.openApiSchema = openApiSchema;
        this.schema = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V4).getSchema(openApiSchema);
    }

    /** The v1 schema of a CRD file of ../shared/schemas (camel.apache.org_integrations.yaml, ...), if the file is there. */
    static Optional<CustomResourceDefinitions> v1(String file) throws IOException {
        Path path = FOLDER.resolve(file);
        if (!Files.isRegularFile(path)) {
            return Optional.empty();
        }
        JsonNode crd = YAML.readTree(path.toFile());
        for (JsonNode version : crd.path("spec").path("versions")) {
            if ("v1".equals(version.path("name").asText()) && version.path("served").asBoolean()) {
                return Optional.of(new CustomResourceDefinitions(version.path("schema").path("openAPIV3Schema")));
            }
        }
        throw new IllegalStateException(path + " serves no v1 version");
    }

    /** What the API server would refuse or drop in this resource; empty when it is accepted as it is. */
    List<String> problems(JsonNode resource) {
        List<String> problems = new ArrayList<>();
        schema.validate(resource).forEach(m -> problems.add(m.getMessage()));
        pruned(openApiSchema, resource, "$", problems);
        return problems;
    }

    private static void pruned(JsonNode schema, JsonNode value, String at, List<String> problems) {
        if (schema == null || schema.isMissingNode() || value == null
                || schema.path("x-kubernetes-preserve-unknown-fields").asBoolean()) {
            return;
        }
        if (value.isObject()) {
            JsonNode properties = schema.get("properties");
            JsonNode additional = schema.get("additionalProperties");
            for (Iterator<Map.Entry<String, JsonNode>> it = value.fields(); it.hasNext();) {
                Map.Entry<String, JsonNode> field = it.next();
                String where = at + "." + field.getKey();
                if (properties != null && properties.has(field.getKey())) {
                    pruned(properties.get(field.getKey()), field.getValue(), where, problems);
                } else if (additional != null && additional.isObject()) {
                    pruned(additional, field.getValue(), where, problems);
                } else if (properties != null && !at.equals("$.metadata") && !at.startsWith("$.metadata.")) {
                    problems.add(where + " is not a field of the resource (the API server drops it)");
                }
            }
        } else if (value.isArray()) {
            for (int i = 0; i < value.size(); i++) {
                pruned(schema.get("items"), value.get(i), at + "[" + i + "]", problems);
            }
        }
    }
}
