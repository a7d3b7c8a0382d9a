package org.cmm.eventbroker.lab;

import java.time.Clock;

import ca.uhn.hl7v2.DefaultHapiContext;
import ca.uhn.hl7v2.HL7Exception;
import ca.uhn.hl7v2.HapiContext;
import ca.uhn.hl7v2.model.v251.group.ORM_O01_ORDER;
import ca.uhn.hl7v2.model.v251.group.ORM_O01_ORDER_DETAIL;
import ca.uhn.hl7v2.model.v251.message.ORM_O01;
import ca.uhn.hl7v2.model.v251.segment.OBR;
import ca.uhn.hl7v2.model.v251.segment.ORC;
import ca.uhn.hl7v2.parser.Parser;
import com.fasterxml.jackson.databind.JsonNode;
import org.cmm.eventbroker.platform.delivery.DeliveryRejectedException;
import org.cmm.eventbroker.fhir.CodingSystems;
import org.cmm.eventbroker.fhir.FhirOrderRequest;
import org.cmm.eventbroker.fhir.FieldWriter;
import org.cmm.eventbroker.fhir.MappedOrder;
import org.cmm.eventbroker.fhir.OrderAddressing;

/**
 * Turns a FHIR R4 ServiceRequest into the HL7 v2.5.1 ORM^O01 the laboratory information systems take, so an order
 * placed through FHIR reaches a v2-only LIS. The field-by-field rules are in docs/mappings/service-request-to-orm-o01.md.
 *
 * <p>v2.5.1 ORM^O01 has no TQ1 segment: the priority and the requested time travel in the (retained) TQ fields ORC-7
 * and OBR-27, and the requested time also in OBR-7. The same resource bytes always give the same message, control id
 * and MSH-7 included (when the resource has meta.lastUpdated or authoredOn), so a redelivered record can be recognised
 * by the peer.
 */
public final class ServiceRequestToOrm {

    static final String RESOURCE_TYPE = "ServiceRequest";

    private static final HapiContext HAPI = new DefaultHapiContext();

    private final OrderAddressing addressing;
    private final Clock clock;

    /** Towards LIS with the broker's default addressing. */
    public ServiceRequestToOrm() {
        this(OrderAddressing.to("LIS"), Clock.systemDefaultZone());
    }

    /**
     * @param addressing MSH-3 to MSH-6 and MSH-11
     * @param clock      MSH-7 of a resource that has neither meta.lastUpdated nor authoredOn
     */
    public ServiceRequestToOrm(OrderAddressing addressing, Clock clock) {
        this.addressing = addressing;
        this.clock = clock;
    }

    /**
     * @param json the ServiceRequest as a FHIR JSON document
     * @return the ORM^O01 and its control id
     * @throws DeliveryRejectedException when the record is not a ServiceRequest that can be ordered, naming why
     */
    public MappedOrder map(byte[] json) throws DeliveryRejectedException {
        FhirOrderRequest request = FhirOrderRequest.read(json, RESOURCE_TYPE);
        JsonNode resource = request.resource();
        JsonNode code = FhirOrderRequest.codedCoding(resource.path("code"));
        if (code == null) {
            throw request.rejection("lacks code (a coding with a code, needed for OBR-4)");
        }
        FieldWriter fields = request.fields();
        Parser parser = HAPI.getPipeParser();
        ORM_O01 orm = new ORM_O01();
        orm.setParser(parser);

        request.writeHeader(orm.getMSH(), addressing, "ORM", "O01", "ORM_O01", clock);
        request.writePatient(orm.getPATIENT().getPID());
        request.writeVisit(orm.getPATIENT().getPATIENT_VISIT().getPV1(), null);

        ORM_O01_ORDER order = orm.getORDER();
        ORC orc = order.getORC();
        request.writeOrderControl(orc);
        String priority = request.priorityCode();
        String start = request.dateTime("occurrenceDateTime");
        if (start == null) {
            start = request.dateTime("occurrencePeriod", "start");
        }
        fields.set(orc, 7, 0, 4, 1, start);
        fields.set(orc, 7, 0, 6, 1, priority);

        ORM_O01_ORDER_DETAIL detail = order.getORDER_DETAIL();
        OBR obr = detail.getOBR();
        fields.set(obr, 1, "1");
        fields.set(obr, 2, request.placerOrderNumber());
        fields.setCoding(obr, 4, 0, code, FhirOrderRequest.text(resource.path("code"), "text"));
        fields.set(obr, 7, start);
        writeSpecimen(request, obr);
        request.writeRequester(obr, 16);
        fields.set(obr, 27, 0, 4, 1, start);
        fields.set(obr, 27, 0, 6, 1, priority);
        JsonNode reason = FhirOrderRequest.codedCoding(resource.path("reasonCode").path(0));
        if (reason != null) {
            fields.setCoding(obr, 31, 0, reason, FhirOrderRequest.text(resource.path("reasonCode").path(0), "text"));
        }
        request.writeNotes(detail::getNTE);
        try {
            return new MappedOrder(request.controlId(), parser.encode(orm));
        } catch (HL7Exception e) {
            // HAPI's message may quote content: name the failure only
            throw request.rejection("cannot be encoded as a valid HL7 v2.5.1 ORM^O01 (" + e.getClass().getSimpleName() + ")");
        }
    }

    /** OBR-15-1 from the type of a contained Specimen (the first specimen reference), when there is one. */
    private static void writeSpecimen(FhirOrderRequest request, OBR obr) throws DeliveryRejectedException {
        JsonNode specimen = request.contained(FhirOrderRequest.text(request.resource().path("specimen").path(0), "reference"));
        if (specimen == null) {
            return;
        }
        JsonNode type = FhirOrderRequest.codedCoding(specimen.path("type"));
        if (type == null) {
            return;
        }
        FieldWriter fields = request.fields();
        fields.set(obr, 15, 0, 1, 1, FhirOrderRequest.text(type, "code"));
        fields.set(obr, 15, 0, 1, 2, FhirOrderRequest.text(type, "display"));
        fields.set(obr, 15, 0, 1, 3, CodingSystems.hl7Name(FhirOrderRequest.text(type, "system")));
    }
}
