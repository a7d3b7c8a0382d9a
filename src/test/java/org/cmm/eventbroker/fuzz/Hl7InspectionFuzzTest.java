package org.cmm.eventbroker.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.stream.Stream;

import ca.uhn.hl7v2.ErrorCode;
import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.cmm.eventbroker.hl7.Hl7MessageHeader;
import org.cmm.eventbroker.hl7.Hl7MessageInspector;
import org.cmm.eventbroker.hl7.Hl7RejectedException;
import org.cmm.eventbroker.platform.mllp.AckBuilder;
import org.cmm.eventbroker.platform.mllp.AckCode;
import org.cmm.eventbroker.platform.mllp.Acknowledgement;
import org.cmm.eventbroker.platform.mllp.MllpListenerHeaders;
import org.cmm.eventbroker.testsupport.FuzzSeeds;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Coverage-guided fuzzing (Jazzer) of what the HL7 listener does with a frame's bytes: the inspector (MSH parsing,
 * MSH-18 charsets, PID, the resend key), then the ACK the listener builds from its verdict, and the outbound flows'
 * header reader (issue 17, docs/reliability.md#fuzzing). The inputs are corpus messages with structure-aware
 * mutations ({@link FuzzSeeds#hl7Input}) or raw bytes. Every input is either accepted or rejected with an
 * {@link Hl7RejectedException} (never another exception, which the listener answers AE: the sender would resend it
 * for ever), and an ACK of its verdict can always be built and read back.
 */
class Hl7InspectionFuzzTest {

    private static final DefaultCamelContext CONTEXT = new DefaultCamelContext();
    private static final Hl7MessageInspector INSPECTOR = new Hl7MessageInspector();
    private static final AckBuilder ACKS = new AckBuilder();

    @FuzzTest(maxDuration = "5s")
    void everyInputIsAcceptedOrRejectedAndItsAckCanBeBuilt(FuzzedDataProvider data) {
        answer(FuzzSeeds.hl7Input(data));
    }

    @FuzzTest(maxDuration = "5s")
    void theOutboundHeaderReaderNeverThrows(FuzzedDataProvider data) {
        header(data);
    }

    static void inspection(FuzzedDataProvider data) {
        answer(FuzzSeeds.hl7Input(data));
    }

    static void header(FuzzedDataProvider data) {
        byte[] raw = FuzzSeeds.hl7Input(data);
        Optional<Hl7MessageHeader> header = Hl7MessageHeader.read(raw);
        header.ifPresent(h -> {
            assertNotNull(h.messageType());
            assertNotNull(h.controlId());
            assertNotNull(h.charset(StandardCharsets.ISO_8859_1));
        });
    }

    /** Regression over the public corpus, unmutated (skipped when ../shared/corpus is absent). */
    @TestFactory
    Stream<DynamicTest> everyCorpusMessageIsAnsweredAndItsAckReadsBack() {
        assumeTrue(FuzzSeeds.corpusPresent(), "public corpus not present at " + FuzzSeeds.CORPUS.toAbsolutePath());
        return FuzzSeeds.corpusFiles().stream().map(file -> DynamicTest.dynamicTest(file.getFileName().toString(), () -> {
            byte[] raw = Files.readAllBytes(file);
            assertEquals(AckCode.AA, answer(raw), "a corpus message is deliverable: " + Path.of(file.toString()));
            assertTrue(Hl7MessageHeader.read(raw).isPresent());
        }));
    }

    /** What the listener answers for these bytes, checked to be a readable ACK of that code. */
    private static AckCode answer(byte[] raw) {
        Exchange exchange = new DefaultExchange(CONTEXT);
        exchange.getMessage().setBody(raw);
        AckCode code;
        String reason = null;
        try {
            INSPECTOR.process(exchange);
            code = AckCode.AA;
        } catch (Hl7RejectedException e) {
            code = AckCode.AR;
            reason = e.getMessage();
            assertNotNull(reason);
        }
        Charset charset = writable(exchange.getMessage().getHeader(MllpListenerHeaders.CHARSET, String.class));
        for (AckCode c : code == AckCode.AA ? new AckCode[] {AckCode.AA, AckCode.AE} : new AckCode[] {AckCode.AR}) {
            byte[] ack = ACKS.build(raw, charset, c, c == AckCode.AA ? null : ErrorCode.APPLICATION_INTERNAL_ERROR,
                    c == AckCode.AA ? null : reason == null ? "not stored" : reason);
            Acknowledgement read = Acknowledgement.read(ack, charset);
            assertEquals(c.name(), read.code(), () -> "the ACK built says what was decided: "
                    + new String(ack, charset).replace('\r', '\n') + "\nfor: "
                    + new String(raw, 0, Math.min(raw.length, 300), StandardCharsets.ISO_8859_1).replace('\r', '\n'));
            if (c == AckCode.AA) {
                assertTrue(read.controlId() != null && !read.controlId().isEmpty(),
                        "an AA echoes the message's control id, which the inspector requires");
            }
        }
        return code;
    }

    private static Charset writable(String name) {
        try {
            Charset charset = name == null ? StandardCharsets.ISO_8859_1 : Charset.forName(name);
            return charset.canEncode() ? charset : StandardCharsets.ISO_8859_1;
        } catch (RuntimeException e) {
            return StandardCharsets.ISO_8859_1;
        }
    }
}
