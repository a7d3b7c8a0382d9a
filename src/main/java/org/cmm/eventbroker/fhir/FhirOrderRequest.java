package org.cmm.eventbroker.fhir;

import java.io.IOException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

import ca.uhn.hl7v2.model.v251.segment.MSH;
import ca.uhn.hl7v2.model.v251.segment.NTE;
import ca.uhn.hl7v2.model.v251.segment.ORC;
import ca.uhn.hl7v2.model.v251.segment.PID;
import ca.uhn.hl7v2.model.v251.segment.PV1;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.cmm.eventbroker.platform.delivery.DeliveryRejectedException;

/**
 * A FHIR R4 request resource (ServiceRequest, MedicationRequest) that is going to a v2 peer as an order: what the
 * two share (status, intent, subject, encounter, identifier, authoredOn, requester, priority, note), checked once
 * and written into the MSH, PID, PV1, ORC and NTE segments the same way for the lab and the pharmacy.
 *
 * <p>Every check that fails rejects the record with a reason that names the FHIR element, never its value, except
 * codes from FHIR's own value sets (a status, an intent, a resource type), which are quoted when they look like codes.
 */
public final class FhirOrderRequest {

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);

    /** ServiceRequest status to ORC-1 order control (HL7 table 0119). */
    private static final Map<String, String> ORDER_CONTROL = Map.of(
            "active", "NW", "on-hold", "HD", "revoked", "CA", "entered-in-error", "CA");
    private static final String ACCEPTED_STATUSES = "active, on-hold, revoked, entered-in-error";
    /** MedicationRequest status to ORC-1: its value set says cancelled where ServiceRequest says revoked. */
    private static final Map<String, String> MEDICATION_ORDER_CONTROL = Map.of(
            "active", "NW", "on-hold", "HD", "cancelled", "CA", "entered-in-error", "CA");
    private static final String ACCEPTED_MEDICATION_STATUSES = "active, on-hold, cancelled, entered-in-error";
    private static final Set<String> ORDER_INTENTS = Set.of("order", "original-order", "reflex-order", "instance-order");
    private static final String ACCEPTED_INTENTS = "order, original-order, reflex-order, instance-order";
    /** FHIR request priority to HL7 table 0485 (TQ1-9) / 0027 (TQ-6): v2 has no "urgent", ASAP is the nearest. */
    private static final Map<String, String> PRIORITY = Map.of("stat", "S", "asap", "A", "urgent", "A", "routine", "R");
    private static final Map<String, String> PRIORITY_TEXT = Map.of("S", "Stat", "A", "ASAP", "R", "Routine");
    private static final Map<String, String> GENDER = Map.of("male", "M", "female", "F", "other", "O", "unknown", "U");
    /** v3 ActCode encounter class to PV1-2 patient class (HL7 table 0004). */
    private static final Map<String, String> ENCOUNTER_CLASS = Map.of(
            "IMP", "I", "ACUTE", "I", "NONAC", "I", "AMB", "O", "EMER", "E", "PRENC", "P", "OBSENC", "O",
            "SS", "O", "HH", "O", "VR", "O");
    private static final Pattern CODE_LIKE = Pattern.compile("[A-Za-z0-9._-]{1,40}");

    private final JsonNode resource;
    private final String type;
    private final byte[] content;
    private final String orderControl;
    private final FieldWriter fields;

    private FhirOrderRequest(JsonNode resource, String type, byte[] content, String orderControl) {
        this.resource = resource;
        this.type = type;
        this.content = content;
        this.orderControl = orderControl;
        this.fields = new FieldWriter(type);
    }

    /**
     * Reads the record and checks what every order needs: a JSON object of the expected resourceType, a status that
     * maps to an order control, an order intent, a subject that identifies a patient and a placer order number.
     *
     * @param json         the record value
     * @param expectedType ServiceRequest or MedicationRequest
     */
    public static FhirOrderRequest read(byte[] json, String expectedType) throws DeliveryRejectedException {
        if (json == null || json.length == 0) {
            throw new DeliveryRejectedException("record value is empty");
        }
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            // Jackson's message quotes the offending text: give the position only
            JsonLocation at = e.getLocation();
            throw new DeliveryRejectedException("record value is not well-formed JSON"
                    + (at != null ? " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")" : ""));
        } catch (IOException e) {
            throw new DeliveryRejectedException("record value is not well-formed JSON");
        }
        if (root == null || !root.isObject()) {
            throw new DeliveryRejectedException("record value is JSON but not a FHIR resource (not a JSON object)");
        }
        String resourceType = text(root, "resourceType");
        if (resourceType == null) {
            throw new DeliveryRejectedException("JSON record has no resourceType: not a FHIR resource");
        }
        if (!expectedType.equals(resourceType)) {
            throw new DeliveryRejectedException("FHIR resource is a " + quoted(resourceType) + ", not a " + expectedType);
        }
        String status = text(root, "status");
        if (status == null) {
            throw new DeliveryRejectedException("FHIR " + expectedType + " lacks status");
        }
        boolean medication = "MedicationRequest".equals(expectedType);
        String control = (medication ? MEDICATION_ORDER_CONTROL : ORDER_CONTROL).get(status);
        if (control == null) {
            throw new DeliveryRejectedException("FHIR " + expectedType + " status " + quoted(status)
                    + " cannot be sent as an order (accepted: "
                    + (medication ? ACCEPTED_MEDICATION_STATUSES : ACCEPTED_STATUSES) + ")");
        }
        String intent = text(root, "intent");
        if (intent == null) {
            throw new DeliveryRejectedException("FHIR " + expectedType + " lacks intent");
        }
        if (!ORDER_INTENTS.contains(intent)) {
            throw new DeliveryRejectedException("FHIR " + expectedType + " intent " + quoted(intent)
                    + " is not an order (accepted: " + ACCEPTED_INTENTS + ")");
        }
        FhirOrderRequest request = new FhirOrderRequest(root, expectedType, json, control);
        request.checkSubject();
        if (request.placerOrderNumber() == null) {
            throw request.rejection("has neither identifier[0].value nor id (needed for the placer order number, ORC-2)");
        }
        return request;
    }

    private void checkSubject() throws DeliveryRejectedException {
        JsonNode subject = resource.path("subject");
        String reference = text(subject, "reference");
        String identifier = text(subject.path("identifier"), "value");
        if (reference == null && identifier == null) {
            throw rejection("lacks subject (the patient)");
        }
        if (reference != null && reference.startsWith("#")) {
            JsonNode patient = contained(reference);
            if (patient == null) {
                throw rejection("subject refers to a contained resource that is not there");
            }
            if (!"Patient".equals(text(patient, "resourceType"))) {
                throw rejection("subject is not a Patient");
            }
        } else if (reference != null && referenceId(reference, "Patient") == null) {
            throw rejection("subject is not a Patient reference");
        }
        if (patientIdentifiers().isEmpty()) {
            throw rejection("subject has no patient identifier (needed for PID-3)");
        }
    }

    /** The resource as Jackson read it. */
    public JsonNode resource() {
        return resource;
    }

    /** The writer whose rejections name this resource type. */
    public FieldWriter fields() {
        return fields;
    }

    /** A rejection of this record: "FHIR &lt;type&gt; &lt;problem&gt;". The problem must not quote patient data. */
    public DeliveryRejectedException rejection(String problem) {
        return new DeliveryRejectedException("FHIR " + type + " " + problem);
    }

    /** MSH-10: {@link ContentControlId} of the record's bytes. */
    public String controlId() {
        return ContentControlId.of(content);
    }

    /** ORC-1 from status: NW, HD or CA. */
    public String orderControl() {
        return orderControl;
    }

    /** ORC-2/OBR-2: identifier[0].value, else the resource id; null when there is neither. */
    public String placerOrderNumber() {
        String identifier = text(resource.path("identifier").path(0), "value");
        return identifier != null ? identifier : text(resource, "id");
    }

    /** HL7 priority code (S, A, R) from priority; null when there is none. */
    public String priorityCode() throws DeliveryRejectedException {
        String priority = text(resource, "priority");
        if (priority == null) {
            return null;
        }
        String code = PRIORITY.get(priority);
        if (code == null) {
            throw rejection("priority " + quoted(priority) + " is not a FHIR request priority");
        }
        return code;
    }

    /** The text of an HL7 priority code, for the CWE of TQ1-9. */
    public static String priorityText(String code) {
        return PRIORITY_TEXT.get(code);
    }

    /**
     * A date/dateTime element of the resource as HL7 DTM; null when absent.
     *
     * @param path element names from the resource root, e.g. "meta", "lastUpdated"
     */
    public String dateTime(String... path) throws DeliveryRejectedException {
        JsonNode node = resource;
        for (String name : path) {
            node = node.path(name);
        }
        return dateTime(node, String.join(".", path));
    }

    /** A date/dateTime node as HL7 DTM; null when absent; rejects the record, naming the element, when invalid. */
    public String dateTime(JsonNode node, String elementName) throws DeliveryRejectedException {
        if (node == null || node.isMissingNode() || node.isNull()) {
            return null;
        }
        String dtm = node.isTextual() ? FhirDateTime.toHl7(node.asText()) : null;
        if (dtm == null) {
            throw rejection(elementName + " is not a FHIR date/dateTime");
        }
        return dtm;
    }

    /** The contained resource a "#id" reference points at; null when there is none. */
    public JsonNode contained(String reference) {
        if (reference == null || !reference.startsWith("#")) {
            return null;
        }
        String id = reference.substring(1);
        for (JsonNode c : resource.path("contained")) {
            if (id.equals(text(c, "id"))) {
                return c;
            }
        }
        return null;
    }

    /** The first coding of a CodeableConcept that has a code; null when none has. */
    public static JsonNode codedCoding(JsonNode codeableConcept) {
        for (JsonNode coding : codeableConcept.path("coding")) {
            if (text(coding, "code") != null) {
                return coding;
            }
        }
        return null;
    }

    /**
     * MSH: delimiters, the addressing, MSH-7 from meta.lastUpdated, else authoredOn, else now (so the same resource
     * gives the same message), MSH-9, MSH-10, MSH-11, MSH-12 2.5.1 and MSH-18 UNICODE UTF-8.
     */
    public void writeHeader(MSH msh, OrderAddressing addressing, String messageCode, String triggerEvent,
                            String structure, Clock clock) throws DeliveryRejectedException {
        String time = dateTime("meta", "lastUpdated");
        if (time == null) {
            time = dateTime("authoredOn");
        }
        fields.set(msh, 1, "|");
        fields.set(msh, 2, "^~\\&");
        fields.set(msh, 3, addressing.sendingApplication());
        fields.set(msh, 4, addressing.sendingFacility());
        fields.set(msh, 5, addressing.receivingApplication());
        fields.set(msh, 6, addressing.receivingFacility());
        fields.set(msh, 7, time != null ? time : FhirDateTime.now(clock));
        fields.set(msh, 9, 1, messageCode);
        fields.set(msh, 9, 2, triggerEvent);
        fields.set(msh, 9, 3, structure);
        fields.set(msh, 10, controlId());
        fields.set(msh, 11, addressing.processingId());
        fields.set(msh, 12, "2.5.1");
        fields.set(msh, 18, "UNICODE UTF-8");
    }

    /**
     * PID: PID-3 the patient identifiers (subject.identifier, then the contained Patient's identifiers, else the
     * id of a Patient/&lt;id&gt; reference), PID-5/7/8 name, birth date and gender of a contained Patient.
     */
    public void writePatient(PID pid) throws DeliveryRejectedException {
        fields.set(pid, 1, "1");
        int rep = 0;
        for (String[] cx : patientIdentifiers()) {
            fields.set(pid, 3, rep, 1, 1, cx[0]);
            fields.set(pid, 3, rep, 4, 1, cx[1]);
            fields.set(pid, 3, rep, 5, 1, cx[2]);
            rep++;
        }
        JsonNode patient = contained(text(resource.path("subject"), "reference"));
        if (patient == null) {
            return;
        }
        JsonNode name = preferredName(patient.path("name"));
        if (name != null) {
            fields.set(pid, 5, 0, 1, 1, text(name, "family"));
            List<String> given = texts(name.path("given"));
            if (!given.isEmpty()) {
                fields.set(pid, 5, 0, 2, 1, given.get(0));
                fields.set(pid, 5, 0, 3, 1, String.join(" ", given.subList(1, given.size())));
            }
            fields.set(pid, 5, 0, 4, 1, text(name.path("suffix"), 0));
            fields.set(pid, 5, 0, 5, 1, text(name.path("prefix"), 0));
            if ("official".equals(text(name, "use"))) {
                fields.set(pid, 5, 0, 7, 1, "L");
            }
        }
        String birthDate = text(patient, "birthDate");
        if (birthDate != null) {
            String dtm = FhirDateTime.toHl7(birthDate);
            if (dtm == null) {
                throw rejection("contained Patient birthDate is not a FHIR date");
            }
            fields.set(pid, 7, dtm);
        }
        String gender = text(patient, "gender");
        if (gender != null) {
            String code = GENDER.get(gender);
            if (code == null) {
                throw rejection("contained Patient gender is not a FHIR administrative gender");
            }
            fields.set(pid, 8, code);
        }
    }

    /**
     * PV1: PV1-1 "1", PV1-2 the given patient class, else the class of a contained Encounter, else U (unknown),
     * PV1-19 the visit number from the encounter (its reference id, or a contained Encounter's identifier).
     */
    public void writeVisit(PV1 pv1, String patientClass) throws DeliveryRejectedException {
        String reference = text(resource.path("encounter"), "reference");
        JsonNode encounter = contained(reference);
        String visit = encounter != null ? text(encounter.path("identifier").path(0), "value")
                : reference != null ? referenceId(reference, "Encounter")
                : text(resource.path("encounter").path("identifier"), "value");
        String encounterClass = encounter != null ? ENCOUNTER_CLASS.get(text(encounter.path("class"), "code")) : null;
        fields.set(pv1, 1, "1");
        fields.set(pv1, 2, patientClass != null ? patientClass : encounterClass != null ? encounterClass : "U");
        fields.set(pv1, 19, visit);
    }

    /** ORC: ORC-1 from status, ORC-2 placer order number, ORC-9 authoredOn, ORC-12 requester. */
    public void writeOrderControl(ORC orc) throws DeliveryRejectedException {
        fields.set(orc, 1, orderControl);
        fields.set(orc, 2, placerOrderNumber());
        fields.set(orc, 9, dateTime("authoredOn"));
        writeRequester(orc, 12);
    }

    /**
     * An XCN field from requester: XCN-1 its identifier (or the id of its reference), XCN-2 the display, or the
     * family and given name of a contained Practitioner.
     */
    public void writeRequester(ca.uhn.hl7v2.model.Segment segment, int field) throws DeliveryRejectedException {
        JsonNode requester = resource.path("requester");
        String reference = text(requester, "reference");
        JsonNode practitioner = contained(reference);
        String id = text(requester.path("identifier"), "value");
        if (id == null && practitioner != null) {
            id = text(practitioner.path("identifier").path(0), "value");
        }
        if (id == null && reference != null && !reference.startsWith("#")) {
            id = lastPathId(reference);
        }
        fields.set(segment, field, 0, 1, 1, id);
        JsonNode name = practitioner != null ? preferredName(practitioner.path("name")) : null;
        if (name != null) {
            fields.set(segment, field, 0, 2, 1, text(name, "family"));
            fields.set(segment, field, 0, 3, 1, text(name.path("given"), 0));
        } else {
            fields.set(segment, field, 0, 2, 1, text(requester, "display"));
        }
    }

    /** NTE segments from note[].text: NTE-1 set id, NTE-2 P (placer), NTE-3 one repetition per line of the note. */
    public int writeNotes(NteSlot slots) throws DeliveryRejectedException {
        int n = 0;
        for (JsonNode note : resource.path("note")) {
            String noteText = text(note, "text");
            if (noteText == null) {
                continue;
            }
            NTE nte = slots.nte(n);
            n++;
            fields.set(nte, 1, String.valueOf(n));
            fields.set(nte, 2, "P");
            int rep = 0;
            for (String line : noteText.split("\\r\\n|\\r|\\n")) {
                if (!line.isBlank()) {
                    fields.set(nte, 3, rep++, 1, 1, line);
                }
            }
        }
        return n;
    }

    /** Where the n-th NTE (from 0) of a message structure is. */
    @FunctionalInterface
    public interface NteSlot {
        NTE nte(int index) throws DeliveryRejectedException;
    }

    /** PID-3 repetitions as {id, assigning authority, identifier type}. */
    private List<String[]> patientIdentifiers() {
        List<String[]> ids = new ArrayList<>();
        JsonNode subject = resource.path("subject");
        addIdentifier(ids, subject.path("identifier"));
        String reference = text(subject, "reference");
        JsonNode patient = contained(reference);
        if (patient != null) {
            for (JsonNode identifier : patient.path("identifier")) {
                addIdentifier(ids, identifier);
            }
        } else if (ids.isEmpty() && reference != null) {
            String id = referenceId(reference, "Patient");
            if (id != null) {
                ids.add(new String[] {id, null, null});
            }
        }
        return ids;
    }

    private static void addIdentifier(List<String[]> ids, JsonNode identifier) {
        String value = text(identifier, "value");
        if (value == null) {
            return;
        }
        String authority = text(identifier.path("assigner"), "display");
        if (authority == null) {
            authority = text(identifier.path("assigner").path("identifier"), "value");
        }
        if (authority == null) {
            authority = text(identifier, "system");
        }
        ids.add(new String[] {value, authority, text(identifier.path("type").path("coding").path(0), "code")});
    }

    private static JsonNode preferredName(JsonNode names) {
        for (String use : new String[] {"official", "usual"}) {
            for (JsonNode name : names) {
                if (use.equals(text(name, "use"))) {
                    return name;
                }
            }
        }
        return names.size() > 0 ? names.get(0) : null;
    }

    /**
     * The id of a reference to the given resource type ("Patient/123", "https://host/fhir/Patient/123/_history/2");
     * null when it refers to another type.
     */
    public static String referenceId(String reference, String resourceType) {
        String r = reference.trim();
        int history = r.indexOf("/_history/");
        if (history >= 0) {
            r = r.substring(0, history);
        }
        String marker = resourceType + "/";
        int start;
        if (r.startsWith(marker)) {
            start = marker.length();
        } else {
            int at = r.lastIndexOf("/" + marker);
            if (at < 0) {
                return null;
            }
            start = at + 1 + marker.length();
        }
        String id = r.substring(start);
        return id.isEmpty() || id.contains("/") ? null : id;
    }

    private static String lastPathId(String reference) {
        String r = reference.trim();
        int history = r.indexOf("/_history/");
        if (history >= 0) {
            r = r.substring(0, history);
        }
        int slash = r.lastIndexOf('/');
        String id = slash >= 0 ? r.substring(slash + 1) : r;
        return id.isEmpty() ? null : id;
    }

    /** A string element of an object node, null when absent or blank. */
    public static String text(JsonNode node, String field) {
        JsonNode value = node == null ? null : node.get(field);
        return value != null && value.isValueNode() && !value.asText().isBlank() ? value.asText() : null;
    }

    /** An element of an array node, null when absent or blank. */
    public static String text(JsonNode array, int index) {
        JsonNode value = array == null ? null : array.get(index);
        return value != null && value.isValueNode() && !value.asText().isBlank() ? value.asText() : null;
    }

    /** A FHIR decimal as HL7 NM (plain notation); null when absent; rejects it, naming the element, when not a number. */
    public String decimal(JsonNode node, String elementName) throws DeliveryRejectedException {
        if (node == null || node.isMissingNode() || node.isNull()) {
            return null;
        }
        if (!node.isNumber()) {
            throw rejection(elementName + " is not a number");
        }
        return node.decimalValue().stripTrailingZeros().toPlainString();
    }

    private static List<String> texts(JsonNode array) {
        List<String> values = new ArrayList<>();
        for (JsonNode v : array) {
            if (v.isValueNode() && !v.asText().isBlank()) {
                values.add(v.asText());
            }
        }
        return values;
    }

    /** A code from a FHIR value set, quoted; anything that does not look like a code is not echoed. */
    public static String quoted(String value) {
        return CODE_LIKE.matcher(value).matches() ? "'" + value + "'" : "(a value that is not a code)";
    }
}
