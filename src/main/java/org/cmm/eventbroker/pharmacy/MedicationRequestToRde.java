package org.cmm.eventbroker.pharmacy;

import java.math.BigDecimal;
import java.time.Clock;
import java.util.Map;

import ca.uhn.hl7v2.DefaultHapiContext;
import ca.uhn.hl7v2.HL7Exception;
import ca.uhn.hl7v2.HapiContext;
import ca.uhn.hl7v2.model.v251.group.RDE_O11_ORDER;
import ca.uhn.hl7v2.model.v251.message.RDE_O11;
import ca.uhn.hl7v2.model.v251.segment.RXE;
import ca.uhn.hl7v2.model.v251.segment.RXR;
import ca.uhn.hl7v2.model.v251.segment.TQ1;
import ca.uhn.hl7v2.parser.Parser;
import com.fasterxml.jackson.databind.JsonNode;
import org.cmm.eventbroker.platform.delivery.DeliveryRejectedException;
import org.cmm.eventbroker.fhir.CodingSystems;
import org.cmm.eventbroker.fhir.FhirOrderRequest;
import org.cmm.eventbroker.fhir.FieldWriter;
import org.cmm.eventbroker.fhir.MappedOrder;
import org.cmm.eventbroker.fhir.OrderAddressing;

/**
 * Turns a FHIR R4 MedicationRequest into the HL7 v2.5.1 RDE^O11 (pharmacy/treatment encoded order) pharmacy systems
 * take, so a prescription placed through FHIR reaches a v2-only pharmacy. The field-by-field rules are in
 * docs/mappings/medication-request-to-rde-o11.md.
 *
 * <p>The drug must be coded: a medicationCodeableConcept, or a medicationReference to a Medication contained in the
 * resource. A reference to a Medication elsewhere is rejected rather than looked up, since the flow has no FHIR
 * server to ask and an order without its drug cannot be dispensed. The same resource bytes always give the same
 * message (see {@link org.cmm.eventbroker.fhir.ContentControlId}).
 */
public final class MedicationRequestToRde {

    static final String RESOURCE_TYPE = "MedicationRequest";

    private static final HapiContext HAPI = new DefaultHapiContext();
    /** MedicationRequest.category (medicationrequest-category) to PV1-2 patient class. */
    private static final Map<String, String> PATIENT_CLASS = Map.of(
            "inpatient", "I", "outpatient", "O", "community", "O", "discharge", "O");
    /** UCUM/FHIR time units to the unit letter of HL7 table 0335 repeat patterns (Q&lt;n&gt;H...). */
    private static final Map<String, String> PERIOD_UNIT = Map.of(
            "s", "S", "min", "M", "h", "H", "d", "D", "wk", "W", "mo", "L");
    private static final Map<Integer, String> TIMES_A_DAY = Map.of(1, "QD", 2, "BID", 3, "TID", 4, "QID");

    private final OrderAddressing addressing;
    private final Clock clock;

    /** Towards PHARMACY with the broker's default addressing. */
    public MedicationRequestToRde() {
        this(OrderAddressing.to("PHARMACY"), Clock.systemDefaultZone());
    }

    /**
     * @param addressing MSH-3 to MSH-6 and MSH-11
     * @param clock      MSH-7 of a resource that has neither meta.lastUpdated nor authoredOn
     */
    public MedicationRequestToRde(OrderAddressing addressing, Clock clock) {
        this.addressing = addressing;
        this.clock = clock;
    }

