package org.cmm.eventbroker.fuzz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import org.cmm.eventbroker.platform.mllp.MllpFrame;
import org.cmm.eventbroker.platform.mllp.MllpFrameReader;
import org.cmm.eventbroker.testsupport.FuzzSeeds;

/**
 * Coverage-guided fuzzing (Jazzer) of the MLLP frame reader, the first code every byte from a sender meets (issue 17,
 * docs/reliability.md#fuzzing). Without {@code JAZZER_FUZZ} these run as regression tests over their seeds
 * ({@code src/test/resources/org/cmm/eventbroker/fuzz/MllpFrameReaderFuzzTestInputs/}); with it, the fuzzer runs.
 */
class MllpFrameReaderFuzzTest {

    /**
     * Any bytes, arriving in any chunks: the reader always ends (each call consumes input or returns null), never
     * throws anything but the IOException of a refused connection, keeps every unit within its bounds, and accounts
     * for every byte that is not a line break between frames or a block byte.
     */
    @FuzzTest(maxDuration = "5s")
    void anyBytesInAnyChunksAreSplitIntoBoundedUnitsWithoutAnException(FuzzedDataProvider data) {
        anyBytes(data);
    }

    static void anyBytes(FuzzedDataProvider data) {
        int maxFrame = data.consumeInt(1, 4096);
        int maxOutside = data.consumeInt(1, 1024);
        int[] chunks = new int[data.consumeInt(1, 8)];
        for (int i = 0; i < chunks.length; i++) {
            chunks[i] = data.consumeInt(1, 64);
        }
        byte[] stream = data.consumeRemainingAsBytes();
        MllpFrameReader reader = new MllpFrameReader(new ChunkedStream(stream, chunks), maxFrame, maxOutside);
        long accounted = 0;
        boolean refused = false;
        for (int calls = 0; ; calls++) {
            if (calls > stream.length + 2) {
                fail("the reader returned more units than there are bytes: " + calls);
            }
            MllpFrame frame;
            try {
                frame = reader.next();
            } catch (IOException e) {
                assertTrue(e.getMessage().contains("outside any MLLP frame"), e.getMessage());
                refused = true;
                break;
            }
            if (frame == null) {
                break;
            }
            assertNotNull(frame.kind());
            switch (frame.kind()) {
                case MESSAGE -> {
                    assertEquals(frame.length(), frame.payload().length);
                    assertTrue(frame.length() <= maxFrame);
                    assertNoBlockByte(frame.payload());
                }
                case OVERSIZE -> {
                    assertTrue(frame.length() > maxFrame);
                    assertEquals(maxFrame, frame.payload().length, "an oversize frame keeps its head only");
                }
                case TRUNCATED -> assertTrue(frame.payload().length <= Math.min(frame.length(), maxFrame));
                case OUT_OF_FRAME -> assertTrue(frame.payload().length <= maxOutside);
                default -> fail("unknown kind " + frame.kind());
            }
            accounted += frame.length();
        }
        assertTrue(accounted <= stream.length, "more bytes returned than received");
        if (refused) {
            assertTrue(stream.length >= maxOutside, "refused before the bound was reached");
        }
    }

    /**
     * Well-framed corpus messages, pipelined and cut into any chunks, come back one for one and byte for byte.
     */
    @FuzzTest(maxDuration = "5s")
    void framedCorpusMessagesComeBackExactlyWhateverTheChunks(FuzzedDataProvider data) throws IOException {
        framedMessages(data);
    }

    static void framedMessages(FuzzedDataProvider data) throws IOException {
        List<byte[]> seeds = FuzzSeeds.hl7Messages();
        List<byte[]> sent = new ArrayList<>();
        ByteArrayOutputStream wire = new ByteArrayOutputStream();
        int count = data.consumeInt(1, 4);
        for (int i = 0; i < count; i++) {
            byte[] message = withoutBlockBytes(seeds.get(data.consumeInt(0, seeds.size() - 1)));
            sent.add(message);
            if (data.consumeBoolean()) {
                wire.write('\n');
            }
            wire.write(0x0B);
            wire.write(message);
            wire.write(0x1C);
            wire.write(0x0D);
        }
        int[] chunks = new int[data.consumeInt(1, 8)];
        for (int i = 0; i < chunks.length; i++) {
            chunks[i] = data.consumeInt(1, 4096);
        }
        MllpFrameReader reader = new MllpFrameReader(new ChunkedStream(wire.toByteArray(), chunks), 1 << 20);
        for (byte[] message : sent) {
            MllpFrame frame = reader.next();
            assertNotNull(frame, "a frame is missing");
            assertEquals(MllpFrame.Kind.MESSAGE, frame.kind());
            assertArrayEquals(message, frame.payload());
        }
        assertEquals(null, reader.next(), "nothing after the last frame");
    }

    private static void assertNoBlockByte(byte[] payload) {
        for (byte b : payload) {
            assertTrue(b != 0x0B && b != 0x1C, "a block byte inside a message's payload");
        }
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

    /** Hands out the bytes in reads of the given sizes, in turn, as a socket would. */
    private static final class ChunkedStream extends InputStream {
        private final byte[] bytes;
        private final int[] chunks;
        private int position;
        private int turn;

        ChunkedStream(byte[] bytes, int[] chunks) {
            this.bytes = bytes;
            this.chunks = chunks;
        }

        @Override
        public int read() {
            return position < bytes.length ? bytes[position++] & 0xFF : -1;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (position >= bytes.length) {
                return -1;
            }
            int n = Math.min(Math.min(len, chunks[turn++ % chunks.length]), bytes.length - position);
            System.arraycopy(bytes, position, b, off, n);
            position += n;
            return n;
        }
    }
}
