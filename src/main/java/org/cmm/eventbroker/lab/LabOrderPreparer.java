package org.cmm.eventbroker.lab;

import java.time.Clock;
import java.util.List;

import org.cmm.eventbroker.platform.delivery.DeliveryRejectedException;
import org.cmm.eventbroker.orders.OutboundOrderPreparer;
import org.cmm.eventbroker.fhir.MappedOrder;
import org.cmm.eventbroker.fhir.OrderAddressing;

/**
 * The lab outbound flows' step before MLLP: passes on HL7 ORM^O01 and OML^O21 orders unchanged and maps FHIR
 * ServiceRequests to ORM^O01 ({@link ServiceRequestToOrm}), so the LIS receives v2 whichever way the order was placed.
 * Anything else is rejected (see {@link OutboundOrderPreparer}).
 */
public class LabOrderPreparer extends OutboundOrderPreparer {

    public LabOrderPreparer() {
        super("lab order", List.of("ORM^O01", "OML^O21"), "LIS");
    }

    @Override
    protected MappedOrder map(byte[] json, OrderAddressing addressing) throws DeliveryRejectedException {
        return new ServiceRequestToOrm(addressing, Clock.systemDefaultZone()).map(json);
    }
}
