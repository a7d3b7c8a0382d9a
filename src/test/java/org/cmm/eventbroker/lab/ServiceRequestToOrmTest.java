package org.cmm.eventbroker.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.stream.Collectors;

import ca.uhn.hl7v2.DefaultHapiContext;
import ca.uhn.hl7v2.HapiContext;
import ca.uhn.hl7v2.model.Message;
import ca.uhn.hl7v2.model.v251.message.ORM_O01;
import ca.uhn.hl7v2.util.Terser;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.cmm.eventbroker.platform.delivery.DeliveryRejectedException;
import org.cmm.eventbroker.fhir.MappedOrder;
import org.cmm.eventbroker.fhir.OrderAddressing;
import org.cmm.eventbroker.testsupport.FhirSamples;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

class ServiceRequestToOrmTest {

    private static final HapiContext HAPI = new DefaultHapiContext();
    private static final Clock NOON = Clock.fixed(Instant.parse("2024-03-20T12:00:00Z"), ZoneOffset.UTC);
    private static final String CHEMISTRY = "service-request-chemistry.json";

    private final ServiceRequestToOrm mapper = new ServiceRequestToOrm(OrderAddressing.to("LIS"), NOON);

    @AfterAll
    static void closeHapi() throws Exception {
        HAPI.close();
    }

    @Test
    void chemistryOrderWithContainedPatientBecomesAnOrmO01ThatHapiParses() throws Exception {
        MappedOrder order = mapper.map(FhirSamples.load(CHEMISTRY));
        Message parsed = HAPI.getPipeParser().parse(order.er7());
        assertInstanceOf(ORM_O01.class, parsed);
        assertEquals("MSH PID PV1 ORC OBR NTE NTE", segmentNames(order.er7()));
        Terser t = new Terser(parsed);

        assertEquals("CMM-EVENT-BROKER", t.get("/MSH-3"));
        assertEquals("CMM", t.get("/MSH-4"));
        assertEquals("LIS", t.get("/MSH-5"));
        assertEquals("20240315094217+0100", t.get("/MSH-7"), "MSH-7 from meta.lastUpdated");
        assertEquals("ORM", t.get("/MSH-9-1"));
        assertEquals("O01", t.get("/MSH-9-2"));
        assertEquals("ORM_O01", t.get("/MSH-9-3"));
        assertEquals(order.controlId(), t.get("/MSH-10"));
        assertTrue(order.controlId().matches("[0-9A-F]{20}"), order.controlId());
        assertEquals("P", t.get("/MSH-11"));
        assertEquals("2.5.1", t.get("/MSH-12"));
        assertEquals("UNICODE UTF-8", t.get("/MSH-18"));

        assertEquals("MRN100042", t.get("/PATIENT/PID-3-1"));
        assertEquals("GENHOSP", t.get("/PATIENT/PID-3-4"));
        assertEquals("MR", t.get("/PATIENT/PID-3-5"));
        assertEquals("Vanterpool", t.get("/PATIENT/PID-5-1"), "the official name, not the nickname");
        assertEquals("Cordelia", t.get("/PATIENT/PID-5-2"));
        assertEquals("Anne", t.get("/PATIENT/PID-5-3"));
        assertEquals("Mrs", t.get("/PATIENT/PID-5-5"));
        assertEquals("L", t.get("/PATIENT/PID-5-7"));
        assertEquals("19880101", t.get("/PATIENT/PID-7"));
        assertEquals("F", t.get("/PATIENT/PID-8"));

        assertEquals("U", t.get("/PATIENT/PATIENT_VISIT/PV1-2"));
        assertEquals("enc-88123", t.get("/PATIENT/PATIENT_VISIT/PV1-19"));

        assertEquals("NW", t.get("/ORDER/ORC-1"));
        assertEquals("ORD7002", t.get("/ORDER/ORC-2"));
        assertEquals("20240315100000+0100", t.get("/ORDER/ORC-7-4"));
        assertEquals("S", t.get("/ORDER/ORC-7-6"));
        assertEquals("20240315094100+0100", t.get("/ORDER/ORC-9"));
        assertEquals("1234", t.get("/ORDER/ORC-12-1"));
        assertEquals("Welby", t.get("/ORDER/ORC-12-2"));

        assertEquals("1", t.get("/ORDER/ORDER_DETAIL/OBR-1"));
        assertEquals("ORD7002", t.get("/ORDER/ORDER_DETAIL/OBR-2"));
        assertEquals("24323-8", t.get("/ORDER/ORDER_DETAIL/OBR-4-1"));
        assertEquals("Comprehensive metabolic 2000 panel - Serum or Plasma", t.get("/ORDER/ORDER_DETAIL/OBR-4-2"));
        assertEquals("LN", t.get("/ORDER/ORDER_DETAIL/OBR-4-3"));
        assertEquals("20240315100000+0100", t.get("/ORDER/ORDER_DETAIL/OBR-7"));
        assertEquals("119364003", t.get("/ORDER/ORDER_DETAIL/OBR-15-1-1"));
        assertEquals("SCT", t.get("/ORDER/ORDER_DETAIL/OBR-15-1-3"));
        assertEquals("1234", t.get("/ORDER/ORDER_DETAIL/OBR-16-1"));
        assertEquals("S", t.get("/ORDER/ORDER_DETAIL/OBR-27-6"));
        assertEquals("73211009", t.get("/ORDER/ORDER_DETAIL/OBR-31-1"));
        assertEquals("SCT", t.get("/ORDER/ORDER_DETAIL/OBR-31-3"));

        assertEquals("1", t.get("/ORDER/ORDER_DETAIL/NTE(0)-1"));
        assertEquals("P", t.get("/ORDER/ORDER_DETAIL/NTE(0)-2"));
        assertEquals("Patient fasting since midnight.", t.get("/ORDER/ORDER_DETAIL/NTE(0)-3"));
        assertEquals("Call ward 4B with results.", t.get("/ORDER/ORDER_DETAIL/NTE(1)-3(0)"));
        assertEquals("Pager 5521.", t.get("/ORDER/ORDER_DETAIL/NTE(1)-3(1)"), "a line break in a note is a new NTE-3 repetition");
        assertFalse(order.er7().contains("\n"), "segments are separated by CR only");
    }

