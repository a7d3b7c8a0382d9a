package org.cmm.eventbroker.platform.mllp;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * Splits an MLLP byte stream into frames, however the bytes arrive: several frames in one read (pipelining), one
 * frame over many reads, line breaks between frames. This is the part camel-mllp 4.17 gets wrong (CAMEL-24668: the
 * second frame of a read is dropped), so it is kept small and tested on its own.
 *
 * <p>Framing: start block {@code 0x0B}, payload, end block {@code 0x1C} followed by {@code 0x0D}. A {@code 0x1C}
 * that is not followed by {@code 0x0D} still ends the frame (the next byte is read as the start of what follows).
 * Nothing is ever discarded silently: bytes outside frames and cut-off frames are returned as such.
 *
 * <p>Bytes outside frames are bounded: once {@code maxOutsideBytes} of them have arrived without a start block, they
 * are returned as one {@link MllpFrame.Kind#OUT_OF_FRAME} unit (small enough for a dead-letter record) and every
 * later {@link #next()} throws an {@link IOException}: the connection is not speaking MLLP and is to be closed.
 * Without that bound one connection could fill the heap with a stream that never holds a start block.
 */
public final class MllpFrameReader {

    static final byte START_BLOCK = 0x0B;
    static final byte END_BLOCK = 0x1C;
    static final byte CARRIAGE_RETURN = 0x0D;
    private static final byte LINE_FEED = 0x0A;

    /** Bytes outside frames accepted on one connection before it is refused (64 KiB). */
    public static final int DEFAULT_MAX_OUTSIDE_BYTES = 64 * 1024;

    private final InputStream in;
    private final int maxFrameBytes;
    private final int maxOutsideBytes;
    private Runnable unitStarted = () -> { };
    private boolean refused;
    private final byte[] buffer = new byte[64 * 1024];
    private int position;
    private int limit;

    private final ByteArrayOutputStream payload = new ByteArrayOutputStream(8 * 1024);
    private final ByteArrayOutputStream outside = new ByteArrayOutputStream();
    private long payloadLength;
    private boolean inFrame;
    private boolean afterEndBlock;

    public MllpFrameReader(InputStream in, int maxFrameBytes) {
        this(in, maxFrameBytes, DEFAULT_MAX_OUTSIDE_BYTES);
    }

    public MllpFrameReader(InputStream in, int maxFrameBytes, int maxOutsideBytes) {
        if (maxOutsideBytes < 1) {
            throw new IllegalArgumentException("maxOutsideBytes must be at least 1, not " + maxOutsideBytes);
        }
        this.in = in;
        this.maxFrameBytes = maxFrameBytes;
        this.maxOutsideBytes = maxOutsideBytes;
    }

    /**
     * Called (on the reading thread) when the first byte of a new unit arrives: a start block, or a byte outside a
     * frame other than a line break. The listener starts its frame-read deadline there.
     */
    public void onUnitStarted(Runnable listener) {
        this.unitStarted = listener;
    }

    /** True when bytes already read are waiting to be scanned (a pipelined frame). */
    public boolean hasBufferedBytes() {
        return position < limit || inFrame || afterEndBlock || outside.size() > 0;
    }

    /** True when bytes of an unfinished frame are buffered (an idle timeout now would cut a message). */
    public boolean isInsideFrame() {
        return inFrame;
    }

    /**
     * Reads the next frame, blocking as needed.
     *
     * @return the next frame, or null at the end of the stream with nothing pending
     * @throws IOException from the stream (including {@link java.net.SocketTimeoutException} when idle)
     */
    public MllpFrame next() throws IOException {
        if (refused) {
            throw new IOException("more than " + maxOutsideBytes + " bytes outside any MLLP frame: not an MLLP sender");
        }
        while (true) {
            if (position == limit) {
                int n = in.read(buffer);
                if (n < 0) {
                    return atEndOfStream();
                }
                position = 0;
                limit = n;
            }
            MllpFrame frame = scan();
            if (frame != null) {
                return frame;
            }
        }
    }

    private MllpFrame scan() {
        if (afterEndBlock) {
            afterEndBlock = false;
            if (buffer[position] == CARRIAGE_RETURN) {
                position++;
                return completeFrame();
            }
            return completeFrame();
        }
        if (!inFrame) {
            while (position < limit) {
                byte b = buffer[position++];
                if (b == START_BLOCK) {
                    if (outside.size() == 0) {
                        unitStarted.run();
                    }
                    inFrame = true;
                    payload.reset();
                    payloadLength = 0;
                    if (outside.size() > 0) {
                        return takeOutside();
                    }
                    return null;
                }
                if (b != CARRIAGE_RETURN && b != LINE_FEED || outside.size() > 0) {
                    if (outside.size() == 0) {
                        unitStarted.run();
                    }
                    outside.write(b);
                    if (outside.size() >= maxOutsideBytes) {
                        refused = true;
                        return takeOutside();
                    }
                }
            }
            return null;
        }
        int start = position;
        while (position < limit) {
            byte b = buffer[position];
            if (b == END_BLOCK) {
                append(start, position);
                position++;
                inFrame = false;
                if (position < limit) {
                    if (buffer[position] == CARRIAGE_RETURN) {
                        position++;
                    }
                    return completeFrame();
                }
                afterEndBlock = true;
                return null;
            }
            if (b == START_BLOCK) {
                // a new frame starts before the previous one ended: report the previous one as cut off
                append(start, position);
                position++;
                MllpFrame cut = new MllpFrame(MllpFrame.Kind.TRUNCATED, payload.toByteArray(), payloadLength);
                payload.reset();
                payloadLength = 0;
                return cut;
            }
            position++;
        }
        append(start, position);
        return null;
    }

    private void append(int from, int to) {
        int n = to - from;
        if (n <= 0) {
            return;
        }
        int room = (int) Math.max(0, Math.min(n, maxFrameBytes - payloadLength));
        if (room > 0) {
            payload.write(buffer, from, room);
        }
        payloadLength += n;
    }

    private MllpFrame completeFrame() {
        byte[] bytes = payload.toByteArray();
        payload.reset();
        MllpFrame.Kind kind = payloadLength > maxFrameBytes ? MllpFrame.Kind.OVERSIZE : MllpFrame.Kind.MESSAGE;
        MllpFrame frame = new MllpFrame(kind, bytes, payloadLength);
        payloadLength = 0;
        return frame;
    }

    private MllpFrame takeOutside() {
        byte[] bytes = outside.toByteArray();
        outside.reset();
        return new MllpFrame(MllpFrame.Kind.OUT_OF_FRAME, bytes, bytes.length);
    }

    private MllpFrame atEndOfStream() {
        if (afterEndBlock) {
            afterEndBlock = false;
            return completeFrame();
        }
        if (inFrame) {
            inFrame = false;
            MllpFrame cut = new MllpFrame(MllpFrame.Kind.TRUNCATED, payload.toByteArray(), payloadLength);
            payload.reset();
            payloadLength = 0;
            return cut;
        }
        if (outside.size() > 0) {
            return takeOutside();
        }
        return null;
    }
}
