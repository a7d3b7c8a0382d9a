package org.cmm.eventbroker.cds;

import java.io.IOException;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.cmm.eventbroker.platform.delivery.DeliveryRejectedException;
import org.cmm.eventbroker.hl7.Er7Message;
import org.cmm.eventbroker.platform.mllp.Er7Segment;
import org.cmm.eventbroker.hl7.Hl7RejectedException;

/**
 * Turns a record of lab.results.*, pharmacy.orders.*, pharmacy.dispensing.* or hl7.adt.* into a {@link ClinicalEvent}.
 * What cannot be read is rejected with a reason that names the field, never its content (it goes to cds.dlq).
 */
public final class ClinicalEventReader {

    /** ORC-1 order controls (HL7 table 0119) that end a medication: discontinue, cancel, and their confirmations. */
    static final Set<String> ENDING_ORDER_CONTROLS = Set.of("DC", "CA", "OD", "OC", "DR", "CR");
    /** FHIR MedicationRequest.status values that mean the medication is no longer taken. */
    static final Set<String> ENDED_STATUSES = Set.of("stopped", "cancelled", "completed", "entered-in-error");
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * The topic families the reader tells apart, as configured (cmm.hl7.topic-prefix, cmm.lab.results.topic-prefix,
     * cmm.pharmacy.orders.topic-prefix, cmm.pharmacy.dispensing.topic-prefix): the reader holds no topic name itself.
     */
    public record TopicPrefixes(String hl7, String labResults, String pharmacyOrders, String pharmacyDispensing) {

        public TopicPrefixes {
            for (String p : new String[] {hl7, labResults, pharmacyOrders, pharmacyDispensing}) {
                if (p == null || p.isBlank()) {
                    throw new IllegalArgumentException("every topic prefix of the CDS inputs must be set "
                            + "(cmm.hl7.topic-prefix, cmm.lab.results.topic-prefix, cmm.pharmacy.orders.topic-prefix, "
                            + "cmm.pharmacy.dispensing.topic-prefix)");
                }
            }
        }

        /** The last part of {@code topic} when it is {@code <prefix>.<one more part>}, else null. */
        static String subtypeOf(String topic, String prefix) {
            if (!topic.startsWith(prefix + ".")) {
                return null;
            }
            String rest = topic.substring(prefix.length() + 1);
            return rest.isEmpty() || rest.contains(".") ? null : rest;
        }
    }

    private final TopicPrefixes topics;
    private final String hl7TopicPrefix;
    private final Set<String> ignoredStatuses;

    /**
     * @param topics          the topic families of the inputs (hl7: hl7.adt.a03, lab results: lab.results.critical)
     * @param ignoredStatuses OBX-11 statuses whose OBX do not count (as in the result classification)
     */
    public ClinicalEventReader(TopicPrefixes topics, Set<String> ignoredStatuses) {
        this.topics = topics;
        this.hl7TopicPrefix = topics.hl7();
        this.ignoredStatuses = ignoredStatuses;
    }

    public ClinicalEvent read(String topic, int partition, long offset, long timestamp, String key, byte[] body,
                              String charsetName) throws DeliveryRejectedException {
        if (topic == null) {
            throw new DeliveryRejectedException("record without a topic");
        }
        if (body == null || body.length == 0) {
            throw new DeliveryRejectedException("empty record on " + topic);
        }
        String[] parts = topic.split("\\.");
        String subtype = parts[parts.length - 1];
        if (TopicPrefixes.subtypeOf(topic, topics.labResults()) != null) {
            Er7Message m = hl7(body, charsetName, "ORU^R01", topic);
            return new ClinicalEvent(ClinicalEvent.Kind.LAB_RESULT, subtype, patient(key, m, topic), topic, partition,
                    offset, timestamp, observations(m), null);
        }
        if (TopicPrefixes.subtypeOf(topic, topics.pharmacyOrders()) != null) {
            if (firstNonBlank(body) == '{') {
                return fhirOrder(topic, partition, offset, timestamp, key, body, subtype);
            }
            Er7Message m = hl7(body, charsetName, "RDE^O11", topic);
            return new ClinicalEvent(ClinicalEvent.Kind.MEDICATION_ORDER, subtype, patient(key, m, topic), topic,
                    partition, offset, timestamp, List.of(), medication(m, "RXE", 2, topic, subtype));
        }
        if (TopicPrefixes.subtypeOf(topic, topics.pharmacyDispensing()) != null) {
            Er7Message m = hl7(body, charsetName, "RDS^O13", topic);
            ClinicalEvent.Medication dispensed = medication(m, "RXD", 2, topic, subtype);
            return new ClinicalEvent(ClinicalEvent.Kind.DISPENSE, subtype, patient(key, m, topic), topic, partition,
                    offset, timestamp, List.of(), dispensed);
        }
        if (topic.startsWith(hl7TopicPrefix + ".adt.") && parts.length == hl7TopicPrefix.split("\\.").length + 2) {
            Er7Message m = hl7(body, charsetName, null, topic);
            if (!m.messageType().startsWith("ADT^")) {
                throw new DeliveryRejectedException("expected an ADT message on " + topic);
            }
            return new ClinicalEvent(ClinicalEvent.Kind.ADT, subtype, patient(key, m, topic), topic, partition, offset,
                    timestamp, List.of(), null);
        }
        throw new DeliveryRejectedException("topic " + topic + " is not a clinical event topic the CDS rules know");
    }