    /**
     * @param json the MedicationRequest as a FHIR JSON document
     * @return the RDE^O11 and its control id
     * @throws DeliveryRejectedException when the record is not a MedicationRequest that can be ordered, naming why
     */
    public MappedOrder map(byte[] json) throws DeliveryRejectedException {
        FhirOrderRequest request = FhirOrderRequest.read(json, RESOURCE_TYPE);
        JsonNode resource = request.resource();
        JsonNode[] medication = medication(request);
        FieldWriter fields = request.fields();
        Parser parser = HAPI.getPipeParser();
        RDE_O11 rde = new RDE_O11();
        rde.setParser(parser);

        request.writeHeader(rde.getMSH(), addressing, "RDE", "O11", "RDE_O11", clock);
        request.writePatient(rde.getPATIENT().getPID());
        request.writeVisit(rde.getPATIENT().getPATIENT_VISIT().getPV1(), patientClass(resource));

        RDE_O11_ORDER order = rde.getORDER();
        request.writeOrderControl(order.getORC());
        JsonNode dosage = resource.path("dosageInstruction").path(0);

        RXE rxe = order.getRXE();
        fields.setCoding(rxe, 2, 0, medication[0], FhirOrderRequest.text(medication[1], "text"));
        JsonNode doseAndRate = dosage.path("doseAndRate").path(0);
        JsonNode dose = doseAndRate.path("doseQuantity");
        JsonNode high = null;
        if (dose.isMissingNode()) {
            dose = doseAndRate.path("doseRange").path("low");
            high = doseAndRate.path("doseRange").path("high");
        }
        fields.set(rxe, 3, request.decimal(dose.path("value"), "dosageInstruction[0].doseAndRate[0] dose value"));
        if (high != null) {
            fields.set(rxe, 4, request.decimal(high.path("value"), "dosageInstruction[0].doseAndRate[0].doseRange.high value"));
        }
        writeQuantityUnit(fields, rxe, 5, dose);
        fields.set(rxe, 7, 2, FhirOrderRequest.text(dosage, "text"));
        JsonNode substitution = resource.path("substitution").path("allowedBoolean");
        if (substitution.isBoolean()) {
            fields.set(rxe, 9, substitution.booleanValue() ? "G" : "N");
        }
        JsonNode dispense = resource.path("dispenseRequest");
        fields.set(rxe, 10, request.decimal(dispense.path("quantity").path("value"), "dispenseRequest.quantity value"));
        writeQuantityUnit(fields, rxe, 11, dispense.path("quantity"));
        fields.set(rxe, 12, request.decimal(dispense.path("numberOfRepeatsAllowed"), "dispenseRequest.numberOfRepeatsAllowed"));

        request.writeNotes(order::getNTE);
        writeTiming(request, order.getTIMING_ENCODED().getTQ1(), dosage.path("timing"));

        JsonNode route = FhirOrderRequest.codedCoding(dosage.path("route"));
        if (route != null) {
            RXR rxr = order.getRXR();
            fields.setCoding(rxr, 1, 0, route, FhirOrderRequest.text(dosage.path("route"), "text"));
            JsonNode site = FhirOrderRequest.codedCoding(dosage.path("site"));
            if (site != null) {
                fields.setCoding(rxr, 2, 0, site, FhirOrderRequest.text(dosage.path("site"), "text"));
            }
        }
        try {
            return new MappedOrder(request.controlId(), parser.encode(rde));
        } catch (HL7Exception e) {
            // HAPI's message may quote content: name the failure only
            throw request.rejection("cannot be encoded as a valid HL7 v2.5.1 RDE^O11 (" + e.getClass().getSimpleName() + ")");
        }
    }

    /**
     * The coded drug: {coding, the CodeableConcept it is in}, from medicationCodeableConcept or a contained
     * Medication's code.
     */
    private static JsonNode[] medication(FhirOrderRequest request) throws DeliveryRejectedException {
        JsonNode resource = request.resource();
        JsonNode concept = resource.path("medicationCodeableConcept");
        if (!concept.isMissingNode()) {
            JsonNode coding = FhirOrderRequest.codedCoding(concept);
            if (coding == null) {
                throw request.rejection("medicationCodeableConcept has no coding with a code (needed for RXE-2)");
            }
            return new JsonNode[] {coding, concept};
        }
        String reference = FhirOrderRequest.text(resource.path("medicationReference"), "reference");
        if (reference == null) {
            throw request.rejection("lacks medicationCodeableConcept (the drug, needed for RXE-2)");
        }
        JsonNode medication = request.contained(reference);
        if (medication == null || !"Medication".equals(FhirOrderRequest.text(medication, "resourceType"))) {
            throw request.rejection("has only a medicationReference to a Medication that is not contained"
                    + " (send medicationCodeableConcept, or contain the Medication)");
        }
        JsonNode coding = FhirOrderRequest.codedCoding(medication.path("code"));
        if (coding == null) {
            throw request.rejection("contained Medication has no code with a coding (needed for RXE-2)");
        }
        return new JsonNode[] {coding, medication.path("code")};
    }

    /** PV1-2 from category (inpatient I; outpatient, community, discharge O); null when none is given. */
    private static String patientClass(JsonNode resource) {
        for (JsonNode category : resource.path("category")) {
            for (JsonNode coding : category.path("coding")) {
                String patientClass = PATIENT_CLASS.get(FhirOrderRequest.text(coding, "code"));
                if (patientClass != null) {
                    return patientClass;
                }
            }
        }
        return null;
    }

