package org.cmm.eventbroker.lab;

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

class LabOrderPreparerTest {

    private static CamelContext camel;
    private static final HapiContext HAPI = new DefaultHapiContext();

    private final LabOrderPreparer preparer = new LabOrderPreparer();

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
    void serviceRequestBecomesAnOrmO01InUtf8WithItsControlIdInTheHeaders() throws Exception {
        Exchange exchange = exchange(FhirSamples.load("service-request-chemistry.json"));
        preparer.process(exchange);
        String er7 = new String(exchange.getMessage().getBody(byte[].class), StandardCharsets.UTF_8);
        Terser t = new Terser(HAPI.getPipeParser().parse(er7));
        assertEquals("ORM", t.get("/MSH-9-1"));
        assertEquals("CMM-EVENT-BROKER", t.get("/MSH-3"));
        assertEquals("LIS", t.get("/MSH-5"));
        assertEquals(t.get("/MSH-10"), exchange.getMessage().getHeader("hl7_control_id"));
        assertEquals("UTF-8", exchange.getMessage().getHeader("CamelMllpCharset"));
    }

    @Test
    void addressingSettersReachTheMappedHeader() throws Exception {
        preparer.setSendingApplication("BROKER");
        preparer.setSendingFacility("CMM-NORTH");
        preparer.setReceivingApplication("LIS-CHEM");
        preparer.setReceivingFacility("LAB1");
        preparer.setProcessingId("T");
        Exchange exchange = exchange(FhirSamples.load("service-request-minimal.json"));
        preparer.process(exchange);
        Terser t = new Terser(HAPI.getPipeParser().parse(exchange.getMessage().getBody(String.class)));
        assertEquals("BROKER", t.get("/MSH-3"));
        assertEquals("CMM-NORTH", t.get("/MSH-4"));
        assertEquals("LIS-CHEM", t.get("/MSH-5"));
        assertEquals("LAB1", t.get("/MSH-6"));
        assertEquals("T", t.get("/MSH-11"));
    }

    @Test
    void aRedeliveredRecordCarriesTheSameControlId() throws Exception {
        byte[] json = FhirSamples.load("service-request-minimal.json");
        Exchange first = exchange(json);
        Exchange again = exchange(json.clone());
        preparer.process(first);
        preparer.process(again);
        assertEquals(first.getMessage().getHeader("hl7_control_id"), again.getMessage().getHeader("hl7_control_id"));
    }

    @Test
    void ormO01IsPassedOnByteForByte() throws Exception {
        byte[] orm = Hl7Samples.load("orm-o01.hl7", "ORM70020001").getBytes(StandardCharsets.ISO_8859_1);
        Exchange exchange = exchange(orm.clone());
        preparer.process(exchange);
        assertArrayEquals(orm, exchange.getMessage().getBody(byte[].class));
        assertEquals("ORM70020001", exchange.getMessage().getHeader("hl7_control_id"));
        assertEquals("ISO-8859-1", exchange.getMessage().getHeader("CamelMllpCharset"), "no MSH-18: the default");
    }

    @Test
    void omlO21InUtf8IsPassedOnWithItsDeclaredCharset() throws Exception {
        byte[] oml = ("MSH|^~\\&|EPIC|GENHOSP|LIS|GENHOSP|20240315100000||OML^O21^OML_O21|OML1|P|2.5.1|||||"
                + "|UNICODE UTF-8\rPID|1||MRN100003^^^GENHOSP^MR||Müller^Jürgen\rORC|NW|ORD7003\r"
                + "OBR|1|ORD7003||2345-7^Glucose^LN\r").getBytes(StandardCharsets.UTF_8);
        Exchange exchange = exchange(oml.clone());
        preparer.process(exchange);
        assertArrayEquals(oml, exchange.getMessage().getBody(byte[].class));
        assertEquals("OML1", exchange.getMessage().getHeader("hl7_control_id"));
        assertEquals("UTF-8", exchange.getMessage().getHeader("CamelMllpCharset"));
    }

    @Test
    void adtIsRejectedAsNotALabOrder() {
        byte[] adt = Hl7Samples.load("adt-a01.hl7", "ADT1").getBytes(StandardCharsets.ISO_8859_1);
        assertRejected("HL7 message type ADT^A01 is not a lab order (ORM^O01, OML^O21)", adt);
    }

    @Test
    void anOversizedRecordIsRejectedWithItsSize() {
        byte[] order = Hl7Samples.load("orm-o01.hl7", "BIG1").getBytes(StandardCharsets.ISO_8859_1);
        preparer.setMaxRecordBytes(order.length - 1);
        try {
            assertRejected("record value of " + order.length + " bytes exceeds the limit of " + (order.length - 1)
                    + " bytes for a lab order", order);
        } finally {
            preparer.setMaxRecordBytes(1024 * 1024);
        }
    }

    @Test
    void hl7OrderWithoutControlIdIsRejected() {
        assertRejected("HL7 message lacks MSH-10 (message control id)",
                "MSH|^~\\&|EPIC|GENHOSP|LIS|GENHOSP|20240315100000||ORM^O01||P|2.5.1\r".getBytes(StandardCharsets.US_ASCII));
    }

    @Test
    void medicationRequestIsRejectedByTheLab() {
        assertRejected("FHIR resource is a 'MedicationRequest', not a ServiceRequest",
                FhirSamples.load("medication-request-rxnorm.json"));
    }

    @Test
    void serviceRequestWithoutSubjectIsRejected() {
        assertRejected("FHIR ServiceRequest lacks subject (the patient)",
                FhirSamples.changed("service-request-chemistry.json", r -> r.remove("subject")));
    }

    @Test
    void malformedJsonIsRejected() {
        DeliveryRejectedException e = assertThrows(DeliveryRejectedException.class,
                () -> preparer.process(exchange("  {\"resourceType\": ".getBytes(StandardCharsets.UTF_8))));
        assertEquals(true, e.getMessage().startsWith("record value is not well-formed JSON"), e.getMessage());
    }

    @Test
    void neitherHl7NorJsonIsRejected() {
        assertRejected("record value is neither an HL7 v2 message (MSH first) nor FHIR JSON",
                "<ServiceRequest xmlns=\"http://hl7.org/fhir\"/>".getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void emptyRecordIsRejected() {
        assertRejected("record value is empty", new byte[0]);
        assertRejected("record value is empty", " \r\n".getBytes(StandardCharsets.US_ASCII));
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
