package org.cmm.eventbroker.testsupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Set;
import java.util.function.Consumer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SchemaValidatorsConfig;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;

/**
 * Checks what producing code writes against a payload schema of {@code src/main/resources/schemas/} (the files the
 * schema registry registers and the AsyncAPI document serves), with formats (date-time) asserted.
 */
public final class PayloadSchemaCheck {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final String subject;
    private final JsonSchema schema;

    private PayloadSchemaCheck(String subject, JsonSchema schema) {
        this.subject = subject;
        this.schema = schema;
    }

    /** The schema of {@code schemas/<subject>.json} on the class path. */
    public static PayloadSchemaCheck of(String subject) {
        try (InputStream in = PayloadSchemaCheck.class.getClassLoader().getResourceAsStream("schemas/" + subject
                + ".json")) {
            assertNotNull(in, "schemas/" + subject + ".json is on the class path");
            SchemaValidatorsConfig config = SchemaValidatorsConfig.builder().formatAssertionsEnabled(true).build();
            return new PayloadSchemaCheck(subject, JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V7)
                    .getSchema(in, config));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Parses a written payload. */
    public static ObjectNode parse(byte[] payload) {
        try {
            return (ObjectNode) JSON.readTree(payload);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Asserts that the payload is valid under the schema. */
    public PayloadSchemaCheck valid(JsonNode payload) {
        Set<ValidationMessage> errors = schema.validate(payload);
        assertEquals(Set.of(), errors, subject + " describes what the producer writes: " + payload);
        return this;
    }

    /** Asserts that a copy of the (valid) payload, changed by {@code change}, is not valid. */
    public PayloadSchemaCheck invalidAfter(JsonNode payload, Consumer<ObjectNode> change, String why) {
        ObjectNode copy = payload.deepCopy();
        change.accept(copy);
        assertFalse(schema.validate(copy).isEmpty(), subject + ": " + why + ": " + copy);
        return this;
    }
}
