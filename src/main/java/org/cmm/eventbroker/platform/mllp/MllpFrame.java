package org.cmm.eventbroker.platform.mllp;

/**
 * One unit read off an MLLP connection: a complete message, or bytes that could not be framed.
 *
 * @param kind    what was read
 * @param payload the bytes between the start block and the end block (for {@link Kind#OVERSIZE}, the first
 *                {@code maxFrameBytes} of them; for the error kinds, the bytes as they arrived)
 * @param length  how many payload bytes the sender actually sent
 */
public record MllpFrame(Kind kind, byte[] payload, long length) {

    public enum Kind {
        /** A complete frame: {@code <VT> payload <FS><CR>}. */
        MESSAGE,
        /** A complete frame larger than allowed; only its head was kept. The sender expects an ACK. */
        OVERSIZE,
        /** Bytes outside any frame (not counting line breaks between frames). Nobody waits for an ACK. */
        OUT_OF_FRAME,
        /** A frame that was cut off: the connection closed, or a new start block came before the end block. */
        TRUNCATED
    }

    public boolean expectsAcknowledgement() {
        return kind == Kind.MESSAGE || kind == Kind.OVERSIZE;
    }

    /** A reason for the dead-letter record, without any message content. */
    public String problem() {
        return switch (kind) {
            case MESSAGE -> null;
            case OVERSIZE -> "message of " + length + " bytes exceeds the limit of " + payload.length + " bytes";
            case OUT_OF_FRAME -> length + " bytes received outside an MLLP frame";
            case TRUNCATED -> "MLLP frame cut off after " + length + " bytes (no end block)";
        };
    }
}
