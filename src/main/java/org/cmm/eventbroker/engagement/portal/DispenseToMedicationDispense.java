package org.cmm.eventbroker.engagement.portal;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.UUID;

import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;
import org.cmm.eventbroker.hl7.Er7Message;
import org.cmm.eventbroker.platform.delivery.DeliveryRejectedException;
import org.cmm.eventbroker.platform.mllp.Er7Segment;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.MedicationDispense;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.SimpleQuantity;

/**
 * A dispense message (RDS^O13 from {@code pharmacy.dispensing.<new|refill|return>}) as the portal's FHIR R4: a
 * {@code Bundle} (collection) with a {@code MedicationDispense} per RXD: the medication (RXD-2, NDC), the quantity
 * (RXD-4/5), when it was handed over (RXD-3), the type (first fill or refill) and the status ({@code completed}, or
 * {@code cancelled} for a return), the subject {@code Patient/<PID-3>}.
 */
public class DispenseToMedicationDispense implements Processor {

    @Override
    public void process(Exchange exchange) throws Exception {
        Message m = exchange.getMessage();
        Er7Message message = PortalIds.message(m, "dispense record", "RDS");
        String patient = PortalIds.patient(message);
        String dispensingClass = m.getHeader("pharmacy_dispensing_class", "new", String.class);
        String controlId = message.header().field(10);
        Bundle bundle = new Bundle().setType(Bundle.BundleType.COLLECTION);
        int n = 0;
        for (Er7Segment rxd : message.segments("RXD")) {
            MedicationDispense d = new MedicationDispense();
            d.setStatus("return".equals(dispensingClass) ? MedicationDispense.MedicationDispenseStatus.CANCELLED
                    : MedicationDispense.MedicationDispenseStatus.COMPLETED);
            CodeableConcept medication = new CodeableConcept();
            String code = rxd.component(2, 1);
            String text = rxd.component(2, 2);
            if (!code.isBlank()) {
                medication.addCoding(new Coding("NDC".equals(rxd.component(2, 3)) ? "http://hl7.org/fhir/sid/ndc"
                        : "urn:hl7v2:" + rxd.component(2, 3), code, text.isBlank() ? null : text));
            }
            if (!text.isBlank()) {
                medication.setText(text);
            }
            d.setMedication(medication);
            d.setSubject(new Reference("Patient/" + patient));
            d.setType(new CodeableConcept().addCoding(new Coding("http://terminology.hl7.org/CodeSystem/v3-ActCode",
                    "refill".equals(dispensingClass) ? "RF" : "FF", "refill".equals(dispensingClass) ? "Refill"
                            : "First Fill")));
            String quantity = rxd.field(4);
            if (quantity.matches("\\d+(\\.\\d+)?")) {
                SimpleQuantity q = new SimpleQuantity();
                q.setValue(new BigDecimal(quantity));
                if (!rxd.component(5, 1).isBlank()) {
                    q.setUnit(rxd.component(5, 1));
                }
                d.setQuantity(q);
            }
            if (!rxd.field(3).isBlank()) {
                d.setWhenHandedOverElement(PortalIds.dateTime(rxd.field(3)));
            }
            bundle.addEntry().setFullUrl("urn:uuid:" + UUID.nameUUIDFromBytes((controlId + "|rxd|" + (++n))
                    .getBytes(StandardCharsets.UTF_8))).setResource(d);
        }
        if (n == 0) {
            throw new DeliveryRejectedException("dispense message without an RXD segment");
        }
        PortalIds.finish(m, bundle, patient, "medication", "dispense:" + controlId, dispensingClass);
    }
}
