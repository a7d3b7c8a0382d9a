package org.cmm.eventbroker.testsupport;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP proxy on a loopback port in front of a real peer (a Kafka broker, an MLLP server), for the network faults
 * this kernel cannot make without {@code netem}: added latency, a peer that accepts and never answers, and a
 * partition that drops nothing and resets nothing.
 *
 * <ul>
 *   <li>{@link #latency(long)}: every chunk, both ways, is delivered that many milliseconds after it was read (the
 *       chunks stay in order; throughput is not limited).</li>
 *   <li>{@link #partition()}: nothing moves either way on any connection, new connections are accepted (as the kernel
 *       would complete their handshake into the backlog) and held; no FIN, no RST. Bytes read before are held too.
 *       {@link #heal()} lets everything held flow again, late, as TCP retransmission would deliver it, and connects
 *       the held connections to the peer.</li>
 *   <li>{@link #swallow()}: a silent peer that reads: bytes towards the peer are read and dropped, nothing comes
 *       back. {@link #partition()} is the silent peer that never reads.</li>
 *   <li>Faults of an HTTP peer that is up but failing, counted so a test knows how many attempts a client needs:
 *       {@link #refuseNext(int)} (the next connections are reset as soon as they are accepted, as a peer whose port
 *       refuses them), {@link #answerNext(int, int)} (the next connections are answered with that HTTP status, e.g.
 *       503, and closed), {@link #refuse()} (every new connection, until {@link #heal()}) and
 *       {@link #refuseRequestsContaining(String)} (a connection is reset when a request on it contains the text, e.g.
 *       one object's key). Each of them first resets the connections open now, so a pooled connection cannot pass
 *       the fault by.</li>
 * </ul>
 */
public final class TcpProxy implements AutoCloseable {

    private enum Mode { PASS, PARTITION, SWALLOW }

    private final String targetHost;
    private final int targetPort;
    private final ServerSocket server;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final AtomicInteger accepted = new AtomicInteger();
    private final Object gate = new Object();
    private volatile Mode mode = Mode.PASS;
    private volatile long latencyMs;
    private volatile boolean closed;
    /** Faults of the next connections: 0 resets the connection, an HTTP status answers it. */
    private final java.util.concurrent.ConcurrentLinkedQueue<Integer> faults = new java.util.concurrent.ConcurrentLinkedQueue<>();
    private final AtomicInteger faultsServed = new AtomicInteger();
    private volatile boolean refuseAll;
    private volatile String refusedRequestText;

    public TcpProxy(String targetHost, int targetPort) throws IOException {
        this(FreePorts.next(), targetHost, targetPort);
    }

    public TcpProxy(int listenPort, String targetHost, int targetPort) throws IOException {
        this.targetHost = targetHost;
        this.targetPort = targetPort;
        server = new ServerSocket();
        server.setReuseAddress(true);
        server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), listenPort), 200);
        Thread acceptor = new Thread(this::acceptLoop, "tcp-proxy-accept-" + listenPort);
        acceptor.setDaemon(true);
        acceptor.start();
    }

    public int port() {
        return server.getLocalPort();
    }

    /** Connections accepted so far. */
    public int accepted() {
        return accepted.get();
    }

    /** Adds this delay to every chunk, both ways (0: none). */
    public TcpProxy latency(long ms) {
        latencyMs = ms;
        return this;
    }

    /** Nothing moves any more, nothing is closed: a partition without RST (or a peer that never reads nor answers). */
    public TcpProxy partition() {
        mode = Mode.PARTITION;
        return this;
    }

    /** A silent peer that reads: what is sent towards the peer is read and dropped, nothing comes back. */
    public TcpProxy swallow() {
        mode = Mode.SWALLOW;
        return this;
    }

    /** The next {@code connections} new connections are reset as soon as they are accepted; open ones are reset now. */
    public TcpProxy refuseNext(int connections) {
        resetOpenConnections();
        for (int i = 0; i < connections; i++) {
            faults.add(0);
        }
        return this;
    }

    /**
     * The next {@code connections} new connections are answered {@code HTTP/1.1 <status>} (no body, Connection: close)
     * once the request's first bytes arrived, and closed; open ones are reset now.
     */
    public TcpProxy answerNext(int connections, int httpStatus) {
        resetOpenConnections();
        for (int i = 0; i < connections; i++) {
            faults.add(httpStatus);
        }
        return this;
    }

    /** Every new connection is reset as soon as it is accepted, until {@link #heal()}; open ones are reset now. */
    public TcpProxy refuse() {
        refuseAll = true;
        resetOpenConnections();
        return this;
    }

    /** A connection is reset when bytes towards the peer contain {@code text} (ISO-8859-1), until {@link #heal()}. */
    public TcpProxy refuseRequestsContaining(String text) {
        refusedRequestText = text;
        resetOpenConnections();
        return this;
    }

    /** Faults of {@link #refuseNext}, {@link #answerNext}, {@link #refuse} and {@link #refuseRequestsContaining} dealt so far. */
    public int faultsServed() {
        return faultsServed.get();
    }

    /** Faults of {@link #refuseNext} and {@link #answerNext} not yet dealt. */
    public int faultsPending() {
        return faults.size();
    }

    /** Resets (RST) every connection open now, both ways, as the death of a process holding them would. */
    public void resetOpenConnections() {
        for (Socket s : sockets) {
            reset(s);
        }
        sockets.removeIf(Socket::isClosed);
    }

    private static void reset(Socket s) {
        try {
            s.setSoLinger(true, 0); // close with RST, as a peer that refuses
        } catch (IOException ignored) {
            // already closed
        }
        closeQuietly(s);
    }

    /** Back to normal: everything held is delivered, held connections are connected to the peer. */
    public TcpProxy heal() {
        refuseAll = false;
        refusedRequestText = null;
        faults.clear();
        synchronized (gate) {
            mode = Mode.PASS;
            gate.notifyAll();
        }
        return this;
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket client = server.accept();
                accepted.incrementAndGet();
                sockets.add(client);
                Thread t = new Thread(() -> serve(client), "tcp-proxy-conn-" + client.getPort());
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                if (!closed) {
                    continue;
                }
                return;
            }
        }
    }

    private void serve(Socket client) {
        try {
            Integer fault = refuseAll ? Integer.valueOf(0) : faults.poll();
            if (fault != null) {
                faultsServed.incrementAndGet();
                if (fault == 0) {
                    reset(client);
                } else {
                    answer(client, fault);
                }
                return;
            }
            // a held connection: accepted, never connected upstream, never read, until the partition heals
            awaitPassing();
            if (closed) {
                return;
            }
            Socket upstream = new Socket();
            sockets.add(upstream);
            upstream.connect(new InetSocketAddress(targetHost, targetPort), 10_000);
            upstream.setTcpNoDelay(true);
            client.setTcpNoDelay(true);
            startPump(client, upstream, true);
            startPump(upstream, client, false);
        } catch (IOException | InterruptedException e) {
            closeQuietly(client);
        }
    }

    private static void answer(Socket client, int status) {
        try {
            client.setSoTimeout(5000);
            client.getInputStream().read(new byte[16 * 1024]); // the request's first bytes: the client is waiting now
            client.getOutputStream().write(("HTTP/1.1 " + status + " Fault Of The Test Proxy\r\nContent-Type: text/plain\r\n"
                    + "Content-Length: 0\r\nConnection: close\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
            client.getOutputStream().flush();
            client.shutdownOutput();
        } catch (IOException ignored) {
            // the client went away first
        }
        closeQuietly(client);
    }

    /** Waits while partitioned. */
    private void awaitPassing() throws InterruptedException {
        synchronized (gate) {
            while (!closed && mode == Mode.PARTITION) {
                gate.wait(100);
            }
        }
    }

    private record Chunk(long dueNanos, byte[] bytes) {
    }

    private void startPump(Socket from, Socket to, boolean towardsPeer) throws IOException {
        InputStream in = from.getInputStream();
        OutputStream out = to.getOutputStream();
        LinkedBlockingQueue<Chunk> queue = new LinkedBlockingQueue<>();
        Chunk end = new Chunk(0, null);
        Thread reader = new Thread(() -> {
            byte[] buf = new byte[16 * 1024];
            try {
                while (!closed) {
                    awaitPassing();
                    int n = in.read(buf);
                    if (n < 0) {
                        break;
                    }
                    if (towardsPeer && mode == Mode.SWALLOW) {
                        continue; // read and dropped: the peer never sees it
                    }
                    String refused = refusedRequestText;
                    if (towardsPeer && refused != null
                            && new String(buf, 0, n, java.nio.charset.StandardCharsets.ISO_8859_1).contains(refused)) {
                        faultsServed.incrementAndGet();
                        reset(from);
                        reset(to);
                        break;
                    }
                    queue.add(new Chunk(System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(latencyMs),
                            Arrays.copyOf(buf, n)));
                }
            } catch (IOException | InterruptedException e) {
                // the connection ended
            }
            queue.add(end);
        }, "tcp-proxy-read");
        Thread writer = new Thread(() -> {
            try {
                while (true) {
                    Chunk c = queue.take();
                    if (c == end) {
                        break;
                    }
                    long wait = c.dueNanos() - System.nanoTime();
                    if (wait > 0) {
                        TimeUnit.NANOSECONDS.sleep(wait); // the link's latency, not a wait for an event
                    }
                    awaitPassing();
                    if (!towardsPeer && mode == Mode.SWALLOW) {
                        continue; // a silent peer answers nothing
                    }
                    out.write(c.bytes());
                    out.flush();
                }
                to.shutdownOutput();
            } catch (IOException | InterruptedException e) {
                closeQuietly(from);
                closeQuietly(to);
            }
        }, "tcp-proxy-write");
        reader.setDaemon(true);
        writer.setDaemon(true);
        reader.start();
        writer.start();
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }

    @Override
    public void close() {
        closed = true;
        heal();
        try {
            server.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        sockets.forEach(TcpProxy::closeQuietly);
    }
}