    /** A CE units field from a FHIR Quantity: code^unit^system (UCUM), or the unit alone. */
    private static void writeQuantityUnit(FieldWriter fields, RXE rxe, int field, JsonNode quantity)
            throws DeliveryRejectedException {
        String code = FhirOrderRequest.text(quantity, "code");
        String unit = FhirOrderRequest.text(quantity, "unit");
        fields.set(rxe, field, 0, 1, 1, code != null ? code : unit);
        fields.set(rxe, field, 0, 2, 1, unit);
        if (code != null) {
            fields.set(rxe, field, 0, 3, 1, CodingSystems.hl7Name(FhirOrderRequest.text(quantity, "system")));
        }
    }

    /**
     * TQ1 (the timing of the encoded order, required in RDE^O11): TQ1-3 the repeat pattern, TQ1-7/8 the bounds,
     * TQ1-9 the priority, TQ1-14 the count.
     */
    private static void writeTiming(FhirOrderRequest request, TQ1 tq1, JsonNode timing) throws DeliveryRejectedException {
        FieldWriter fields = request.fields();
        fields.set(tq1, 1, "1");
        JsonNode repeat = timing.path("repeat");
        JsonNode coded = FhirOrderRequest.codedCoding(timing.path("code"));
        String[] pattern = coded != null
                ? new String[] {FhirOrderRequest.text(coded, "code"), FhirOrderRequest.text(coded, "display")}
                : repeatPattern(request, repeat);
        if (pattern != null) {
            fields.set(tq1, 3, 0, 1, 1, pattern[0]);
            fields.set(tq1, 3, 0, 1, 2, pattern[1]);
            fields.set(tq1, 3, 0, 1, 3, pattern[0] != null ? "HL70335" : null);
        }
        fields.set(tq1, 7, request.dateTime(repeat.path("boundsPeriod").path("start"),
                "dosageInstruction[0].timing.repeat.boundsPeriod.start"));
        fields.set(tq1, 8, request.dateTime(repeat.path("boundsPeriod").path("end"),
                "dosageInstruction[0].timing.repeat.boundsPeriod.end"));
        String priority = request.priorityCode();
        if (priority != null) {
            fields.set(tq1, 9, 1, priority);
            fields.set(tq1, 9, 2, FhirOrderRequest.priorityText(priority));
            fields.set(tq1, 9, 3, "HL70485");
        }
        fields.set(tq1, 14, request.decimal(repeat.path("count"), "dosageInstruction[0].timing.repeat.count"));
    }

    /**
     * {code, text} of HL7 table 0335 from frequency per period: n a day as QD/BID/TID/QID/nID, once every n hours
     * (days, weeks...) as Q&lt;n&gt;H (D, W...); other rhythms as text only. Null when there is no repeat.
     */
    private static String[] repeatPattern(FhirOrderRequest request, JsonNode repeat) throws DeliveryRejectedException {
        String period = request.decimal(repeat.path("period"), "dosageInstruction[0].timing.repeat.period");
        String unit = FhirOrderRequest.text(repeat, "periodUnit");
        if (period == null || unit == null) {
            return null;
        }
        String frequencyText = request.decimal(repeat.path("frequency"), "dosageInstruction[0].timing.repeat.frequency");
        BigDecimal frequency = frequencyText != null ? new BigDecimal(frequencyText) : BigDecimal.ONE;
        BigDecimal every = new BigDecimal(period);
        String text = frequency.toPlainString() + " per " + every.toPlainString() + " " + unit;
        String letter = PERIOD_UNIT.get(unit);
        if (letter == null || !isWhole(frequency) || !isWhole(every)) {
            return new String[] {null, text};
        }
        if ("d".equals(unit) && every.intValue() == 1) {
            return new String[] {TIMES_A_DAY.getOrDefault(frequency.intValue(), frequency.intValue() + "ID"), text};
        }
        if (frequency.intValue() == 1) {
            return new String[] {"Q" + every.intValue() + letter, text};
        }
        return new String[] {null, text};
    }

    private static boolean isWhole(BigDecimal value) {
        return value.signum() > 0 && value.stripTrailingZeros().scale() <= 0 && value.compareTo(BigDecimal.valueOf(1000)) < 0;
    }
}
