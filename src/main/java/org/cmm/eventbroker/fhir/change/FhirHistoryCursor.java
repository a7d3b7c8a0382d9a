package org.cmm.eventbroker.fhir.change;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Where the history connector stands on one FHIR server's {@code _history}: the latest {@code lastUpdated} it passed,
 * and the versions ({@code ce_id}s) it published in the overlap window just before it, so a poll from
 * {@code latest - overlap} (which also catches versions committed late with an earlier time) skips what was already
 * published. Serialised as JSON on the compacted cursor topic, keyed by the server base URL.
 */
final class FhirHistoryCursor {

    private long latestMs = Long.MIN_VALUE;
    /** ce_id -> lastUpdated (epoch ms) of the versions published at or after latestMs - overlap. */
    private final Map<String, Long> published = new LinkedHashMap<>();

    /** The {@code _since} of the next poll, or null to read the whole history. */
    Long sinceMs(long overlapMs) {
        return latestMs == Long.MIN_VALUE ? null : latestMs - overlapMs;
    }

    boolean isPublished(String eventId) {
        return published.containsKey(eventId);
    }

    /**
     * Records a version Kafka acknowledged; {@code lastUpdatedMs} null when the server gave none (kept at the current
     * position, it never moves the cursor).
     */
    void passed(String eventId, Long lastUpdatedMs, long overlapMs) {
        if (lastUpdatedMs == null) {
            published.put(eventId, latestMs);
            return;
        }
        published.put(eventId, lastUpdatedMs);
        if (lastUpdatedMs > latestMs) {
            latestMs = lastUpdatedMs;
            published.values().removeIf(at -> at < latestMs - overlapMs);
        }
    }

    boolean isEmpty() {
        return latestMs == Long.MIN_VALUE;
    }

    byte[] toJson() {
        ObjectNode node = FhirChangeReader.JSON.createObjectNode();
        node.put("latestMs", latestMs);
        ObjectNode versions = node.putObject("published");
        published.forEach(versions::put);
        return node.toString().getBytes(StandardCharsets.UTF_8);
    }

    static FhirHistoryCursor fromJson(byte[] json) {
        FhirHistoryCursor cursor = new FhirHistoryCursor();
        if (json == null) {
            return cursor;
        }
        try {
            JsonNode node = FhirChangeReader.JSON.readTree(json);
            cursor.latestMs = node.path("latestMs").asLong(Long.MIN_VALUE);
            node.path("published").fields().forEachRemaining(e -> cursor.published.put(e.getKey(), e.getValue().asLong()));
        } catch (java.io.IOException e) {
            throw new IllegalStateException("the history cursor on Kafka is not readable JSON", e);
        }
        return cursor;
    }

    @Override
    public String toString() {
        return latestMs == Long.MIN_VALUE ? "start of history"
                : java.time.Instant.ofEpochMilli(latestMs) + " (" + published.size() + " versions in the overlap)";
    }
}
