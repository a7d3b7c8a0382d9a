package org.cmm.eventbroker.cds;

import java.util.List;

/**
 * What the rules need of one record from an input topic, and where it came from (topic, partition, offset: the
 * alert ids and the replay guard are made of it).
 *
 * @param kind        which family of topics
 * @param subtype     the topic's last part: result class, order type, dispensing class or ADT trigger event
 * @param timestamp   the record's Kafka timestamp (epoch ms): the clock of the care-gap rules
 * @param observations the counted OBX of a result (empty otherwise)
 * @param medication  the drug of an order or dispense (null otherwise)
 */
public record ClinicalEvent(Kind kind, String subtype, String patientId, String topic, int partition, long offset,
                            long timestamp, List<Observation> observations, Medication medication) {

    public enum Kind { LAB_RESULT, MEDICATION_ORDER, DISPENSE, ADT }

    /** One OBX: its code (OBX-3.1) and abnormal flags (OBX-8, every repetition). */
    public record Observation(String code, List<String> flags) {
    }

    /**
     * @param orderId placer order number (ORC-2, FHIR identifier or id); the key of an active medication
     * @param active  true when the event starts or continues the medication, false when it ends it
     */
    public record Medication(String orderId, String code, String text, boolean active) {
    }

    /** topic-partition, the replay guard's key. */
    public String position() {
        return topic + "-" + partition;
    }

    /** topic-partition@offset: what an alert points back to. */
    public String reference() {
        return position() + "@" + offset;
    }
}
