package org.cmm.eventbroker.engagement.portal;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.Set;

import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;
import org.cmm.eventbroker.hl7.Er7Message;
import org.cmm.eventbroker.platform.delivery.DeliveryRejectedException;
import org.cmm.eventbroker.platform.mllp.Er7Segment;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.DiagnosticReport;
import org.hl7.fhir.r4.model.Identifier;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Quantity;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.StringType;

/**
 * A lab result message (ORU^R01 from {@code lab.results.<class>}) as the patient portal's FHIR R4: a {@code Bundle}
 * (collection) of one {@code DiagnosticReport} per OBR and an {@code Observation} per OBX (code, value with units,
 * reference range, interpretation, status), the subject {@code Patient/<PID-3>}. OBX with status D (deleted), W (wrong
 * patient) or X are left out: the patient must not see them. Sets {@link PortalHeaders#PATIENT}; whether the update
 * is held back is decided by {@link PortalPublisher} from the result class.
 */
public class LabResultToObservations implements Processor {

    private static final Set<String> HIDDEN_STATUSES = Set.of("D", "W", "X");
    @Override
    public void process(Exchange exchange) throws Exception {
        Message m = exchange.getMessage();
        Er7Message message = PortalIds.message(m, "lab result", "ORU");
        String patient = PortalIds.patient(message);
        Bundle bundle = new Bundle().setType(Bundle.BundleType.COLLECTION);
        String controlId = message.header().field(10);
        DiagnosticReport report = null;
        int n = 0;
        for (String[] raw : PortalIds.segments(m)) {
            Er7Segment s = Er7Segment.of(raw[1], message.header());
            if ("OBR".equals(raw[0])) {
                report = new DiagnosticReport();
                report.setId("report-" + (++n));
                report.addIdentifier(new Identifier().setSystem("urn:cmm:lab-order").setValue(s.component(3, 1)));
                report.setStatus(DiagnosticReport.DiagnosticReportStatus.FINAL);
                report.setCode(concept(s, 4));
                report.setSubject(new Reference("Patient/" + patient));
                String effective = s.field(7);
                if (!effective.isBlank()) {
                    report.setEffective(PortalIds.dateTime(effective));
                }
                bundle.addEntry().setFullUrl("urn:uuid:" + uuid(controlId, "report", n)).setResource(report);
            } else if ("OBX".equals(raw[0])) {
                String status = s.field(11).trim().toUpperCase();
                if (HIDDEN_STATUSES.contains(status)) {
                    continue;
                }
                Observation o = new Observation();
                o.setStatus(switch (status) {
                    case "P", "I", "R", "S" -> Observation.ObservationStatus.PRELIMINARY;
                    case "C" -> Observation.ObservationStatus.CORRECTED;
                    default -> Observation.ObservationStatus.FINAL;
                });
                o.addCategory(new CodeableConcept().addCoding(new Coding(
                        "http://terminology.hl7.org/CodeSystem/observation-category", "laboratory", "Laboratory")));
                o.setCode(concept(s, 3));
                o.setSubject(new Reference("Patient/" + patient));
                String value = s.field(5);
                String units = s.component(6, 1);
                if ("NM".equals(s.field(2)) && value.matches("-?\\d+(\\.\\d+)?")) {
                    Quantity q = new Quantity().setValue(new BigDecimal(value));
                    if (!units.isBlank()) {
                        q.setUnit(units).setSystem("http://unitsofmeasure.org").setCode(units);
                    }
                    o.setValue(q);
                } else if (!value.isBlank()) {
                    o.setValue(new StringType(value.replace("^", " ").trim()));
                }
                if (!s.field(7).isBlank()) {
                    o.addReferenceRange().setText(s.field(7));
                }
                for (String flag : s.field(8).split("~")) {
                    if (!flag.isBlank()) {
                        o.addInterpretation(new CodeableConcept().addCoding(new Coding(
                                "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", flag.trim()
                                        .toUpperCase(), null)));
                    }
                }
                String id = uuid(controlId, "obx", bundle.getEntry().size());
                if (report != null) {
                    report.addResult(new Reference("urn:uuid:" + id));
                }
                bundle.addEntry().setFullUrl("urn:uuid:" + id).setResource(o);
            }
        }
        if (bundle.getEntry().isEmpty()) {
            throw new DeliveryRejectedException("lab result without OBR or OBX segments");
        }
        PortalIds.finish(m, bundle, patient, "result", "lab-result:" + controlId,
                m.getHeader("lab_result_class", String.class));
    }

    private static CodeableConcept concept(Er7Segment s, int field) {
        CodeableConcept c = new CodeableConcept();
        String code = s.component(field, 1);
        String text = s.component(field, 2);
        String system = s.component(field, 3);
        if (!code.isBlank()) {
            c.addCoding(new Coding("LN".equals(system) ? "http://loinc.org" : "urn:hl7v2:" + system, code,
                    text.isBlank() ? null : text));
        }
        if (!text.isBlank()) {
            c.setText(text);
        }
        return c;
    }

    private static String uuid(String controlId, String kind, int n) {
        return java.util.UUID.nameUUIDFromBytes((controlId + '|' + kind + '|' + n).getBytes(StandardCharsets.UTF_8))
                .toString();
    }
}