    private static int firstNonBlank(byte[] body) {
        for (byte b : body) {
            if (!Character.isWhitespace(b)) {
                return b;
            }
        }
        return -1;
    }

    private static Er7Message hl7(byte[] body, String charsetName, String expectedType, String topic)
            throws DeliveryRejectedException {
        Charset charset = StandardCharsets.ISO_8859_1;
        try {
            if (charsetName != null && !charsetName.isBlank()) {
                charset = Charset.forName(charsetName);
            }
        } catch (RuntimeException e) {
            // the hl7_charset header is ours; if it is unusable, ISO-8859-1 still reads every field the rules use
        }
        try {
            Er7Message m = Er7Message.parse(new String(body, charset));
            if (expectedType != null) {
                m.requireType(expectedType);
            }
            return m;
        } catch (Hl7RejectedException e) {
            throw new DeliveryRejectedException("unreadable record on " + topic + ": " + e.getMessage());
        }
    }

    private static String patient(String key, Er7Message m, String topic) throws DeliveryRejectedException {
        if (key != null && !key.isBlank()) {
            return key;
        }
        List<Er7Segment> pid = m.segments("PID");
        String id = pid.isEmpty() ? "" : pid.get(0).component(3, 1).trim();
        if (id.isEmpty()) {
            throw new DeliveryRejectedException("no patient on " + topic + ": no record key and no PID-3");
        }
        return id;
    }

    private List<ClinicalEvent.Observation> observations(Er7Message m) {
        List<ClinicalEvent.Observation> found = new ArrayList<>();
        for (Er7Segment obx : m.segments("OBX")) {
            String status = obx.field(11).trim().toUpperCase(Locale.ROOT);
            String code = obx.component(3, 1).trim();
            if (code.isEmpty() || ignoredStatuses.contains(status)) {
                continue;
            }
            List<String> flags = new ArrayList<>();
            for (String f : obx.components(8, 1)) {
                if (!f.isBlank()) {
                    flags.add(f.trim().toUpperCase(Locale.ROOT));
                }
            }
            found.add(new ClinicalEvent.Observation(code, flags));
        }
        return found;
    }

    private static ClinicalEvent.Medication medication(Er7Message m, String segment, int field, String topic, String subtype)
            throws DeliveryRejectedException {
        List<Er7Segment> drug = m.segments(segment);
        if (drug.isEmpty() && "RXD".equals(segment)) {
            drug = m.segments("RXE");
            field = 2;
        }
        if (drug.isEmpty()) {
            throw new DeliveryRejectedException("no " + segment + " segment (the drug) on " + topic);
        }
        String code = drug.get(0).component(field, 1).trim();
        String text = drug.get(0).component(field, 2).trim();
        if (code.isEmpty() && text.isEmpty()) {
            throw new DeliveryRejectedException(segment + "-" + field + " (the drug) is empty on " + topic);
        }
        List<Er7Segment> orc = m.segments("ORC");
        String control = orc.isEmpty() ? "" : orc.get(0).field(1).trim().toUpperCase(Locale.ROOT);
        String orderId = orc.isEmpty() ? "" : orc.get(0).component(2, 1).trim();
        if (orderId.isEmpty()) {
            orderId = "code:" + code;
        }
        boolean active = "RXD".equals(segment) ? !"return".equals(subtype)
                : !ENDING_ORDER_CONTROLS.contains(control);
        return new ClinicalEvent.Medication(orderId, code, text, active);
    }

    private static ClinicalEvent fhirOrder(String topic, int partition, long offset, long timestamp, String key,
                                           byte[] body, String subtype) throws DeliveryRejectedException {
        JsonNode resource;
        try {
            resource = JSON.readTree(body);
        } catch (IOException e) {
            throw new DeliveryRejectedException("malformed JSON on " + topic);
        }
        if (!"MedicationRequest".equals(resource.path("resourceType").asText())) {
            throw new DeliveryRejectedException("expected a FHIR MedicationRequest on " + topic);
        }
        JsonNode concept = resource.path("medicationCodeableConcept");
        if (concept.isMissingNode()) {
            String ref = resource.path("medicationReference").path("reference").asText("");
            for (JsonNode contained : resource.path("contained")) {
                if (ref.equals("#" + contained.path("id").asText())) {
                    concept = contained.path("code");
                }
            }
        }
        JsonNode coding = concept.path("coding").path(0);
        String code = coding.path("code").asText("").trim();
        String text = concept.path("text").asText(coding.path("display").asText("")).trim();
        if (code.isEmpty() && text.isEmpty()) {
            throw new DeliveryRejectedException("MedicationRequest without a coded or named medication on " + topic);
        }
        String orderId = resource.path("identifier").path(0).path("value").asText(resource.path("id").asText("")).trim();
        if (orderId.isEmpty()) {
            orderId = "code:" + code;
        }
        if (key == null || key.isBlank()) {
            throw new DeliveryRejectedException("no patient on " + topic + ": MedicationRequest record without a key");
        }
        boolean active = !ENDED_STATUSES.contains(resource.path("status").asText(""));
        return new ClinicalEvent(ClinicalEvent.Kind.MEDICATION_ORDER, subtype, key, topic, partition, offset, timestamp,
                List.of(), new ClinicalEvent.Medication(orderId, code, text, active));
    }
}
