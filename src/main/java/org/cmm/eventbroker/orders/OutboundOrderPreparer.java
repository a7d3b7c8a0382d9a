package org.cmm.eventbroker.orders;

import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;
import org.cmm.eventbroker.fhir.FhirOrderRequest;
import org.cmm.eventbroker.platform.delivery.DeliveryRejectedException;
import org.cmm.eventbroker.fhir.MappedOrder;
import org.cmm.eventbroker.fhir.OrderAddressing;
import org.cmm.eventbroker.hl7.Hl7Headers;
import org.cmm.eventbroker.hl7.Hl7MessageHeader;
import org.cmm.eventbroker.platform.mllp.MllpListenerHeaders;

/**
 * Makes an order record from Kafka ready for a v2 peer: an HL7 v2 order of an accepted type goes on byte for byte, a
 * FHIR order resource is mapped to the HL7 order the peer takes, anything else is rejected with
 * {@link DeliveryRejectedException}, so the flow dead-letters it instead of retrying something that can never be
 * delivered.
 *
 * <p>Sets {@code hl7_control_id} (MSH-10, to match ACKs and dead letters) and {@code CamelMllpCharset} (the Java
 * charset the body is encoded in). The lab and the pharmacy flows each have a subclass that says which HL7 types and
 * which FHIR resource they accept and how to map it.
 */
public abstract class OutboundOrderPreparer implements Processor {

    private final String orderKind;
    private final List<String> acceptedTypes;

    private String sendingApplication = "CMM-EVENT-BROKER";
    private String sendingFacility = "CMM";
    private String receivingApplication;
    private String receivingFacility = "";
    private String processingId = "P";
    private int maxRecordBytes = 1024 * 1024;

    /**
     * @param orderKind            what the peer takes, for reasons ("lab order")
     * @param acceptedTypes        the HL7 types passed on, as MSH-9-1^MSH-9-2 (ORM^O01)
     * @param receivingApplication the default MSH-5 of mapped messages
     */
    protected OutboundOrderPreparer(String orderKind, List<String> acceptedTypes,
                                    String receivingApplication) {
        this.orderKind = orderKind;
        this.acceptedTypes = List.copyOf(acceptedTypes);
        this.receivingApplication = receivingApplication;
    }

    /** Maps the FHIR resource (the record's bytes) to the peer's HL7 order, or rejects it naming why. */
    protected abstract MappedOrder map(byte[] json, OrderAddressing addressing) throws DeliveryRejectedException;

    @Override
    public void process(Exchange exchange) throws DeliveryRejectedException {
        Message in = exchange.getMessage();
        byte[] body = in.getBody(byte[].class);
        if (body == null || body.length == 0) {
            throw new DeliveryRejectedException("record value is empty");
        }
        if (body.length > maxRecordBytes) {
            throw new DeliveryRejectedException("record value of " + body.length + " bytes exceeds the limit of "
                    + maxRecordBytes + " bytes for a " + orderKind);
        }
        int first = firstContentByte(body);
        if (first >= body.length) {
            throw new DeliveryRejectedException("record value is empty");
        }
        if (body[first] == '{') {
            MappedOrder order = map(body, addressing());
            in.setBody(order.bytes());
            in.setHeader(Hl7Headers.CONTROL_ID, order.controlId());
            in.setHeader(MllpListenerHeaders.CHARSET, StandardCharsets.UTF_8.name());
            return;
        }
        Optional<Hl7MessageHeader> header = Hl7MessageHeader.read(body);
        if (header.isEmpty()) {
            throw new DeliveryRejectedException("record value is neither an HL7 v2 message (MSH first) nor FHIR JSON");
        }
        passOn(in, header.get());
    }

    /** Checks an HL7 record's type, control id and charset; the body stays as it is. */
    private void passOn(Message in, Hl7MessageHeader header) throws DeliveryRejectedException {
        if (header.messageType().isEmpty() || header.triggerEvent().isEmpty()) {
            throw new DeliveryRejectedException("HL7 message lacks MSH-9 message type or trigger event");
        }
        String type = header.messageType().toUpperCase(Locale.ROOT) + "^" + header.triggerEvent().toUpperCase(Locale.ROOT);
        if (!acceptedTypes.contains(type)) {
            String shown = isToken(header.messageType()) && isToken(header.triggerEvent()) ? type : "in MSH-9";
            throw new DeliveryRejectedException("HL7 message type " + shown + " is not a " + orderKind + " ("
                    + String.join(", ", acceptedTypes) + ")");
        }
        if (header.controlId().isEmpty()) {
            throw new DeliveryRejectedException("HL7 message lacks MSH-10 (message control id)");
        }
        Optional<Charset> charset = header.charset(StandardCharsets.ISO_8859_1);
        if (charset.isEmpty()) {
            String declared = header.declaredCharset();
            throw new DeliveryRejectedException("HL7 MSH-18 character set "
                    + FhirOrderRequest.quoted(declared) + " is not supported");
        }
        in.setHeader(Hl7Headers.CONTROL_ID, header.controlId());
        in.setHeader(MllpListenerHeaders.CHARSET, charset.get().name());
    }

    private OrderAddressing addressing() {
        return new OrderAddressing(sendingApplication, sendingFacility, receivingApplication, receivingFacility,
                processingId);
    }

    /** Skips whitespace and a UTF-8 byte order mark. */
    private static int firstContentByte(byte[] body) {
        int i = 0;
        if (body.length >= 3 && (body[0] & 0xFF) == 0xEF && (body[1] & 0xFF) == 0xBB && (body[2] & 0xFF) == 0xBF) {
            i = 3;
        }
        while (i < body.length && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n')) {
            i++;
        }
        return i;
    }

    private static boolean isToken(String value) {
        return value.length() <= 8 && value.chars().allMatch(Character::isLetterOrDigit);
    }

    /** MSH-3 of mapped messages (default CMM-EVENT-BROKER). */
    /** Larger records are not orders anyone should send: dead-lettered with the size in the reason. */
    public void setMaxRecordBytes(int maxRecordBytes) {
        this.maxRecordBytes = maxRecordBytes;
    }

    public int getMaxRecordBytes() {
        return maxRecordBytes;
    }

    public void setSendingApplication(String sendingApplication) {
        this.sendingApplication = sendingApplication;
    }

    /** MSH-4 of mapped messages (default CMM). */
    public void setSendingFacility(String sendingFacility) {
        this.sendingFacility = sendingFacility;
    }

    /** MSH-5 of mapped messages (default LIS for the lab, PHARMACY for the pharmacy). */
    public void setReceivingApplication(String receivingApplication) {
        this.receivingApplication = receivingApplication;
    }

    /** MSH-6 of mapped messages (default empty). */
    public void setReceivingFacility(String receivingFacility) {
        this.receivingFacility = receivingFacility == null ? "" : receivingFacility;
    }

    /** MSH-11 of mapped messages: P production (default), T training, D debugging. */
    public void setProcessingId(String processingId) {
        this.processingId = processingId;
    }

    public String getSendingApplication() {
        return sendingApplication;
    }

    public String getSendingFacility() {
        return sendingFacility;
    }

    public String getReceivingApplication() {
        return receivingApplication;
    }

    public String getReceivingFacility() {
        return receivingFacility;
    }

    public String getProcessingId() {
        return processingId;
    }
}
