package org.cmm.eventbroker.testsupport;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;

/**
 * A raw MLLP client over a real socket, for what a HAPI client cannot do on purpose: exact bytes in any charset,
 * several frames in one write, broken frames, half a message and a hang-up.
 */
public final class MllpTestClient implements AutoCloseable {

    public static final byte START = 0x0B;
    public static final byte END = 0x1C;
    public static final byte CR = 0x0D;

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;

    public MllpTestClient(int port) throws IOException {
        socket = new Socket("127.0.0.1", port);
        socket.setSoTimeout(15_000);
        in = socket.getInputStream();
        out = socket.getOutputStream();
    }

    public static byte[] frame(byte[] payload) {
        byte[] framed = new byte[payload.length + 3];
        framed[0] = START;
        System.arraycopy(payload, 0, framed, 1, payload.length);
        framed[framed.length - 2] = END;
        framed[framed.length - 1] = CR;
        return framed;
    }

    /** Writes bytes exactly as given, in one write call. */
    public MllpTestClient writeRaw(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
        return this;
    }

    public MllpTestClient send(byte[] payload) throws IOException {
        return writeRaw(frame(payload));
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
        ByteArrayOutputStream reply = new ByteArrayOutputStream();
        int b = in.read();
        while (b != START) {
            if (b < 0) {
                throw new IOException("connection closed before an ACK arrived");
            }
            b = in.read();
        }
        while ((b = in.read()) != END) {
            if (b < 0) {
                throw new IOException("connection closed inside an ACK");
            }
            reply.write(b);
        }
        in.read(); // the CR after the end block
        return reply.toString(StandardCharsets.ISO_8859_1);
    }

    /** True when the server closed the connection (end of stream) within the socket timeout. */
    public boolean serverClosed(int timeoutMs) throws IOException {
        socket.setSoTimeout(timeoutMs);
        try {
            return in.read() < 0;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
