package org.cmm.eventbroker.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;

import ca.uhn.hl7v2.DefaultHapiContext;
import ca.uhn.hl7v2.HapiContext;
import ca.uhn.hl7v2.model.Message;
import ca.uhn.hl7v2.model.Segment;
import ca.uhn.hl7v2.model.Structure;
import ca.uhn.hl7v2.model.Type;
import ca.uhn.hl7v2.parser.GenericModelClassFactory;
import ca.uhn.hl7v2.parser.PipeParser;
import ca.uhn.hl7v2.preparser.PreParser;
import ca.uhn.hl7v2.util.Terser;
import ca.uhn.hl7v2.validation.impl.ValidationContextFactory;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.cmm.eventbroker.pharmacy.DispensingClassifier;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Every ORU^R01 and RDS^O13 of the public corpus (../shared/corpus/hl7v2, see its SOURCES.md) is classified, and a
 * result's class equals the one computed here independently from HAPI's generic parse of the whole message (the
 * classifier reads raw ER7 lines). Skipped when the corpus is not beside the project.
 */
class LabResultCorpusClassificationTest {

    private static final Path CORPUS = Path.of("..", "shared", "corpus", "hl7v2");
    private static final Set<String> CRITICAL = Set.of("HH", "LL", "AA", "<", ">");
    private static final Set<String> ABNORMAL = Set.of("H", "L", "A", "HU", "LU", "U", "D", "W");
    private static final Set<String> IGNORED = Set.of("D", "W", "X");

    private final DefaultCamelContext context = new DefaultCamelContext();

    @TestFactory
    Stream<DynamicTest> everyCorpusResultIsClassifiedAsHapisGenericParseOfItsObxSegmentsSays() throws Exception {
        assumeTrue(Files.isDirectory(CORPUS), "public corpus not present at " + CORPUS.toAbsolutePath());
        List<Path> files;
        try (Stream<Path> paths = Files.walk(CORPUS)) {
            files = paths.filter(p -> p.toString().endsWith(".hl7")).sorted().toList();
        }
        List<DynamicTest> tests = new ArrayList<>();
        for (Path file : files) {
            byte[] bytes = Files.readAllBytes(file);
            String text = new String(bytes, charsetOf(bytes)).replace("\r\n", "\r").replace('\n', '\r');
            String[] msh9 = PreParser.getFields(text, "MSH-9-1", "MSH-9-2");
            String type = (msh9[0] + "^" + msh9[1]).toUpperCase(Locale.ROOT);
            String name = CORPUS.relativize(file).toString();
            if (type.equals("ORU^R01")) {
                tests.add(DynamicTest.dynamicTest(name, () -> assertEquals(expectedResultClass(text),
                        header(new LabResultClassifier(), bytes, LabResultClassifier.RESULT_CLASS), name)));
            } else if (type.equals("RDS^O13")) {
                tests.add(DynamicTest.dynamicTest(name, () -> assertTrue(Set.of("new", "refill", "return").contains(
                        header(new DispensingClassifier(), bytes, DispensingClassifier.DISPENSING_CLASS)), name)));
            }
        }
        assumeTrue(!tests.isEmpty(), "no ORU^R01 or RDS^O13 in the corpus");
        return tests.stream();
    }

    private String header(org.apache.camel.Processor classifier, byte[] bytes, String header) throws Exception {
        Exchange exchange = new DefaultExchange(context);
        exchange.getMessage().setBody(bytes); // no charset header: the classifier reads MSH-18 itself
        classifier.process(exchange);
        return exchange.getMessage().getHeader(header, String.class);
    }

    /** The class by the default tables, from HAPI's generic model of every OBX wherever it sits in the message. */
    private static String expectedResultClass(String text) throws Exception {
        try (HapiContext hapi = new DefaultHapiContext(new GenericModelClassFactory())) {
            hapi.setValidationContext(ValidationContextFactory.noValidation());
            Message message = new PipeParser(hapi).parse(text);
            String result = "normal";
            if (!java.util.Arrays.asList(message.getNames()).contains("OBX")) {
                return result; // the generic model only knows the segments the message has
            }
            for (Structure s : message.getAll("OBX")) {
                Segment obx = (Segment) s;
                Type[] status = obx.getField(11);
                if (status.length > 0 && IGNORED.contains(value(status[0]))) {
                    continue;
                }
                for (Type flag : obx.getField(8)) {
                    String f = value(flag);
                    if (CRITICAL.contains(f)) {
                        return "critical";
                    }
                    if (ABNORMAL.contains(f)) {
                        result = "abnormal";
                    }
                }
            }
            return result;
        }
    }

    private static String value(Type type) throws Exception {
        String v = Terser.getPrimitive(type, 1, 1).getValue();
        return v == null ? "" : v.trim().toUpperCase(Locale.ROOT);
    }

    private static Charset charsetOf(byte[] bytes) {
        String head = new String(bytes, 0, Math.min(bytes.length, 400), StandardCharsets.ISO_8859_1);
        return head.contains("UTF-8") || head.contains("UNICODE") ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1;
    }
}
