package org.cmm.eventbroker.testsupport;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;

import org.cmm.eventbroker.platform.mllp.MllpClient;
import org.cmm.eventbroker.platform.mllp.MllpFrame;
import org.cmm.eventbroker.platform.mllp.MllpFrameReader;

/**
 * A TCP link between the runtime and a real peer that can break the way networks and peers do: the next reply is
 * lost (the sender times out), replaced by bytes that are not an ACK, or the connection is dropped as the reply comes.
 * Messages always reach the peer; only what comes back is tampered with.
 */
public final class MllpLinkFaults implements AutoCloseable {

    /** What happens to one reply. */
    public enum Fault { SWALLOW, GARBAGE, DROP }

    private final ServerSocket listener;
    private final int peerPort;
    private final Queue<Fault> faults = new ConcurrentLinkedQueue<>();
    private volatile boolean open = true;

    public MllpLinkFaults(int listenPort, int peerPort) throws IOException {
        this.listener = new ServerSocket(listenPort, 50, InetAddress.getLoopbackAddress());
        this.peerPort = peerPort;
        Thread acceptor = new Thread(this::accept, "mllp-link-faults");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** The next replies suffer these faults, one each, in order. */
    public void inject(Fault... next) {
        faults.addAll(java.util.List.of(next));
    }

    public boolean allFaultsUsed() {
        return faults.isEmpty();
    }

    private void accept() {
        while (open) {
            try {
                Socket client = listener.accept();
                Socket peer = new Socket(InetAddress.getLoopbackAddress(), peerPort);
                pump("to-peer", client.getInputStream(), peer.getOutputStream(), client, peer);
                Thread back = new Thread(() -> replies(peer, client), "mllp-link-replies");
                back.setDaemon(true);
                back.start();
            } catch (IOException e) {
                // closed, or the peer is down: the client's connection is dropped, as a real network would
            }
        }
    }

    private static void pump(String name, InputStream in, OutputStream out, Socket a, Socket b) {
        Thread t = new Thread(() -> {
            byte[] buffer = new byte[8192];
            try {
                int n;
                while ((n = in.read(buffer)) >= 0) {
                    out.write(buffer, 0, n);
                    out.flush();
                }
            } catch (IOException ignored) {
                // one side closed
            } finally {
                closeQuietly(a);
                closeQuietly(b);
            }
        }, name);
        t.setDaemon(true);
        t.start();
    }

    private void replies(Socket peer, Socket client) {
        try {
            MllpFrameReader reader = new MllpFrameReader(peer.getInputStream(), 1024 * 1024);
            OutputStream out = client.getOutputStream();
            MllpFrame frame;
            while ((frame = reader.next()) != null) {
                Fault fault = faults.poll();
                if (fault == null) {
                    out.write(MllpClient.frame(frame.payload()));
                } else if (fault == Fault.GARBAGE) {
                    out.write(MllpClient.frame("THIS IS NOT AN ACK".getBytes(StandardCharsets.US_ASCII)));
                } else if (fault == Fault.DROP) {
                    break;
                }
                // SWALLOW: nothing goes back
                out.flush();
            }
        } catch (IOException ignored) {
            // one side closed
        } finally {
            closeQuietly(peer);
            closeQuietly(client);
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // already closed
        }
    }

    @Override
    public void close() throws IOException {
        open = false;
        listener.close();
    }
}