    @Test
    void minimalOrderTakesThePatientFromTheReferenceAndTheTimeFromTheClock() throws Exception {
        MappedOrder order = mapper.map(FhirSamples.load("service-request-minimal.json"));
        Terser t = new Terser(HAPI.getPipeParser().parse(order.er7()));
        assertEquals("MSH PID PV1 ORC OBR", segmentNames(order.er7()));
        assertEquals("20240320120000+0000", t.get("/MSH-7"));
        assertEquals("p-123", t.get("/PATIENT/PID-3-1"));
        assertEquals("U", t.get("/PATIENT/PATIENT_VISIT/PV1-2"));
        assertEquals("NW", t.get("/ORDER/ORC-1"));
        assertEquals("sr-min-1", t.get("/ORDER/ORC-2"), "no identifier: the resource id is the placer order number");
        assertEquals("sr-min-1", t.get("/ORDER/ORDER_DETAIL/OBR-2"));
        assertEquals("2345-7", t.get("/ORDER/ORDER_DETAIL/OBR-4-1"));
        assertEquals("LN", t.get("/ORDER/ORDER_DETAIL/OBR-4-3"));
    }

    @Test
    void subjectIdentifierBecomesPid3WithItsSystemAsAssigningAuthority() throws Exception {
        byte[] json = FhirSamples.changed("service-request-minimal.json", r -> r.putObject("subject")
                .putObject("identifier").put("system", "urn:oid:1.2.3.4").put("value", "MRN555"));
        Terser t = new Terser(HAPI.getPipeParser().parse(mapper.map(json).er7()));
        assertEquals("MRN555", t.get("/PATIENT/PID-3-1"));
        assertEquals("urn:oid:1.2.3.4", t.get("/PATIENT/PID-3-4"));
    }

    @Test
    void statusesMapToOrderControlCodes() throws Exception {
        assertEquals("HD", orderControlFor("on-hold"));
        assertEquals("CA", orderControlFor("revoked"));
        assertEquals("CA", orderControlFor("entered-in-error"));
    }

    private String orderControlFor(String status) throws Exception {
        byte[] json = FhirSamples.changed("service-request-minimal.json", r -> r.put("status", status));
        return new Terser(HAPI.getPipeParser().parse(mapper.map(json).er7())).get("/ORDER/ORC-1");
    }

    @Test
    void delimitersInADisplayAreEscapedByHapiAndReadBackIntact() throws Exception {
        String display = "Glucose | fasting ^ plasma & serum ~ 2h \\ post";
        byte[] json = FhirSamples.changed(CHEMISTRY,
                r -> ((ObjectNode) r.path("code").path("coding").path(0)).put("display", display));
        MappedOrder order = mapper.map(json);
        String obr = Arrays.stream(order.er7().split("\r")).filter(s -> s.startsWith("OBR")).findFirst().orElseThrow();
        assertTrue(obr.contains("Glucose \\F\\ fasting \\S\\ plasma \\T\\ serum \\R\\ 2h \\E\\ post"), obr);
        Terser t = new Terser(HAPI.getPipeParser().parse(order.er7()));
        assertEquals(display, t.get("/ORDER/ORDER_DETAIL/OBR-4-2"));
        assertEquals("LN", t.get("/ORDER/ORDER_DETAIL/OBR-4-3"), "the escaped text did not shift the components");
    }

