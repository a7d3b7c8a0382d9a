package org.cmm.eventbroker.fhir;

/**
 * Who sends a mapped order to whom, and in which processing mode: MSH-3, MSH-4, MSH-5, MSH-6 and MSH-11 of every
 * message the FHIR order mappers build. The values come from the route's configuration, not from the resource.
 *
 * @param sendingApplication   MSH-3-1
 * @param sendingFacility      MSH-4-1
 * @param receivingApplication MSH-5-1
 * @param receivingFacility    MSH-6-1 (may be empty)
 * @param processingId         MSH-11-1: P production, T training, D debugging
 */
public record OrderAddressing(String sendingApplication, String sendingFacility, String receivingApplication,
                              String receivingFacility, String processingId) {

    /** The broker's defaults towards one receiving application. */
    public static OrderAddressing to(String receivingApplication) {
        return new OrderAddressing("CMM-EVENT-BROKER", "CMM", receivingApplication, "", "P");
    }
}
