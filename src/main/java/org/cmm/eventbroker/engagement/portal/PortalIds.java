package org.cmm.eventbroker.engagement.portal;

import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.time.ZoneId;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;

import org.apache.camel.Message;
import org.cmm.eventbroker.engagement.Recipient;
import org.cmm.eventbroker.fhir.FhirR4;
import org.cmm.eventbroker.hl7.Er7Message;
import org.cmm.eventbroker.hl7.Hl7DateTime;
import org.cmm.eventbroker.hl7.Hl7Headers;
import org.cmm.eventbroker.platform.delivery.DeliveryRejectedException;
import org.hl7.fhir.r4.model.DateTimeType;
import org.hl7.fhir.r4.model.Resource;

/** What the portal mappers share: the patient of a message, its segments in order, HL7 times, the record. */
final class PortalIds {

    private PortalIds() {
    }

    /** The record as an HL7 v2 message of the given type (ORU, RDS, SIU); anything else is rejected with the reason. */
    static Er7Message message(Message m, String what, String messageType) throws DeliveryRejectedException {
        Er7Message message;
        try {
            message = Er7Message.of(m);
        } catch (org.cmm.eventbroker.hl7.Hl7RejectedException e) {
            throw new DeliveryRejectedException(what + " is not an HL7 v2 message");
        }
        if (!message.messageType().startsWith(messageType + "^")) {
            throw new DeliveryRejectedException(what + " is not an " + messageType + " message");
        }
        return message;
    }

    /** PID-3 (first identifier's id): the portal record's key. */
    static String patient(Er7Message message) throws DeliveryRejectedException {
        List<org.cmm.eventbroker.platform.mllp.Er7Segment> pid = message.segments("PID");
        String id = pid.isEmpty() ? "" : pid.get(0).component(3, 1).split("~")[0].trim();
        if (Recipient.of(Recipient.PATIENT, id).isEmpty()) {
            throw new DeliveryRejectedException("no usable patient identifier in PID-3");
        }
        return id;
    }

    /** The message's segments in order as {id, text}. */
    static List<String[]> segments(Message m) {
        String charsetName = m.getHeader(Hl7Headers.CHARSET, String.class);
        String text = new String(m.getBody(byte[].class),
                charsetName == null ? StandardCharsets.ISO_8859_1 : Charset.forName(charsetName));
        List<String[]> out = new ArrayList<>();
        for (String line : text.lines().toList()) { // CR, LF or CRLF, without a regular expression
            String s = line.strip();
            if (s.length() >= 3) {
                out.add(new String[] {s.substring(0, 3), s});
            }
        }
        return out;
    }

    static DateTimeType dateTime(String hl7) {
        OffsetDateTime t = Hl7DateTime.parseOrNull(hl7.split("\\^")[0], ZoneId.systemDefault(), 8);
        return t == null ? null : new DateTimeType(Date.from(t.toInstant()));
    }

    /** Body = the resource as FHIR JSON; headers = what PortalPublisher needs, nothing else of the source record. */
    static void finish(Message m, Resource resource, String patient, String notificationType, String updateId,
            String heldClass) {
        byte[] json = FhirR4.context().newJsonParser().encodeResourceToString(resource).getBytes(StandardCharsets.UTF_8);
        m.removeHeaders("*", "Camel*");
        m.setHeader(PortalHeaders.PATIENT, patient);
        m.setHeader(PortalHeaders.NOTIFICATION_TYPE, notificationType);
        m.setHeader(PortalPublisher.HOLD_CLASS, heldClass);
        m.setHeader(Hl7Headers.CE_SPECVERSION, "1.0");
        m.setHeader(Hl7Headers.CE_ID, updateId);
        m.setHeader(Hl7Headers.CE_SOURCE, "/cmm/engagement/portal");
        m.setHeader(Hl7Headers.CONTENT_TYPE, "application/fhir+json");
        m.setBody(json);
    }
}
