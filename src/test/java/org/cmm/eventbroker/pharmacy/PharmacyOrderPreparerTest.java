package org.cmm.eventbroker.pharmacy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;

import ca.uhn.hl7v2.DefaultHapiContext;
import ca.uhn.hl7v2.HapiContext;
import ca.uhn.hl7v2.util.Terser;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.cmm.eventbroker.platform.delivery.DeliveryRejectedException;
import org.cmm.eventbroker.testsupport.FhirSamples;
import org.cmm.eventbroker.testsupport.Hl7Samples;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class PharmacyOrderPreparerTest {

    private static final String RDE = "MSH|^~\\&|EPIC|GENHOSP|PHARMACY|GENHOSP|20240316080000||RDE^O11^RDE_O11|RDE0001|P|2.5.1"
            + "||||||8859/1\rPID|1||MRN100042^^^GENHOSP^MR||Gómez^Inés\rORC|NW|RX-17\r"
            + "RXE|^^^20240316090000|308191^amoxicillin 500 MG Oral Capsule^RXNORM|500||mg\rRXR|PO\r";

    private static CamelContext camel;
    private static final HapiContext HAPI = new DefaultHapiContext();

    private final PharmacyOrderPreparer preparer = new PharmacyOrderPreparer();

    @BeforeAll
    static void startCamel() {
        camel = new DefaultCamelContext();
        camel.start();
    }

    @AfterAll
    static void stopCamel() throws Exception {
        camel.stop();
        HAPI.close();
    }

    @Test
    void medicationRequestBecomesAnRdeO11InUtf8WithItsControlIdInTheHeaders() throws Exception {
        Exchange exchange = exchange(FhirSamples.load("medication-request-rxnorm.json"));
        preparer.process(exchange);
        String er7 = new String(exchange.getMessage().getBody(byte[].class), StandardCharsets.UTF_8);
        Terser t = new Terser(HAPI.getPipeParser().parse(er7));
        assertEquals("RDE", t.get("/MSH-9-1"));
        assertEquals("O11", t.get("/MSH-9-2"));
        assertEquals("PHARMACY", t.get("/MSH-5"));
        assertEquals("308191", t.get("/ORDER/RXE-2-1"));
        assertEquals(t.get("/MSH-10"), exchange.getMessage().getHeader("hl7_control_id"));
        assertEquals("UTF-8", exchange.getMessage().getHeader("CamelMllpCharset"));
    }

    @Test
    void rdeO11IsPassedOnByteForByteWithItsDeclaredCharset() throws Exception {
        byte[] rde = RDE.getBytes(StandardCharsets.ISO_8859_1);
        Exchange exchange = exchange(rde.clone());
        preparer.process(exchange);
        assertArrayEquals(rde, exchange.getMessage().getBody(byte[].class));
        assertEquals("RDE0001", exchange.getMessage().getHeader("hl7_control_id"));
        assertEquals("ISO-8859-1", exchange.getMessage().getHeader("CamelMllpCharset"));
    }

    @Test
    void labOrderIsRejectedAsNotAPharmacyOrder() {
        byte[] orm = Hl7Samples.load("orm-o01.hl7", "ORM1").getBytes(StandardCharsets.ISO_8859_1);
        assertRejected("HL7 message type ORM^O01 is not a pharmacy order (RDE^O11)", orm);
    }

    @Test
    void unsupportedCharsetIsRejected() {
        assertRejected("HL7 MSH-18 character set 'KLINGON' is not supported",
                RDE.replace("8859/1", "KLINGON").getBytes(StandardCharsets.ISO_8859_1));
    }

    @Test
    void serviceRequestIsRejectedByThePharmacy() {
        assertRejected("FHIR resource is a 'ServiceRequest', not a MedicationRequest",
                FhirSamples.load("service-request-minimal.json"));
    }

    @Test
    void medicationRequestWithOnlyAnExternalMedicationReferenceIsRejected() {
        assertRejected("FHIR MedicationRequest has only a medicationReference to a Medication that is not contained"
                        + " (send medicationCodeableConcept, or contain the Medication)",
                FhirSamples.changed("medication-request-rxnorm.json", r -> {
                    r.remove("medicationCodeableConcept");
                    r.putObject("medicationReference").put("reference", "Medication/amox-500");
                }));
    }

    @Test
    void cancelledPrescriptionBecomesACancel() throws Exception {
        Exchange exchange = exchange(FhirSamples.changed("medication-request-rxnorm.json", r -> r.put("status", "cancelled")));
        preparer.process(exchange);
        Terser t = new Terser(HAPI.getPipeParser().parse(exchange.getMessage().getBody(String.class)));
        assertEquals("CA", t.get("/ORDER/ORC-1"));
    }

    @Test
    void notHl7NorJsonIsRejected() {
        assertRejected("record value is neither an HL7 v2 message (MSH first) nor FHIR JSON",
                "RXE|^^^20240316090000|308191\r".getBytes(StandardCharsets.US_ASCII));
    }

    private void assertRejected(String reason, byte[] body) {
        DeliveryRejectedException e = assertThrows(DeliveryRejectedException.class, () -> preparer.process(exchange(body)));
        assertEquals(reason, e.getMessage());
    }

    private static Exchange exchange(byte[] body) {
        Exchange exchange = new DefaultExchange(camel);
        exchange.getMessage().setBody(body);
        return exchange;
    }
}
