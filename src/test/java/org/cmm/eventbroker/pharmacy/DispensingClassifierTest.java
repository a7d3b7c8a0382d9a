package org.cmm.eventbroker.pharmacy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;

import ca.uhn.hl7v2.ErrorCode;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.cmm.eventbroker.hl7.Hl7RejectedException;
import org.cmm.eventbroker.testsupport.Hl7Samples;
import org.junit.jupiter.api.Test;

class DispensingClassifierTest {

    private final DispensingClassifier classifier = new DispensingClassifier();
    private final DefaultCamelContext context = new DefaultCamelContext();

    private String classify(String text) throws Exception {
        Exchange exchange = new DefaultExchange(context);
        exchange.getMessage().setBody(text.getBytes(StandardCharsets.ISO_8859_1));
        classifier.process(exchange);
        return exchange.getMessage().getHeader(DispensingClassifier.DISPENSING_CLASS, String.class);
    }

    private static String sample(String name) {
        return Hl7Samples.load(name, "RX-" + name);
    }

    @Test
    void aFirstDispenseOfAnOrderIsNew() throws Exception {
        assertEquals("new", classify(sample("rds-o13-new.hl7")));
    }

    @Test
    void aSecondDispenseOfTheSameOrderIsARefill() throws Exception {
        assertEquals("refill", classify(sample("rds-o13-refill.hl7")));
    }

    @Test
    void aNegativeDispensedAmountIsAReturn() throws Exception {
        assertEquals("return", classify(sample("rds-o13-return.hl7")));
    }

    @Test
    void refillOrderControlCodesOfTable0119MakeARefill() throws Exception {
        for (String code : new String[] {"RF", "OF", "FU", "fu"}) {
            assertEquals("refill", classify(sample("rds-o13-new.hl7").replace("ORC|RE|", "ORC|" + code + "|")), code);
        }
    }

    @Test
    void aReturnOutranksARefillInTheSameMessage() throws Exception {
        String refillThenReturn = sample("rds-o13-refill.hl7").replace("|60|TAB", "|-60|TAB");
        assertEquals("return", classify(refillThenReturn));
    }

    @Test
    void noOrderControlMeansReturnUnlessASiteConfiguresOne() throws Exception {
        String localReturn = sample("rds-o13-new.hl7").replace("ORC|RE|", "ORC|RT|");
        assertEquals("new", classify(localReturn));
        classifier.setReturnOrderControls("RT");
        assertEquals("return", classify(localReturn));
        classifier.setRefillOrderControls("");
        assertEquals("new", classify(sample("rds-o13-new.hl7").replace("ORC|RE|", "ORC|RF|")));
    }

    @Test
    void aDispenseOfAnUnknownVersionWithZSegmentsIsClassified() throws Exception {
        assertEquals("return", classify(sample("rds-o13-return.hl7").replace("|2.5.1", "|2.9")));
    }

    @Test
    void aDispenseMessageWithoutRxdIsRejected() {
        String noRxd = sample("rds-o13-new.hl7").replaceAll("RXD\\|[^\r]*\r", "");
        Hl7RejectedException e = assertThrows(Hl7RejectedException.class, () -> classify(noRxd));
        assertEquals(ErrorCode.SEGMENT_SEQUENCE_ERROR, e.getErrorCode());
        assertTrue(e.getMessage().contains("RXD"));
    }

    @Test
    void aDispensedAmountThatIsNotANumberIsRejectedNamingTheFieldNotTheValue() {
        Hl7RejectedException e = assertThrows(Hl7RejectedException.class,
                () -> classify(sample("rds-o13-new.hl7").replace("|60|TAB", "|SIXTY|TAB")));
        assertEquals(ErrorCode.DATA_TYPE_ERROR, e.getErrorCode());
        assertTrue(e.getMessage().contains("RXD-4"));
        assertFalse(e.getMessage().contains("SIXTY"));
    }

    @Test
    void aMessageThatIsNotAnRdsO13IsRejected() {
        Hl7RejectedException e = assertThrows(Hl7RejectedException.class, () -> classify(Hl7Samples.load("oru-r01.hl7", "X")));
        assertEquals(ErrorCode.UNSUPPORTED_MESSAGE_TYPE, e.getErrorCode());
        assertFalse(e.getMessage().contains("QUIXLEY"));
    }
}
