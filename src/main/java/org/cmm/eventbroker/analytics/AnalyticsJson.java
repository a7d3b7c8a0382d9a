package org.cmm.eventbroker.analytics;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** The JSON of the state stores and of the published metric events (one mapper for the whole package). */
final class AnalyticsJson {

    static final ObjectMapper MAPPER = new ObjectMapper();
    private static final TypeReference<List<AdtEvent>> EVENTS = new TypeReference<>() { };

    private AnalyticsJson() {
    }

    static String timeline(PatientTimeline timeline) {
        try {
            return MAPPER.writeValueAsString(timeline.events());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static PatientTimeline timeline(String json) {
        if (json == null) {
            return new PatientTimeline(List.of());
        }
        try {
            return new PatientTimeline(MAPPER.readValue(json, EVENTS));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static ObjectNode object(String json) {
        if (json == null) {
            return MAPPER.createObjectNode();
        }
        try {
            JsonNode node = MAPPER.readTree(json);
            return (ObjectNode) node;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String text(JsonNode node) {
        try {
            return MAPPER.writeValueAsString(node);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
