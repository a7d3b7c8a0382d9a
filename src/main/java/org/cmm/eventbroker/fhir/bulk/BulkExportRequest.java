package org.cmm.eventbroker.fhir.bulk;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.cmm.eventbroker.fhir.FhirR4;

/**
 * One bulk export request as the HL7 FHIR Bulk Data Access IG 2.0.0 (STU 2) defines its kick-off: the level (system,
 * Patient or Group/[id]), {@code _type}, {@code _since}, {@code _typeFilter} and {@code _outputFormat}, validated:
 * an unknown or unexported resource type, a {@code _since} that is not a FHIR instant, an output format other than
 * NDJSON, a {@code _typeFilter} that is not {@code Type?query} and a parameter the exporter does not support are
 * refused (400) before a job exists.
 */
record BulkExportRequest(String level, String groupId, List<String> types, Instant since,
                         Map<String, List<String>> typeFilters, String requestUrl) {

    static final String SYSTEM = "system";
    static final String PATIENT = "patient";
    static final String GROUP = "group";

    private static final Set<String> NDJSON = Set.of("application/fhir+ndjson", "application/ndjson", "ndjson");
    private static final Set<String> KNOWN_PARAMETERS = Set.of("_type", "_since", "_typeFilter", "_outputFormat");

    /**
     * Validates the kick-off parameters (each name to its values, query or Parameters resource alike).
     *
     * @param exportable the resource types this exporter exports; also the types of a request without {@code _type}
     */
    static BulkExportRequest of(String level, String groupId, Map<String, List<String>> parameters,
            List<String> exportable, String requestUrl) throws BulkRequestRejectedException {
        for (String name : parameters.keySet()) {
            if (!KNOWN_PARAMETERS.contains(name)) {
                throw new BulkRequestRejectedException(400, "Parameter " + name + " is not supported by this server"
                        + " (supported: _type, _since, _typeFilter, _outputFormat)");
            }
        }
        for (String format : values(parameters, "_outputFormat")) {
            if (!NDJSON.contains(format.trim())) {
                throw new BulkRequestRejectedException(400, "_outputFormat " + format
                        + " is not supported: application/fhir+ndjson only");
            }
        }
        List<String> types = new ArrayList<>();
        Set<String> known = FhirR4.context().getResourceTypes();
        for (String value : values(parameters, "_type")) {
            for (String type : value.split(",")) {
                String t = type.trim();
                if (t.isEmpty()) {
                    continue;
                }
                if (!known.contains(t)) {
                    throw new BulkRequestRejectedException(400, "_type " + t + " is not a FHIR R4 resource type");
                }
                if (!exportable.contains(t)) {
                    throw new BulkRequestRejectedException(400, "_type " + t + " is not exported by this server"
                            + " (exported: " + String.join(",", exportable) + ")");
                }
                if (!types.contains(t)) {
                    types.add(t);
                }
            }
        }
        if (types.isEmpty()) {
            types.addAll(exportable);
        }
        Instant since = null;
        List<String> sinces = values(parameters, "_since");
        if (sinces.size() > 1) {
            throw new BulkRequestRejectedException(400, "_since given more than once");
        }
        if (!sinces.isEmpty()) {
            try {
                since = OffsetDateTime.parse(sinces.get(0).trim()).toInstant();
            } catch (DateTimeParseException e) {
                throw new BulkRequestRejectedException(400, "_since " + sinces.get(0)
                        + " is not a FHIR instant (e.g. 2026-12-01T00:00:00Z)");
            }
        }
        Map<String, List<String>> typeFilters = new LinkedHashMap<>();
        for (String value : values(parameters, "_typeFilter")) {
            for (String filter : splitFilters(value)) {
                int q = filter.indexOf('?');
                String type = q < 0 ? "" : filter.substring(0, q);
                if (q <= 0 || q == filter.length() - 1 || !known.contains(type)) {
                    throw new BulkRequestRejectedException(400, "_typeFilter " + filter
                            + " is not [ResourceType]?[query] with a FHIR R4 resource type");
                }
                if (!types.contains(type)) {
                    throw new BulkRequestRejectedException(400, "_typeFilter " + filter + " names " + type
                            + ", which is not among the exported types");
                }
                typeFilters.computeIfAbsent(type, t -> new ArrayList<>()).add(filter.substring(q + 1));
            }
        }
        return new BulkExportRequest(level, groupId, List.copyOf(types), since, typeFilters, requestUrl);
    }

    /** A comma-separated _typeFilter value; commas inside a query's values are escaped as %2C, so a split is safe. */
    private static List<String> splitFilters(String value) {
        List<String> filters = new ArrayList<>();
        for (String part : value.split(",")) {
            if (!part.isBlank()) {
                filters.add(part.trim());
            }
        }
        return filters;
    }

    private static List<String> values(Map<String, List<String>> parameters, String name) {
        List<String> values = parameters.get(name);
        return values == null ? List.of() : values;
    }

    /** The parameters of a kick-off POST body (a FHIR Parameters resource), each name to its values. */
    static Map<String, List<String>> parametersOf(JsonNode body) throws BulkRequestRejectedException {
        if (!"Parameters".equals(body.path("resourceType").asText())) {
            throw new BulkRequestRejectedException(400, "The kick-off body is not a FHIR Parameters resource");
        }
        Map<String, List<String>> parameters = new LinkedHashMap<>();
        for (JsonNode parameter : body.path("parameter")) {
            String name = parameter.path("name").asText();
            String value = null;
            for (var field : (Iterable<Map.Entry<String, JsonNode>>) parameter::fields) {
                if (field.getKey().startsWith("value")) {
                    value = field.getValue().asText();
                }
            }
            if (name.isEmpty() || value == null) {
                throw new BulkRequestRejectedException(400, "Parameter " + name + " has no value");
            }
            parameters.computeIfAbsent(name, n -> new ArrayList<>()).add(value);
        }
        return parameters;
    }

    ObjectNode toJson() {
        ObjectNode json = JsonNodeFactory.instance.objectNode();
        json.put("level", level);
        if (groupId != null) {
            json.put("groupId", groupId);
        }
        types.forEach(json.putArray("types")::add);
        if (since != null) {
            json.put("since", since.toString());
        }
        ObjectNode filters = json.putObject("typeFilters");
        typeFilters.forEach((type, queries) -> queries.forEach(filters.withArray(type)::add));
        json.put("requestUrl", requestUrl);
        return json;
    }

    static BulkExportRequest fromJson(JsonNode json) {
        List<String> types = new ArrayList<>();
        json.path("types").forEach(t -> types.add(t.asText()));
        Map<String, List<String>> filters = new LinkedHashMap<>();
        json.path("typeFilters").fields().forEachRemaining(e -> {
            List<String> queries = new ArrayList<>();
            e.getValue().forEach(q -> queries.add(q.asText()));
            filters.put(e.getKey(), queries);
        });
        return new BulkExportRequest(json.path("level").asText(), json.hasNonNull("groupId")
                ? json.get("groupId").asText() : null, types, json.hasNonNull("since")
                ? Instant.parse(json.get("since").asText()) : null, filters, json.path("requestUrl").asText());
    }

    /** Kick-off levels as the request path names them. */
    static Set<String> levels() {
        return new LinkedHashSet<>(List.of(SYSTEM, PATIENT, GROUP));
    }
}
