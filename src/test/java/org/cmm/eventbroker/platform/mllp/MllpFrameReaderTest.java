package org.cmm.eventbroker.platform.mllp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

class MllpFrameReaderTest {

    private static byte[] frame(String payload) {
        return ("\u000b" + payload + "\u001c\r").getBytes(StandardCharsets.ISO_8859_1);
    }

    private static byte[] concat(byte[]... parts) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.write(p);
        }
        return out.toByteArray();
    }

    private static List<MllpFrame> readAll(InputStream in, int max) throws IOException {
        MllpFrameReader reader = new MllpFrameReader(in, max);
        List<MllpFrame> frames = new ArrayList<>();
        for (MllpFrame f = reader.next(); f != null; f = reader.next()) {
            frames.add(f);
        }
        return frames;
    }

    /** Hands out at most {@code chunk} bytes per read, like a slow network. */
    private static InputStream trickle(byte[] bytes, int chunk) {
        return new ByteArrayInputStream(bytes) {
            @Override
            public synchronized int read(byte[] b, int off, int len) {
                return super.read(b, off, Math.min(len, chunk));
            }

            @Override
            public int read(byte[] b) {
                return read(b, 0, b.length);
            }
        };
    }

    @Test
    void severalFramesInOneReadAreAllReturnedInOrder() throws IOException {
        List<MllpFrame> frames = readAll(new ByteArrayInputStream(concat(frame("MSH|1"), frame("MSH|2"), frame("MSH|3"))), 1000);
        assertEquals(List.of("MSH|1", "MSH|2", "MSH|3"), frames.stream().map(f -> new String(f.payload(), StandardCharsets.ISO_8859_1)).toList());
        frames.forEach(f -> assertEquals(MllpFrame.Kind.MESSAGE, f.kind()));
    }

    @Test
    void aFrameArrivingOneByteAtATimeIsReassembled() throws IOException {
        List<MllpFrame> frames = readAll(trickle(concat(frame("MSH|A\rPID|1"), frame("MSH|B")), 1), 1000);
        assertEquals(2, frames.size());
        assertArrayEquals("MSH|A\rPID|1".getBytes(StandardCharsets.ISO_8859_1), frames.get(0).payload());
        assertArrayEquals("MSH|B".getBytes(StandardCharsets.ISO_8859_1), frames.get(1).payload());
    }

    @Test
    void lineBreaksBetweenFramesAreIgnoredButOtherBytesAreReported() throws IOException {
        byte[] stream = concat(frame("MSH|1"), "\r\n".getBytes(StandardCharsets.ISO_8859_1), "junk".getBytes(StandardCharsets.ISO_8859_1), frame("MSH|2"));
        List<MllpFrame> frames = readAll(new ByteArrayInputStream(stream), 1000);
        assertEquals(List.of(MllpFrame.Kind.MESSAGE, MllpFrame.Kind.OUT_OF_FRAME, MllpFrame.Kind.MESSAGE), frames.stream().map(MllpFrame::kind).toList());
        assertEquals("junk", new String(frames.get(1).payload(), StandardCharsets.ISO_8859_1));
    }

    @Test
    void aFrameCutOffByTheEndOfTheStreamIsReportedNotDropped() throws IOException {
        byte[] stream = concat(frame("MSH|1"), "\u000bMSH|2 partial".getBytes(StandardCharsets.ISO_8859_1));
        List<MllpFrame> frames = readAll(new ByteArrayInputStream(stream), 1000);
        assertEquals(MllpFrame.Kind.TRUNCATED, frames.get(1).kind());
        assertEquals("MSH|2 partial", new String(frames.get(1).payload(), StandardCharsets.ISO_8859_1));
    }

    @Test
    void aStartBlockInsideAFrameReportsTheCutFrameAndStartsANewOne() throws IOException {
        byte[] stream = "\u000bMSH|half\u000bMSH|whole\u001c\r".getBytes(StandardCharsets.ISO_8859_1);
        List<MllpFrame> frames = readAll(new ByteArrayInputStream(stream), 1000);
        assertEquals(List.of(MllpFrame.Kind.TRUNCATED, MllpFrame.Kind.MESSAGE), frames.stream().map(MllpFrame::kind).toList());
        assertEquals("MSH|whole", new String(frames.get(1).payload(), StandardCharsets.ISO_8859_1));
    }

    @Test
    void anEndBlockWithoutCarriageReturnStillEndsTheFrame() throws IOException {
        byte[] stream = "\u000bMSH|1\u001c\u000bMSH|2\u001c".getBytes(StandardCharsets.ISO_8859_1);
        List<MllpFrame> frames = readAll(new ByteArrayInputStream(stream), 1000);
        assertEquals(List.of("MSH|1", "MSH|2"), frames.stream().map(f -> new String(f.payload(), StandardCharsets.ISO_8859_1)).toList());
    }

    @Test
    void anOversizeFrameKeepsItsHeadAndTheStreamStaysInSync() throws IOException {
        byte[] stream = concat(frame("MSH|" + "x".repeat(100)), frame("MSH|next"));
        List<MllpFrame> frames = readAll(trickle(stream, 7), 10);
        assertEquals(MllpFrame.Kind.OVERSIZE, frames.get(0).kind());
        assertEquals(104, frames.get(0).length());
        assertEquals("MSH|xxxxxx", new String(frames.get(0).payload(), StandardCharsets.ISO_8859_1));
        assertEquals(MllpFrame.Kind.MESSAGE, frames.get(1).kind());
        assertEquals("MSH|next", new String(frames.get(1).payload(), StandardCharsets.ISO_8859_1));
    }

    @Test
    void anEmptyStreamHasNoFrames() throws IOException {
        assertNull(new MllpFrameReader(new ByteArrayInputStream(new byte[0]), 10).next());
    }

    /** An endless stream of bytes that are never a start block. */
    private static InputStream endlessGarbage() {
        return new InputStream() {
            @Override
            public int read() {
                return 'x';
            }

            @Override
            public int read(byte[] b, int off, int len) {
                java.util.Arrays.fill(b, off, off + len, (byte) 'x');
                return len;
            }
        };
    }

    @Test
    void bytesOutsideFramesAreBoundedAndThenTheStreamIsRefused() {
        org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(5), () -> {
            MllpFrameReader reader = new MllpFrameReader(endlessGarbage(), 1000);
            MllpFrame first = reader.next();
            assertEquals(MllpFrame.Kind.OUT_OF_FRAME, first.kind());
            assertEquals(MllpFrameReader.DEFAULT_MAX_OUTSIDE_BYTES, first.length());
            assertEquals(MllpFrameReader.DEFAULT_MAX_OUTSIDE_BYTES, first.payload().length);
            IOException refused = org.junit.jupiter.api.Assertions.assertThrows(IOException.class, reader::next);
            org.junit.jupiter.api.Assertions.assertTrue(refused.getMessage().contains("outside"), refused.getMessage());
        });
    }

    @Test
    void bytesOutsideFramesBelowTheLimitAreStillReturnedBeforeTheNextFrame() throws IOException {
        byte[] stray = "x".repeat(100).getBytes(StandardCharsets.ISO_8859_1);
        MllpFrameReader reader = new MllpFrameReader(new ByteArrayInputStream(concat(stray, frame("MSH|1"))), 1000, 200);
        assertEquals(MllpFrame.Kind.OUT_OF_FRAME, reader.next().kind());
        assertEquals("MSH|1", new String(reader.next().payload(), StandardCharsets.ISO_8859_1));
        assertNull(reader.next());
    }
}
