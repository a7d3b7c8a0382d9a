package org.cmm.eventbroker.testsupport;

import java.io.IOException;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;

import org.cmm.eventbroker.platform.mllp.MllpClient;

/**
 * A raw MLLP client over a real socket, for what a HAPI client cannot do on purpose: exact bytes in any charset,
 * several frames in one write, broken frames, half a message and a hang-up.
 */
public final class MllpTestClient implements AutoCloseable {

    public static final byte START = 0x0B;

    private final MllpClient client;

    public MllpTestClient(int port) throws IOException {
        client = new MllpClient("127.0.0.1", port, 15_000);
    }

    public static byte[] frame(byte[] payload) {
        return MllpClient.frame(payload);
    }

    /** Writes bytes exactly as given, in one write call. */
    public MllpTestClient writeRaw(byte[] bytes) throws IOException {
        client.writeRaw(bytes);
        return this;
    }

    public MllpTestClient send(byte[] payload) throws IOException {
        client.send(payload);
        return this;
    }

    /** Sends a message and returns its ACK, read as ISO-8859-1 with CR separators. */
    public String sendAndReceive(String message, Charset charset) throws IOException {
        send(message.getBytes(charset));
        return readAck();
    }

    public String sendAndReceive(String message) throws IOException {
        return sendAndReceive(message, StandardCharsets.ISO_8859_1);
    }

    /** Reads one framed reply; fails after 15 s. */
    public String readAck() throws IOException {
        return new String(client.readFrame(), StandardCharsets.ISO_8859_1);
    }

    /** True when the server closed the connection (end of stream) within the timeout. */
    public boolean serverClosed(int timeoutMs) throws IOException {
        return client.peerClosed(timeoutMs);
    }

    @Override
    public void close() throws IOException {
        client.close();
    }
}
