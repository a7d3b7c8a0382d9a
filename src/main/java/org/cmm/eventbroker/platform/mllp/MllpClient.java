package org.cmm.eventbroker.platform.mllp;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.Arrays;

/**
 * A plain MLLP client over one socket: sends bytes exactly as given and reads framed replies. The replay tool, the
 * benchmark's senders and the tests use it where HAPI's client would re-encode the message.
 */
public final class MllpClient implements AutoCloseable {

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private byte[] reply = new byte[4096];

    public MllpClient(String host, int port, int readTimeoutMs) throws IOException {
        this(new Socket(host, port), readTimeoutMs);
    }

    /** Over a socket already connected, e.g. a TLS socket ({@code SSLSocketFactory.createSocket(host, port)}). */
    public MllpClient(Socket connected, int readTimeoutMs) throws IOException {
        socket = connected;
        socket.setTcpNoDelay(true);
        socket.setSoTimeout(readTimeoutMs);
        in = new BufferedInputStream(socket.getInputStream());
        out = socket.getOutputStream();
    }

    /** {@code <VT> payload <FS><CR>}. */
    public static byte[] frame(byte[] payload) {
        byte[] framed = new byte[payload.length + 3];
        framed[0] = MllpFrameReader.START_BLOCK;
        System.arraycopy(payload, 0, framed, 1, payload.length);
        framed[framed.length - 2] = MllpFrameReader.END_BLOCK;
        framed[framed.length - 1] = MllpFrameReader.CARRIAGE_RETURN;
        return framed;
    }

    /** Sends one framed message in one write. */
    public void send(byte[] payload) throws IOException {
        writeRaw(frame(payload));
    }

    /** Writes bytes exactly as given, in one write call. */
    public void writeRaw(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
    }

    /**
     * Reads the next framed reply and returns what is between its blocks.
     *
     * @throws SocketTimeoutException when nothing complete arrives within the read timeout
     * @throws IOException when the peer closes the connection first
     */
    public byte[] readFrame() throws IOException {
        int b;
        while ((b = in.read()) != MllpFrameReader.START_BLOCK) {
            if (b < 0) {
                throw new IOException("connection closed before a reply arrived");
            }
        }
        int n = 0;
        while ((b = in.read()) != MllpFrameReader.END_BLOCK) {
            if (b < 0) {
                throw new IOException("connection closed inside a reply");
            }
            if (n == reply.length) {
                reply = Arrays.copyOf(reply, n * 2);
            }
            reply[n++] = (byte) b;
        }
        in.read(); // the CR after the end block
        return Arrays.copyOf(reply, n);
    }

    /** True when the peer closed the connection (end of stream) within the given time. */
    public boolean peerClosed(int timeoutMs) throws IOException {
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
