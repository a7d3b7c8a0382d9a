package org.cmm.eventbroker.cds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import ca.uhn.hl7v2.DefaultHapiContext;
import ca.uhn.hl7v2.model.v251.message.ORU_R01;
import org.junit.jupiter.api.Test;

/** A CDS alert becomes a valid HL7 v2.5.1 ORU^R01 whose control id is the same each time the alert is mapped. */
class CdsAlertToOruTest {

    @Test
    void anAlertMapsToAnOruThatHapiParsesWithTheAlertInTheObx() throws Exception {
        CdsAlert alert = CdsAlert.of(CdsRules.DRUG_INTERACTION, AlertPriority.HIGH, "MRN1", "drug-drug-interaction",
                "Drug-drug interaction warfarin + aspirin (high): bleeding", List.of("11289", "1191"), 1_700_000_000_000L,
                "pharmacy.orders.inpatient", 0, 42, "O-1");
        String er7 = new CdsAlertToOru().map(alert);
        assertEquals(er7, new CdsAlertToOru().map(CdsAlert.fromJson(alert.toJson())), "deterministic");
        try (DefaultHapiContext hapi = new DefaultHapiContext()) {
            ORU_R01 oru = (ORU_R01) hapi.getPipeParser().parse(er7);
            assertEquals(CdsAlertToOru.controlId(alert), oru.getMSH().getMessageControlID().getValue());
            assertEquals(20, oru.getMSH().getMessageControlID().getValue().length());
            assertEquals("MRN1", oru.getPATIENT_RESULT().getPATIENT().getPID().getPatientIdentifierList(0).getIDNumber().getValue());
            assertEquals("CDS-drug-interaction", oru.getPATIENT_RESULT().getORDER_OBSERVATION().getOBSERVATION(0).getOBX()
                    .getObservationIdentifier().getIdentifier().getValue());
            assertEquals("A", oru.getPATIENT_RESULT().getORDER_OBSERVATION().getOBSERVATION(0).getOBX().getAbnormalFlags(0).getValue());
            assertTrue(er7.contains("warfarin + aspirin"));
        }
    }
}
