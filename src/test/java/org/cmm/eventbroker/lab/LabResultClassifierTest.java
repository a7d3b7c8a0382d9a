package org.cmm.eventbroker.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;

import ca.uhn.hl7v2.ErrorCode;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.cmm.eventbroker.hl7.Hl7Headers;
import org.cmm.eventbroker.hl7.Hl7RejectedException;
import org.cmm.eventbroker.testsupport.Hl7Samples;
import org.junit.jupiter.api.Test;

class LabResultClassifierTest {

    private final LabResultClassifier classifier = new LabResultClassifier();
    private final DefaultCamelContext context = new DefaultCamelContext();

    private String classify(String text) throws Exception {
        Exchange exchange = new DefaultExchange(context);
        exchange.getMessage().setBody(text.getBytes(StandardCharsets.ISO_8859_1));
        classifier.process(exchange);
        return exchange.getMessage().getHeader(LabResultClassifier.RESULT_CLASS, String.class);
    }

    private static String sample(String name) {
        return Hl7Samples.load(name, "LAB-" + name);
    }

    private static String withObx(String version, String... obx) {
        StringBuilder m = new StringBuilder("MSH|^~\\&|LAB|GENHOSP|CMM_BROKER|CMM|20240315101500||ORU^R01|L1|P|" + version
                + "\rPID|1||MRN1^^^GENHOSP^MR\rOBR|1|O1|F1|2345-7^Glucose^LN\r");
        for (String o : obx) {
            m.append(o).append('\r');
        }
        return m.toString();
    }

    @Test
    void aResultWithNormalAndBlankFlagsAndAZSegmentBetweenObxIsNormal() throws Exception {
        assertEquals("normal", classify(sample("oru-r01-normal.hl7")));
    }

    @Test
    void aHighFlagInLowerCaseMakesTheMessageAbnormal() throws Exception {
        assertEquals("abnormal", classify(sample("oru-r01-abnormal.hl7")));
    }

    @Test
    void aPanicFlagInASecondRepetitionOfObx8MakesTheMessageCritical() throws Exception {
        assertEquals("critical", classify(sample("oru-r01-critical-repeated-flags.hl7")));
    }

    @Test
    void aPanicValueWhoseStatusIsDeletedDoesNotCountSoTheRestDecides() throws Exception {
        assertEquals("abnormal", classify(sample("oru-r01-deleted-critical.hl7")));
    }

    @Test
    void theMostSevereObservationDecidesWhateverItsPosition() throws Exception {
        assertEquals("critical", classify(sample("oru-r01.hl7"))); // H then HH
        assertEquals("critical", classify(withObx("2.5", "OBX|1|NM|A||1|||LL|||F", "OBX|2|NM|B||1|||H|||F")));
    }

    @Test
    void offScaleFlagsAndVeryAbnormalAreCriticalByDefault() throws Exception {
        for (String flag : new String[] {"HH", "LL", "AA", "<", ">", "hh"}) {
            assertEquals("critical", classify(withObx("2.5.1", "OBX|1|NM|A||1|||" + flag + "|||F")), flag);
        }
    }

    @Test
    void aCodedFlagOfVersion27ReadsByItsFirstComponent() throws Exception {
        assertEquals("critical", classify(withObx("2.7", "OBX|1|NM|A||1|||HH^Above upper panic limits^HL70078|||F")));
        assertEquals("abnormal", classify(withObx("2.8", "OBX|1|NM|A||1|||HU^Very high^HL70078|||F")));
    }

    @Test
    void unknownOrQualitativeFlagsAndAnUnknownVersionDoNotFailAndCountAsNormal() throws Exception {
        assertEquals("normal", classify(withObx("2.9.9", "OBX|1|ST|A||x|||POS|||F", "OBX|2|ST|B||y|||S~N|||F")));
    }

    @Test
    void wrongPatientAndCannotBeObtainedStatusesAreIgnoredButPreliminaryAndMissingStatusesCount() throws Exception {
        assertEquals("normal", classify(withObx("2.5", "OBX|1|NM|A||1|||HH|||W", "OBX|2|NM|B||1|||LL|||x")));
        assertEquals("critical", classify(withObx("2.5", "OBX|1|NM|A||1|||HH|||P")));
        assertEquals("critical", classify(withObx("2.5", "OBX|1|NM|A||1|||HH")));
    }

    @Test
    void aResultWithoutObservationsIsNormal() throws Exception {
        assertEquals("normal", classify(withObx("2.5")));
    }

    @Test
    void theFlagTablesAndIgnoredStatusesAreConfigurable() throws Exception {
        classifier.setCriticalFlags("HH, LL, crit");
        classifier.setAbnormalFlags("H,L,POS");
        classifier.setIgnoredStatuses("D");
        assertEquals("critical", classify(withObx("2.5", "OBX|1|NM|A||1|||CRIT|||F")));
        assertEquals("abnormal", classify(withObx("2.5", "OBX|1|ST|A||1|||pos|||F")));
        assertEquals("abnormal", classify(withObx("2.5", "OBX|1|NM|A||1|||H|||F")));
        assertEquals("normal", classify(withObx("2.5", "OBX|1|NM|A||1|||<|||F")));
        assertEquals("critical", classify(withObx("2.5", "OBX|1|NM|A||1|||HH|||W")));
    }

    @Test
    void theCharsetFoundByTheInspectorIsUsedAndUtf8TextDoesNotDisturbTheFlags() throws Exception {
        String text = withObx("2.5", "OBX|1|ST|A||Hémolyse légère|||A|||F");
        Exchange exchange = new DefaultExchange(context);
        exchange.getMessage().setBody(text.getBytes(StandardCharsets.UTF_8));
        exchange.getMessage().setHeader(Hl7Headers.CHARSET, "UTF-8");
        classifier.process(exchange);
        assertEquals("abnormal", exchange.getMessage().getHeader(LabResultClassifier.RESULT_CLASS));
    }

    @Test
    void aMessageThatIsNotAnOruR01IsRejectedNamingOnlyItsType() {
        Hl7RejectedException e = assertThrows(Hl7RejectedException.class, () -> classify(Hl7Samples.load("adt-a01.hl7", "X")));
        assertEquals(ErrorCode.UNSUPPORTED_MESSAGE_TYPE, e.getErrorCode());
        assertTrue(e.getMessage().contains("ORU^R01") && e.getMessage().contains("ADT^A01"), e.getMessage());
        assertFalse(e.getMessage().contains("ZEBEDEE"));
        assertThrows(Hl7RejectedException.class, () -> classify(withObx("2.5").replace("ORU^R01", "ORU^R30")));
        assertThrows(Hl7RejectedException.class, () -> classify("PID|1||MRN1\r"));
    }
}
