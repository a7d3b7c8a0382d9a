package org.cmm.eventbroker.cds;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * What the rules remember of one patient: the value of the compacted topic cds.state under the patient's id. Only codes,
 * order ids, times and topic positions: no names, no result values.
 */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
public final class PatientState {

    private static final ObjectMapper JSON = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    /** An active medication, by order id. */
    public record ActiveMedication(String code, List<String> ingredients, String orderType, long since, String source) {
    }

    /** The last counted result of an observation code. */
    public record LastResult(String resultClass, long at, String source) {
    }

    /** A result that needs a follow-up result of the same code by {@code dueAt}. */
    public record FollowUp(String ruleId, String code, long indexAt, long dueAt, String source, boolean reported) {
    }

    /** order id -> medication */
    public Map<String, ActiveMedication> activeMedications = new TreeMap<>();
    /** observation code -> last result */
    public Map<String, LastResult> lastResults = new TreeMap<>();
    /** rule id + "|" + code -> pending follow-up */
    public Map<String, FollowUp> followUps = new TreeMap<>();
    /** topic-partition -> highest offset applied: an event at or below it is a replay and changes nothing */
    public Map<String, Long> applied = new TreeMap<>();

    public boolean isEmpty() {
        return activeMedications.isEmpty() && lastResults.isEmpty() && followUps.isEmpty() && applied.isEmpty();
    }

    public byte[] toJson() {
        try {
            return JSON.writeValueAsBytes(this);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static PatientState fromJson(byte[] json) throws IOException {
        PatientState state = JSON.readValue(json, PatientState.class);
        state.activeMedications = new TreeMap<>(state.activeMedications);
        state.lastResults = new TreeMap<>(state.lastResults);
        state.followUps = new TreeMap<>(state.followUps);
        state.applied = new TreeMap<>(state.applied);
        return state;
    }

    /** A deep copy: the engine works on a copy and the store keeps the old state until the new one is on Kafka. */
    public PatientState copy() {
        try {
            return fromJson(toJson());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
