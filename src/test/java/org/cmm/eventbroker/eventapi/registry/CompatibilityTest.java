package org.cmm.eventbroker.eventapi.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

/** The compatibility levels and the documented JSON Schema rule; AVRO through Avro's own check. */
class CompatibilityTest {

    private static final String BASE = "{\"type\":\"object\",\"required\":[\"id\"],\"properties\":{"
            + "\"id\":{\"type\":\"string\"},\"status\":{\"type\":\"string\",\"enum\":[\"new\",\"done\"]}}}";

    private static List<String> json(String level, String candidate, String... existing) {
        return Compatibility.problems(level, SchemaType.JSON, candidate, List.of(existing));
    }

    @Test
    void jsonSchemaRule() {
        assertEquals(List.of(), json("BACKWARD", BASE.replace("\"properties\":{", "\"properties\":{\"ward\":{\"type\":\"string\"},"), BASE),
                "an optional property added");
        assertFalse(json("BACKWARD", BASE.replace("[\"id\"]", "[\"id\",\"status\"]"), BASE).isEmpty(),
                "a property required that was optional");
        assertFalse(json("BACKWARD", BASE.replace("{\"type\":\"string\"},\"status\"", "{\"type\":\"integer\"},\"status\""),
                BASE).isEmpty(), "a type changed");
        assertEquals(List.of(), json("BACKWARD", BASE.replace("{\"type\":\"string\"},\"status\"",
                "{\"type\":[\"string\",\"null\"]},\"status\""), BASE), "a type widened");
        assertFalse(json("BACKWARD", BASE.replace("[\"new\",\"done\"]", "[\"new\"]"), BASE).isEmpty(),
                "an enum value removed");
        assertFalse(json("BACKWARD", "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":"
                + "{\"id\":{\"type\":\"string\"}}}", BASE).isEmpty(), "closed without a property the writer had");
        assertEquals(List.of(), json("BACKWARD", "true", BASE), "a schema that accepts anything reads everything");
        // FORWARD is the reverse direction: removing the requirement is fine backward, not forward
        String looser = BASE.replace("\"required\":[\"id\"],", "");
        assertEquals(List.of(), json("BACKWARD", looser, BASE));
        assertFalse(json("FORWARD", looser, BASE).isEmpty());
        assertFalse(json("FULL", looser, BASE).isEmpty());
        assertEquals(List.of(), json("NONE", "{\"type\":\"string\"}", BASE));
    }

    @Test
    void transitiveLevelsCheckEveryEarlierVersion() {
        String v1 = BASE;
        String v2 = BASE.replace("\"required\":[\"id\"],", "");               // id no longer required
        String v3 = v2.replace("\"properties\":{", "\"required\":[\"id\"],\"properties\":{"); // required again
        assertEquals(List.of(), json("FORWARD", v3, v1, v2), "FORWARD checks the latest only: v2 reads v3's data");
        assertEquals(List.of(), json("BACKWARD", v3, v1), "v3 reads v1's data");
        assertFalse(json("BACKWARD", v3, v1, v2).isEmpty(), "v3 cannot read v2's data (id may be missing)");
        assertEquals(List.of(), json("FORWARD_TRANSITIVE", v3, v1, v2), "v1 and v2 both read v3's data");
        assertFalse(json("BACKWARD_TRANSITIVE", v3, v1, v2).isEmpty());
    }

    @Test
    void avroIsCheckedByAvro() {
        String v1 = "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"string\"}]}";
        String withDefault = "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"string\"},"
                + "{\"name\":\"b\",\"type\":\"int\",\"default\":0}]}";
        String withoutDefault = withDefault.replace(",\"default\":0", "");
        assertEquals(List.of(), Compatibility.problems("BACKWARD", SchemaType.AVRO, withDefault, List.of(v1)));
        List<String> problems = Compatibility.problems("BACKWARD", SchemaType.AVRO, withoutDefault, List.of(v1));
        assertTrue(problems.get(0).contains("READER_FIELD_MISSING_DEFAULT_VALUE"), problems.toString());
        assertEquals(List.of(), Compatibility.problems("FORWARD", SchemaType.AVRO, withoutDefault, List.of(v1)),
                "old readers ignore the new field");
    }

    @Test
    void levelsAndSchemasAreValidated() {
        assertEquals("FULL_TRANSITIVE", Compatibility.level("full_transitive"));
        assertEquals(42203, assertThrows(RegistryException.class, () -> Compatibility.level("SOMETIMES")).errorCode());
        assertEquals(42201, assertThrows(RegistryException.class, () -> SchemaType.AVRO.canonical("{\"type\":\"record\"}"))
                .errorCode());
        assertEquals(42201, assertThrows(RegistryException.class, () -> SchemaType.JSON.canonical("[1]")).errorCode());
        assertEquals(42201, assertThrows(RegistryException.class, () -> SchemaType.of("PROTOBUF")).errorCode());
        assertEquals(SchemaType.AVRO, SchemaType.of(null), "no schemaType is AVRO, as in Confluent's API");
        assertEquals(SchemaType.JSON.canonical("{ \"type\" : \"string\" }"), SchemaType.JSON.canonical("{\"type\":\"string\"}"));
    }
}
