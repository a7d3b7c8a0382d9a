package org.cmm.eventbroker.eventapi.registry;

import java.util.Locale;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.avro.Schema;
import org.apache.avro.SchemaParseException;

/**
 * The schema types this registry serves, as the Confluent API names them ({@code schemaType}; absent means AVRO).
 * Each parses a schema text and gives its canonical form, so the same schema registered twice gets the same id.
 */
public enum SchemaType {
    AVRO, JSON;

    /** The type a request names; absent or blank is AVRO, as in Confluent's API. */
    static SchemaType of(String name) {
        if (name == null || name.isBlank()) {
            return AVRO;
        }
        try {
            return valueOf(name.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new RegistryException(422, 42201, "Invalid schema: schemaType " + name
                    + " is not served here (AVRO, JSON)");
        }
    }

    /** The canonical text of a valid schema; an invalid one is refused with the parser's reason (42201). */
    String canonical(String text) {
        if (text == null || text.isBlank()) {
            throw RegistryException.invalidSchema("empty schema");
        }
        try {
            if (this == AVRO) {
                return new Schema.Parser().setValidateDefaults(true).parse(text).toString();
            }
            JsonNode node = SchemaStore.JSON.readTree(text);
            if (node == null || !(node.isObject() || node.isBoolean())) {
                throw RegistryException.invalidSchema("a JSON Schema is a JSON object or boolean");
            }
            return SchemaStore.JSON.writeValueAsString(node);
        } catch (SchemaParseException e) {
            throw RegistryException.invalidSchema(e.getMessage());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw RegistryException.invalidSchema("not JSON (" + e.getOriginalMessage() + ")");
        }
    }
}
