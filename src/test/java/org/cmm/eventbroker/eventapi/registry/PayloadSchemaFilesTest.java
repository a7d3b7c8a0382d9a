package org.cmm.eventbroker.eventapi.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import org.junit.jupiter.api.Test;

/**
 * The payload schema files of {@code schemas/} are what the registry registers and the AsyncAPI document serves: each
 * is a valid JSON Schema (draft-07 meta-schema), named as its subject, and names sink Kamelets that exist, each
 * Kamelet by one file only (the registry keeps one subject per Kamelet, so a second file would silently win), or is
 * named by a topic family written by Java code (eventapi/topic-families.yaml).
 */
class PayloadSchemaFilesTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void everyPayloadSchemaFileIsAValidDraft07SchemaNamedAsItsSubjectForExistingSinkKamelets() throws Exception {
        List<PayloadSchemas.PayloadSchema> schemas = PayloadSchemas.load();
        assertTrue(schemas.size() >= 8, "the schema files are found on the class path: " + schemas);
        JsonSchema draft07 = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V7)
                .getSchema(SchemaLocation.of("http://json-schema.org/draft-07/schema#"));
        Map<String, String> subjectByKamelet = new HashMap<>();
        List<String> familySubjects = org.cmm.eventbroker.eventapi.TopicFamilies.subjects();
        for (PayloadSchemas.PayloadSchema schema : schemas) {
            JsonNode node = JSON.readTree(schema.text());
            Set<ValidationMessage> errors = draft07.validate(node);
            assertEquals(Set.of(), errors, schema.subject() + " is a valid draft-07 JSON Schema");
            assertEquals("http://json-schema.org/draft-07/schema#", node.path("$schema").asText(), schema.subject());
            assertEquals(schema.subject(), node.path("title").asText(), "title of " + schema.subject());
            assertEquals("urn:cmm:schema:" + schema.subject(), node.path("$id").asText(), "$id of " + schema.subject());
            assertEquals("object", node.path("type").asText(), schema.subject() + " describes a JSON object");
            assertFalse(node.path("required").isEmpty(), schema.subject() + " requires what the producer always writes");
            assertTrue(!schema.kamelets().isEmpty() || familySubjects.contains(schema.subject()), schema.subject()
                    + " names the Kamelets whose topics carry it, or a topic family of "
                    + org.cmm.eventbroker.eventapi.TopicFamilies.RESOURCE + " names it");
            for (String kamelet : schema.kamelets()) {
                assertTrue(kamelet.endsWith("-sink") && Files.isRegularFile(Path.of("kamelets", kamelet
                        + ".kamelet.yaml")), schema.subject() + ": " + kamelet + " is a sink Kamelet of kamelets/");
                assertNull(subjectByKamelet.put(kamelet, schema.subject()), kamelet + " is named by one schema file only");
            }
        }
    }

    @Test
    void aSchemaThatIsNotValidJsonSchemaIsRefusedByTheMetaSchemaCheck() throws Exception {
        JsonSchema draft07 = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V7)
                .getSchema(SchemaLocation.of("http://json-schema.org/draft-07/schema#"));
        assertFalse(draft07.validate(JSON.readTree("{\"type\":\"object\",\"required\":\"alertId\"}")).isEmpty(),
                "required must be an array");
    }
}
