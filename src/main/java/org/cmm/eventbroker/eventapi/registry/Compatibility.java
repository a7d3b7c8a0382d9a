package org.cmm.eventbroker.eventapi.registry;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;

/**
 * Compatibility levels and checks, as the Confluent Schema Registry defines them: BACKWARD (a reader with the new
 * schema reads data written with the previous one), FORWARD (the reverse), FULL (both), their TRANSITIVE forms (against
 * every earlier version, not only the latest) and NONE.
 * <p>AVRO is checked by Avro's own {@link SchemaCompatibility}. JSON Schema by a simpler documented rule
 * (docs/event-api.md), applied to the root and, recursively, to every property both versions declare: a reader schema
 * can read data valid under a writer schema when (1) the {@code type} is the same (or the reader's type list contains
 * the writer's), (2) the reader requires no property the writer did not require, (3) when the reader closes the object
 * ({@code additionalProperties: false}) it still declares every property the writer declared, and (4) when both give
 * an {@code enum}, the reader's contains the writer's. It errs towards refusing: a schema it calls compatible is.
 */
public final class Compatibility {

    /** The levels the API accepts. */
    public static final Set<String> LEVELS = Set.of("NONE", "BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD",
            "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE");

    private Compatibility() {
    }

    /** The level named, upper case; an unknown one is refused (42203). */
    static String level(String name) {
        String level = name == null ? "" : name.trim().toUpperCase(Locale.ROOT);
        if (!LEVELS.contains(level)) {
            throw RegistryException.invalidCompatibility(name);
        }
        return level;
    }

    /**
     * Why {@code candidate} is not compatible with the {@code existing} versions (oldest first) under {@code level}:
     * empty when it is.
     */
    static List<String> problems(String level, SchemaType type, String candidate, List<String> existing) {
        if (level.equals("NONE") || existing.isEmpty()) {
            return List.of();
        }
        List<String> against = level.endsWith("_TRANSITIVE") ? existing : List.of(existing.get(existing.size() - 1));
        boolean backward = level.startsWith("BACKWARD") || level.startsWith("FULL");
        boolean forward = level.startsWith("FORWARD") || level.startsWith("FULL");
        List<String> problems = new ArrayList<>();
        for (String old : against) {
            if (backward) {
                problems.addAll(readable(type, candidate, old, "new schema reading data of an earlier version"));
            }
            if (forward) {
                problems.addAll(readable(type, old, candidate, "an earlier version reading data of the new schema"));
            }
        }
        return problems;
    }

    private static List<String> readable(SchemaType type, String reader, String writer, String direction) {
        if (type == SchemaType.AVRO) {
            Schema r = new Schema.Parser().parse(reader);
            Schema w = new Schema.Parser().parse(writer);
            SchemaCompatibility.SchemaPairCompatibility result = SchemaCompatibility.checkReaderWriterCompatibility(r, w);
            if (result.getType() == SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE) {
                return List.of();
            }
            List<String> out = new ArrayList<>();
            for (SchemaCompatibility.Incompatibility i : result.getResult().getIncompatibilities()) {
                out.add(direction + ": " + i.getType() + " at " + i.getLocation() + " (" + i.getMessage() + ")");
            }
            return out;
        }
        try {
            List<String> out = new ArrayList<>();
            json(SchemaStore.JSON.readTree(reader), SchemaStore.JSON.readTree(writer), "#", out);
            return out.stream().map(p -> direction + ": " + p).toList();
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            return List.of(direction + ": not JSON");
        }
    }

    private static void json(JsonNode reader, JsonNode writer, String at, List<String> out) {
        if (!reader.isObject() || !writer.isObject()) {
            if (reader.isBoolean() && reader.asBoolean() || reader.isObject() && reader.isEmpty()) {
                return; // the reader accepts anything
            }
            if (!reader.equals(writer)) {
                out.add(at + ": the schemas differ");
            }
            return;
        }
        Set<String> readerTypes = types(reader.get("type"));
        Set<String> writerTypes = types(writer.get("type"));
        if (!readerTypes.isEmpty() && (writerTypes.isEmpty() || !readerTypes.containsAll(writerTypes))) {
            out.add(at + ": type " + writerTypes + " is read as " + readerTypes);
        }
        Set<String> writerRequired = strings(writer.get("required"));
        for (String name : strings(reader.get("required"))) {
            if (!writerRequired.contains(name)) {
                out.add(at + ": property '" + name + "' is required now, but was not before");
            }
        }
        JsonNode readerProperties = reader.path("properties");
        JsonNode writerProperties = writer.path("properties");
        JsonNode additional = reader.get("additionalProperties");
        if (additional != null && additional.isBoolean() && !additional.asBoolean()) {
            for (Iterator<String> names = writerProperties.fieldNames(); names.hasNext();) {
                String name = names.next();
                if (!readerProperties.has(name)) {
                    out.add(at + ": property '" + name + "' is no longer allowed (additionalProperties: false)");
                }
            }
        }
        if (reader.has("enum") && writer.has("enum")) {
            Set<JsonNode> allowed = new HashSet<>();
            reader.get("enum").forEach(allowed::add);
            writer.get("enum").forEach(v -> {
                if (!allowed.contains(v)) {
                    out.add(at + ": enum value " + v + " is no longer allowed");
                }
            });
        }
        for (Iterator<Map.Entry<String, JsonNode>> fields = readerProperties.fields(); fields.hasNext();) {
            Map.Entry<String, JsonNode> field = fields.next();
            if (writerProperties.has(field.getKey())) {
                json(field.getValue(), writerProperties.get(field.getKey()), at + "/properties/" + field.getKey(), out);
            }
        }
        if (reader.has("items") && writer.has("items")) {
            json(reader.get("items"), writer.get("items"), at + "/items", out);
        }
    }

    private static Set<String> types(JsonNode type) {
        Set<String> out = new HashSet<>();
        if (type == null) {
            return out;
        }
        if (type.isArray()) {
            type.forEach(t -> out.add(t.asText()));
        } else {
            out.add(type.asText());
        }
        if (out.contains("number")) {
            out.add("integer"); // every integer is a number
        }
        return out;
    }

    private static Set<String> strings(JsonNode array) {
        Set<String> out = new HashSet<>();
        if (array != null && array.isArray()) {
            array.forEach(n -> out.add(n.asText()));
        }
        return out;
    }
}
