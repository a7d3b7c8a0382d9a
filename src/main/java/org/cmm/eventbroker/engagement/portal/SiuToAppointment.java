package org.cmm.eventbroker.engagement.portal;

import java.util.List;
import java.util.Locale;

import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;
import org.cmm.eventbroker.hl7.Er7Message;
import org.cmm.eventbroker.platform.delivery.DeliveryRejectedException;
import org.cmm.eventbroker.platform.mllp.Er7Segment;
import org.hl7.fhir.r4.model.Appointment;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.DateTimeType;
import org.hl7.fhir.r4.model.Identifier;
import org.hl7.fhir.r4.model.Reference;

/**
 * A scheduling message (SIU^S12-S26 from {@code hl7.siu.<trigger>}) as the portal's FHIR R4 {@code Appointment} (in a
 * {@code Bundle} collection, like the other portal records): its id (SCH-1/SCH-2), start and end (SCH-11.4/.5), the
 * duration in minutes (SCH-9 when SCH-10 is minutes), the service (AIS-3) and the status from the trigger: S15/S16
 * cancelled, S17 entered-in-error, S26 noshow, the others booked. Its patient is the participant.
 */
public class SiuToAppointment implements Processor {

    @Override
    public void process(Exchange exchange) throws Exception {
        Message m = exchange.getMessage();
        Er7Message message = PortalIds.message(m, "scheduling record", "SIU");
        String trigger = message.header().component(9, 2).trim().toUpperCase(Locale.ROOT);
        List<Er7Segment> sch = message.segments("SCH");
        if (sch.isEmpty()) {
            throw new DeliveryRejectedException("SIU message without an SCH segment");
        }
        String patient = PortalIds.patient(message);
        Er7Segment s = sch.get(0);
        Appointment a = new Appointment();
        String id = s.component(1, 1).isBlank() ? s.component(2, 1) : s.component(1, 1);
        a.addIdentifier(new Identifier().setSystem("urn:cmm:appointment").setValue(id));
        a.setStatus(switch (trigger) {
            case "S15", "S16" -> Appointment.AppointmentStatus.CANCELLED;
            case "S17" -> Appointment.AppointmentStatus.ENTEREDINERROR;
            case "S26" -> Appointment.AppointmentStatus.NOSHOW;
            default -> Appointment.AppointmentStatus.BOOKED;
        });
        DateTimeType start = s.component(11, 4).isBlank() ? null : PortalIds.dateTime(s.component(11, 4));
        DateTimeType end = s.component(11, 5).isBlank() ? null : PortalIds.dateTime(s.component(11, 5));
        if (start != null) {
            a.setStart(start.getValue());
        }
        if (end != null) {
            a.setEnd(end.getValue());
        }
        if (s.field(9).matches("\\d+") && s.component(10, 1).toUpperCase(Locale.ROOT).startsWith("MIN")) {
            a.setMinutesDuration(Integer.parseInt(s.field(9)));
        }
        for (Er7Segment ais : message.segments("AIS")) {
            if (!ais.component(3, 1).isBlank()) {
                a.addServiceType(new CodeableConcept().addCoding(new Coding("urn:hl7v2:AIS-3", ais.component(3, 1),
                        ais.component(3, 2).isBlank() ? null : ais.component(3, 2))));
            }
        }
        a.addParticipant().setActor(new Reference("Patient/" + patient))
                .setStatus(Appointment.ParticipationStatus.ACCEPTED);
        Bundle bundle = new Bundle().setType(Bundle.BundleType.COLLECTION);
        bundle.addEntry().setFullUrl("urn:cmm:appointment:" + id).setResource(a);
        PortalIds.finish(m, bundle, patient, "appointment", "appointment:" + message.header().field(10), trigger);
    }
}
