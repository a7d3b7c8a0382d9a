package org.cmm.eventbroker.fuzz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import org.cmm.eventbroker.platform.mllp.Acknowledgement;
import org.cmm.eventbroker.platform.mllp.MllpClient;
import org.cmm.eventbroker.testsupport.FuzzSeeds;
import org.cmm.eventbroker.testsupport.Hl7Samples;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * End to end over a real MLLP listener and Kafka broker (the HL7 flow alone): every input sent as one frame is
 * answered AA or AR within 30 s (AE would mean an exception escaped: the sender would resend for ever), and an input
 * answered AR is on {@code hl7.dlq} byte for byte. Inputs: five corpus messages and the known hard cases (CI), and with
 * {@code JAZZER_FUZZ=1} the fuzzer's mutations of the corpus ({@link FuzzSeeds#hl7Input}).
 */
class Hl7MllpFuzzIT {

    private static RuntimeUnderTest env;

    @BeforeAll
    static void start() throws Exception {
        env = RuntimeUnderTest.flows("hl7-mllp-inbound").start();
    }

    @AfterAll
    static void stop() throws Exception {
        if (env != null) {
            env.close();
        }
    }

    @FuzzTest(maxDuration = "10s")
    void everyFrameIsAnsweredAaOrArAndArsAreDeadLetteredUntouched(FuzzedDataProvider data) throws Exception {
        answeredAndDeadLettered(FuzzSeeds.hl7Input(data));
    }

    /** A few corpus messages and the inputs earlier rounds found (CI, without the fuzzer). */
    @TestFactory
    Stream<DynamicTest> theCorpusAndTheKnownHardCasesAreAnsweredAndDeadLettered() throws Exception {
        List<byte[]> inputs = new ArrayList<>();
        // a few corpus messages (PublicCorpusIT sends them all): the point here is the rejects and their dead letters
        for (Path file : FuzzSeeds.corpusFiles().stream().limit(5).toList()) {
            inputs.add(Files.readAllBytes(file));
        }
        String adt = Hl7Samples.load("adt-a08.hl7", "FZE");
        inputs.add(adt.getBytes(StandardCharsets.ISO_8859_1));
        inputs.add("MSH\rPID|1||P1\r".getBytes(StandardCharsets.ISO_8859_1));
        inputs.add(new byte[0]);
        inputs.add(new byte[] {0, 1, 2, (byte) 0xFF});
        inputs.add(adt.substring(0, 40).getBytes(StandardCharsets.ISO_8859_1));
        for (String charset : new String[] {"GB 18030-2000", "CNS 11643-1992", "x-unknown", "8859/15"}) {
            StringBuilder text = new StringBuilder(adt);
            FuzzSeeds.spliceCharset(text, charset);
            inputs.add(text.toString().getBytes(StandardCharsets.ISO_8859_1));
        }
        List<DynamicTest> tests = new ArrayList<>();
        for (int i = 0; i < inputs.size(); i++) {
            byte[] input = inputs.get(i);
            tests.add(DynamicTest.dynamicTest("input " + i + " (" + input.length + " bytes)",
                    () -> answeredAndDeadLettered(input)));
        }
        return tests.stream();
    }

    private static void answeredAndDeadLettered(byte[] input) throws Exception {
        byte[] payload = withoutBlockBytes(input);
        Acknowledgement ack;
        try (MllpClient client = new MllpClient("127.0.0.1", env.mllpPort(), 30_000)) {
            client.send(payload);
            byte[] reply = client.readFrame();
            ack = read(reply);
        }
        assertTrue(ack.code().equals("AA") || ack.code().equals("AR"), "answered " + ack.code() + ": " + ack.text());
        if (ack.code().equals("AR")) {
            assertArrayEquals(payload, env.topics().awaitRecords("hl7.dlq", r -> Arrays.equals(payload, r.value()), 1)
                    .get(0).value(), "the rejected input is on its dead-letter topic untouched");
        }
    }

    /** The ACK, in whichever charset the listener wrote it (the message's when it could, else its default). */
    private static Acknowledgement read(byte[] reply) {
        for (java.nio.charset.Charset cs : new java.nio.charset.Charset[] {StandardCharsets.ISO_8859_1,
            StandardCharsets.UTF_16, StandardCharsets.UTF_16LE, java.nio.charset.Charset.forName("UTF-32")}) {
            try {
                return Acknowledgement.read(reply, cs);
            } catch (IllegalArgumentException notThisOne) {
                // next
            }
        }
        throw new AssertionError("the reply is not an HL7 ACK in any charset tried (" + reply.length + " bytes)");
    }

    private static byte[] withoutBlockBytes(byte[] message) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(message.length);
        for (byte b : message) {
            if (b != 0x0B && b != 0x1C) {
                out.write(b);
            }
        }
        return out.toByteArray();
    }
}
