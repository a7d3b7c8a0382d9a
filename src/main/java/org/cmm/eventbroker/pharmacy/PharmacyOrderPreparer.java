package org.cmm.eventbroker.pharmacy;

import java.time.Clock;
import java.util.List;

import org.cmm.eventbroker.platform.delivery.DeliveryRejectedException;
import org.cmm.eventbroker.orders.OutboundOrderPreparer;
import org.cmm.eventbroker.fhir.MappedOrder;
import org.cmm.eventbroker.fhir.OrderAddressing;

/**
 * The pharmacy outbound flows' step before MLLP: passes on HL7 RDE^O11 orders unchanged and maps FHIR
 * MedicationRequests to RDE^O11 ({@link MedicationRequestToRde}), so the pharmacy system receives v2 whichever way the
 * prescription was placed. Anything else is rejected (see {@link OutboundOrderPreparer}).
 */
public class PharmacyOrderPreparer extends OutboundOrderPreparer {

    public PharmacyOrderPreparer() {
        super("pharmacy order", List.of("RDE^O11"), "PHARMACY");
    }

    @Override
    protected MappedOrder map(byte[] json, OrderAddressing addressing) throws DeliveryRejectedException {
        return new MedicationRequestToRde(addressing, Clock.systemDefaultZone()).map(json);
    }
}