    @Test
    void theSameBytesGiveTheSameMessageAndControlIdWhateverTheClock() throws Exception {
        byte[] json = FhirSamples.load(CHEMISTRY);
        ServiceRequestToOrm later = new ServiceRequestToOrm(OrderAddressing.to("LIS"),
                Clock.fixed(Instant.parse("2030-01-01T00:00:00Z"), ZoneOffset.UTC));
        MappedOrder first = mapper.map(json);
        MappedOrder redelivered = later.map(json.clone());
        assertEquals(first.controlId(), redelivered.controlId());
        assertEquals(first.er7(), redelivered.er7());
        MappedOrder changed = mapper.map(FhirSamples.changed(CHEMISTRY, r -> r.put("priority", "routine")));
        assertNotEquals(first.controlId(), changed.controlId());
    }

    @Test
    void missingSubjectIsRejected() {
        assertRejected("FHIR ServiceRequest lacks subject (the patient)",
                FhirSamples.changed(CHEMISTRY, r -> r.remove("subject")));
    }

    @Test
    void subjectThatIsNotAPatientIsRejected() {
        assertRejected("FHIR ServiceRequest subject is not a Patient reference",
                FhirSamples.changed(CHEMISTRY, r -> r.putObject("subject").put("reference", "Group/ward-4b")));
    }

    @Test
    void missingCodeIsRejected() {
        assertRejected("FHIR ServiceRequest lacks code (a coding with a code, needed for OBR-4)",
                FhirSamples.changed(CHEMISTRY, r -> r.remove("code")));
        assertRejected("FHIR ServiceRequest lacks code (a coding with a code, needed for OBR-4)",
                FhirSamples.changed(CHEMISTRY, r -> ((ObjectNode) r.path("code").path("coding").path(0)).remove("code")));
    }

    @Test
    void wrongResourceTypeIsRejected() {
        assertRejected("FHIR resource is a 'MedicationRequest', not a ServiceRequest",
                FhirSamples.load("medication-request-rxnorm.json"));
    }

    @Test
    void malformedJsonIsRejectedWithItsPositionOnly() {
        DeliveryRejectedException e = assertThrows(DeliveryRejectedException.class,
                () -> mapper.map("{\"resourceType\": \"ServiceRequest\", \"subject\": MRN100042}".getBytes(StandardCharsets.UTF_8)));
        assertTrue(e.getMessage().startsWith("record value is not well-formed JSON (line 1, column"), e.getMessage());
        assertFalse(e.getMessage().contains("MRN100042"), "the reason does not quote the record");
        assertEquals(null, e.getCause());
    }

    @Test
    void unsupportedStatusIsRejectedNamingTheAcceptedOnes() {
        assertRejected("FHIR ServiceRequest status 'completed' cannot be sent as an order"
                        + " (accepted: active, on-hold, revoked, entered-in-error)",
                FhirSamples.changed(CHEMISTRY, r -> r.put("status", "completed")));
    }

    @Test
    void intentThatIsNotAnOrderIsRejected() {
        assertRejected("FHIR ServiceRequest intent 'plan' is not an order"
                        + " (accepted: order, original-order, reflex-order, instance-order)",
                FhirSamples.changed(CHEMISTRY, r -> r.put("intent", "plan")));
    }

    @Test
    void invalidDateIsRejectedNamingTheElementNotTheValue() {
        assertRejected("FHIR ServiceRequest authoredOn is not a FHIR date/dateTime",
                FhirSamples.changed(CHEMISTRY, r -> r.put("authoredOn", "15/03/2024")));
    }

    @Test
    void orderWithoutIdentifierOrIdIsRejected() {
        assertRejected("FHIR ServiceRequest has neither identifier[0].value nor id (needed for the placer order number, ORC-2)",
                FhirSamples.changed("service-request-minimal.json", r -> r.remove("id")));
    }

    private void assertRejected(String reason, byte[] json) {
        DeliveryRejectedException e = assertThrows(DeliveryRejectedException.class, () -> mapper.map(json));
        assertEquals(reason, e.getMessage());
    }

    static String segmentNames(String er7) {
        return Arrays.stream(er7.split("\r")).map(s -> s.substring(0, 3)).collect(Collectors.joining(" "));
    }
}
