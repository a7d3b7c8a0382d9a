package org.cmm.eventbroker.fuzz;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.List;

import ca.uhn.hl7v2.ErrorCode;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.cmm.eventbroker.ehr.EhrRequestRejectedException;
import org.cmm.eventbroker.ehr.EhrWebhookInspector;
import org.cmm.eventbroker.hl7.Hl7Headers;
import org.cmm.eventbroker.hl7.Hl7MessageInspector;
import org.cmm.eventbroker.hl7.Hl7RejectedException;
import org.cmm.eventbroker.platform.mllp.AckBuilder;
import org.cmm.eventbroker.platform.mllp.AckCode;
import org.cmm.eventbroker.platform.mllp.MllpFrame;
import org.cmm.eventbroker.platform.mllp.MllpFrameReader;

/**
 * Property-based fuzzing of what reads untrusted bytes: the MLLP frame reader, the HL7 inspector with the ACK built
 * from its verdict, and the EHR webhook intake's JSON/XML reader, seeded from the public corpus and the samples
 * ({@link FuzzSeeds}). Every input is answered (a frame or a refusal; AA or AR with an ACK that can be written; 2xx
 * or 4xx), no other exception escapes, and no input takes long. The unit suite runs 300 tries per property
 * (src/test/resources/junit-platform.properties); the long run sets {@code -Djqwik.tries.default=1000000}
 * (docs/reliability.md).
 */
class IntakeReadersProperties {

    private static final DefaultCamelContext CONTEXT = new DefaultCamelContext();
    // generous: the first try pays class loading, and CI shares 2 cores with other builds
    private static final long SLOW_NANOS = 10_000_000_000L;

    /** Hands out at most {@code chunk} bytes per read, like a network. */
    private static InputStream chunked(byte[] bytes, int chunk) {
        return new ByteArrayInputStream(bytes) {
            @Override
            public synchronized int read(byte[] b, int off, int len) {
                return super.read(b, off, Math.min(len, chunk));
            }
        };
    }

    @Provide
    Arbitrary<byte[]> mllpStreams() {
        Arbitrary<byte[]> framed = FuzzSeeds.hl7().map(p -> {
            byte[] f = new byte[p.length + 3];
            f[0] = 0x0B;
            System.arraycopy(p, 0, f, 1, p.length);
            f[f.length - 2] = 0x1C;
            f[f.length - 1] = 0x0D;
            return f;
        });
        return Arbitraries.oneOf(framed, FuzzSeeds.hl7()).list().ofMaxSize(5).map(parts -> {
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            parts.forEach(out::writeBytes);
            return out.toByteArray();
        });
    }

    @Property
    void theFrameReaderEndsEveryStreamWithFramesOrARefusal(@ForAll("mllpStreams") byte[] stream,
            @ForAll @IntRange(min = 1, max = 4096) int chunk, @ForAll @IntRange(min = 16, max = 65536) int maxFrame,
            @ForAll @IntRange(min = 1, max = 4096) int maxOutside) {
        long started = System.nanoTime();
        MllpFrameReader reader = new MllpFrameReader(chunked(stream, chunk), maxFrame, maxOutside);
        long payloadBytes = 0;
        try {
            for (int i = 0; ; i++) {
                assertTrue(i <= stream.length + 1, "the reader returned more units than there are bytes");
                MllpFrame frame = reader.next();
                if (frame == null) {
                    break;
                }
                assertTrue(frame.payload().length <= Math.max(maxFrame, maxOutside), "a unit above its bound");
                payloadBytes += frame.length();
            }
        } catch (IOException refused) {
            assertTrue(refused.getMessage().contains("outside any MLLP frame"), refused.getMessage());
        }
        assertTrue(payloadBytes <= stream.length, "more payload than bytes read");
        assertTrue(System.nanoTime() - started < SLOW_NANOS, "slow input");
    }

    @Property
    void theHl7InspectorAcceptsOrRejectsAndTheAckCanAlwaysBeWritten(@ForAll("hl7Messages") byte[] message) {
        long started = System.nanoTime();
        Hl7MessageInspector inspector = new Hl7MessageInspector();
        Exchange exchange = new DefaultExchange(CONTEXT);
        exchange.getMessage().setBody(message);
        AckCode code;
        ErrorCode error = null;
        String reason = null;
        try {
            inspector.process(exchange);
            code = AckCode.AA;
            assertTrue(exchange.getMessage().getHeader(Hl7Headers.DEDUPLICATION_KEY) != null);
        } catch (Hl7RejectedException rejected) {
            code = AckCode.AR;
            error = rejected.getErrorCode();
            reason = rejected.getMessage();
        }
        String charsetName = exchange.getMessage().getHeader(Hl7Headers.CHARSET, String.class);
        Charset charset = charsetName == null ? StandardCharsets.ISO_8859_1 : Charset.forName(charsetName);
        if (code == AckCode.AA) {
            assertTrue(charset.canEncode(), "accepted in a charset no ACK can be written in: " + charset);
        }
        byte[] ack = new AckBuilder().build(message, charset.canEncode() ? charset : StandardCharsets.ISO_8859_1,
                code, error, reason);
        assertTrue(ack.length > 0);
        assertTrue(System.nanoTime() - started < SLOW_NANOS, "slow input");
    }

    @Provide
    Arbitrary<byte[]> hl7Messages() {
        return FuzzSeeds.hl7();
    }

    @Provide
    Arbitrary<byte[]> jsonOrXmlBodies() {
        return FuzzSeeds.jsonOrXml();
    }

    @Property
    void theEhrWebhookIntakeAnswers2xxOr4xx(@ForAll("jsonOrXmlBodies") byte[] body,
            @ForAll("contentTypes") String contentType) {
        long started = System.nanoTime();
        EhrWebhookInspector inspector = new EhrWebhookInspector();
        Exchange exchange = new DefaultExchange(CONTEXT);
        exchange.getMessage().setHeader(Exchange.HTTP_PATH, "/ehr/Epic/Patient/updated");
        if (!contentType.isEmpty()) {
            exchange.getMessage().setHeader(Exchange.CONTENT_TYPE, contentType);
        }
        exchange.getMessage().setBody(body);
        try {
            inspector.process(exchange);
        } catch (EhrRequestRejectedException rejected) {
            assertTrue(rejected.getStatus() >= 400 && rejected.getStatus() < 500, "status " + rejected.getStatus());
        }
        assertTrue(System.nanoTime() - started < SLOW_NANOS, "slow input");
    }

    @Provide
    Arbitrary<String> contentTypes() {
        return Arbitraries.of(List.of("application/json", "application/fhir+json", "application/xml", "text/xml",
                "application/fhir+xml; charset=utf-8", "text/plain", "", "application/json; charset=x-unknown"));
    }
}
