package org.cmm.eventbroker.platform.mllp;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.Charset;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;

import ca.uhn.hl7v2.ErrorCode;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.apache.camel.support.DefaultConsumer;
import org.cmm.eventbroker.platform.security.TlsMaterial;
import org.cmm.eventbroker.platform.security.audit.AuditEvent;
import org.cmm.eventbroker.platform.security.audit.AuditSink;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Accepts MLLP connections and runs each frame through the route synchronously, on the connection's own thread,
 * so frames of one connection are processed and answered strictly in the order they were sent.
 *
 * <p>Over TLS ({@link MllpListenerComponent#tlsActive()}) each connection's handshake runs on its own thread
 * (bounded by the component's handshake timeout) before any byte is read as MLLP; a failed handshake (a plain-TCP
 * sender, garbage, an untrusted or missing client certificate) closes the connection unanswered. Every handshake is
 * audited ({@code authentication}, source {@code mllp}, mechanism {@code SSL}), and so is every message refused by
 * the {@link SenderRestrictions} ({@code authorization}).
 *
 * <p>Limits against connections that hold the listener without sending messages (set on the component,
 * {@code camel.component.mllp-listener.*}): a connection is accepted at once and then waits up to
 * twice {@code frameReadTimeoutMs} for one of the {@code maxConnections} slots (at most {@code backlog} connections
 * wait; more are closed on accept), and while one waits an idle connection is closed to make room (one that never
 * sent a frame first, then the longest idle). A frame must arrive whole within {@code frameReadTimeoutMs} of its
 * first byte: the clock is not reset per byte, so a sender trickling bytes is cut (its partial frame is
 * dead-lettered as cut off). An ACK that the sender does not take within {@code ackWriteTimeoutMs} closes the
 * connection. Bytes outside frames are bounded ({@link MllpFrameReader}).
 *
 * <p>Logs name the connection and the frame size, never the message.
 */
public class MllpListenerConsumer extends DefaultConsumer {

    private static final Logger LOG = LoggerFactory.getLogger(MllpListenerConsumer.class);

    private final MllpListenerEndpoint endpoint;
    private final AckBuilder ackBuilder = new AckBuilder();
    private final Set<Connection> connections = ConcurrentHashMap.newKeySet();
    private final AtomicInteger waiting = new AtomicInteger();
    private static final long READ_AHEAD_CHECK_MS = 50;
    private static final int READ_AHEAD_BYTES = 64 * 1024;
    private final java.util.concurrent.atomic.AtomicLong slowFramesCut = new java.util.concurrent.atomic.AtomicLong();
    private volatile long lastSlowCutWarning;
    private ScheduledExecutorService watchdog;
    private int frameReadTimeoutMs;
    private int ackWriteTimeoutMs;
    private int maxOutsideBytes;
    private ServerSocket serverSocket;
    private ExecutorService connectionThreads;
    private Thread acceptor;
    /** Slots: free ones, and the connections waiting for one; a released slot goes to a ready waiter first. */
    private final Object slots = new Object();
    private int freeSlots; // guarded by slots
    private final java.util.ArrayDeque<Connection> waiters = new java.util.ArrayDeque<>(); // guarded by slots
    private int slowFrameMs;
    private volatile boolean running;
    private int handshakeTimeoutMs;
    private SenderRestrictions restrictions = SenderRestrictions.NONE;
    /** Tells the Kafka consumers of this runtime to hold back while messages are being taken in (issue 17). */
    private org.cmm.eventbroker.platform.delivery.IntakePriority intakePriority;

    public MllpListenerConsumer(MllpListenerEndpoint endpoint, Processor processor) {
        super(endpoint, processor);
        this.endpoint = endpoint;
    }

    /** The port actually bound (useful when configured as 0). */
    public int getLocalPort() {
        return serverSocket != null ? serverSocket.getLocalPort() : -1;
    }

    @Override
    protected void doStart() throws Exception {
        super.doStart();
        intakePriority = org.cmm.eventbroker.platform.delivery.IntakePriority.of(getEndpoint().getCamelContext());
        synchronized (slots) {
            freeSlots = endpoint.getMaxConnections();
            waiters.clear();
        }
        connectionThreads = getEndpoint().getCamelContext().getExecutorServiceManager()
                .newCachedThreadPool(this, "mllp-listener-" + endpoint.getPort());
        MllpListenerComponent component = (MllpListenerComponent) endpoint.getComponent();
        frameReadTimeoutMs = component.getFrameReadTimeoutMs();
        ackWriteTimeoutMs = component.getAckWriteTimeoutMs();
        maxOutsideBytes = component.getMaxOutsideBytes();
        slowFrameMs = component.getSlowFrameMs();
        long tick = Math.max(20, Math.min(1000, Math.min(frameReadTimeoutMs, ackWriteTimeoutMs) / 5));
        watchdog = getEndpoint().getCamelContext().getExecutorServiceManager()
                .newSingleThreadScheduledExecutor(this, "mllp-listener-watchdog-" + endpoint.getPort());
        watchdog.scheduleWithFixedDelay(this::enforceDeadlines, tick, tick, TimeUnit.MILLISECONDS);
        String security = "";
        if (component.tlsActive()) {
            SSLContext ssl = TlsMaterial.of(getEndpoint().getCamelContext()).serverContext();
            SSLServerSocket sslServer = (SSLServerSocket) ssl.getServerSocketFactory().createServerSocket();
            ClientAuthentication clientAuth = component.clientAuthentication();
            sslServer.setNeedClientAuth(clientAuth == ClientAuthentication.NEED);
            if (clientAuth == ClientAuthentication.WANT) {
                sslServer.setWantClientAuth(true);
            }
            handshakeTimeoutMs = component.getHandshakeTimeoutMs();
            restrictions = component.senderRestrictions();
            serverSocket = sslServer;
            security = " over TLS (client certificates: " + clientAuth.name().toLowerCase(java.util.Locale.ROOT) + ")";
        } else {
            serverSocket = new ServerSocket();
        }
        serverSocket.setReuseAddress(true);
        serverSocket.bind(new InetSocketAddress(InetAddress.getByName(endpoint.getHost()), endpoint.getPort()),
                endpoint.getBacklog());
        running = true;
        acceptor = new Thread(this::acceptLoop, "mllp-listener-accept-" + serverSocket.getLocalPort());
        acceptor.setDaemon(true);
        acceptor.start();
        LOG.info("MLLP listener on {}:{}{} (max {} connections, idle timeout {} ms, frame-read timeout {} ms, ACK write "
                + "timeout {} ms)", endpoint.getHost(), serverSocket.getLocalPort(), security,
                endpoint.getMaxConnections(), endpoint.getIdleTimeoutMs(), frameReadTimeoutMs, ackWriteTimeoutMs);
    }

    @Override
    protected void doStop() throws Exception {
        running = false;
        if (serverSocket != null) {
            serverSocket.close();
        }
        if (acceptor != null) {
            acceptor.join(5000);
        }
        if (watchdog != null) {
            getEndpoint().getCamelContext().getExecutorServiceManager().shutdownNow(watchdog);
        }
        for (Connection connection : connections) {
            closeQuietly(connection.socket);
        }
        if (connectionThreads != null) {
            getEndpoint().getCamelContext().getExecutorServiceManager().shutdownGraceful(connectionThreads, 10_000);
        }
        super.doStop();
    }

    private void acceptLoop() {
        while (running) {
            try {
                Socket socket = serverSocket.accept();
                if (takeFreeSlot()) {
                    serveAndRelease(new Connection(socket));
                } else if (waiting.incrementAndGet() <= endpoint.getBacklog()) {
                    waitForSlot(socket);
                } else {
                    waiting.decrementAndGet();
                    LOG.warn("MLLP listener on port {}: {} connections busy and {} waiting; closing the new one from {}",
                            endpoint.getPort(), endpoint.getMaxConnections(), endpoint.getBacklog(),
                            socket.getInetAddress().getHostAddress());
                    closeQuietly(socket);
                }
            } catch (IOException e) {
                if (running) {
                    LOG.warn("MLLP listener on port {} could not accept a connection: {}", endpoint.getPort(), e.toString());
                }
            } catch (RuntimeException e) {
                // the executor refused (shutting down)
                if (running) {
                    LOG.warn("MLLP listener on port {}: {}", endpoint.getPort(), e.toString());
                }
            }
        }
    }

    /**
     * Every slot is taken: the connection waits (while the watchdog frees the longest-idle one) or is closed. While it
     * waits, what its sender writes is read ahead without blocking: once a whole frame is there (or more than a
     * frame's head), it is ready, is handed the next free slot before the others waiting, and a slot held by a frame
     * that crawls is taken back for it ({@link #makeRoomForReadyWaiters()}).
     */
    private void waitForSlot(Socket socket) {
        Connection connection = new Connection(socket);
        connection.waitingSince = System.nanoTime();
        connections.add(connection);
        synchronized (slots) {
            if (freeSlots > 0) {
                freeSlots--; // freed between the accept's look and now
                connection.admitted = true;
            } else {
                waiters.addLast(connection);
            }
        }
        try {
            connectionThreads.execute(() -> {
                boolean admitted = false;
                try {
                    // twice the frame-read timeout: by then every trickler holding a slot when it came has been cut
                    admitted = awaitSlot(connection, 2L * frameReadTimeoutMs);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    waiting.decrementAndGet();
                    connection.waitingSince = 0;
                }
                if (!admitted) {
                    LOG.warn("MLLP connection from {} closed: no free slot of {} within {} ms",
                            socket.getInetAddress().getHostAddress(), endpoint.getMaxConnections(),
                            2L * frameReadTimeoutMs);
                    connections.remove(connection);
                    closeQuietly(socket);
                    return;
                }
                try {
                    serve(connection);
                } finally {
                    connections.remove(connection);
                    closeQuietly(socket);
                    releaseSlot();
                }
            });
        } catch (RuntimeException e) {
            synchronized (slots) {
                waiters.remove(connection);
                if (connection.admitted) {
                    releaseSlot();
                }
            }
            waiting.decrementAndGet();
            connections.remove(connection);
            closeQuietly(socket);
            throw e;
        }
    }

    private boolean takeFreeSlot() {
        synchronized (slots) {
            if (freeSlots > 0 && waiters.isEmpty()) {
                freeSlots--;
                return true;
            }
            return false;
        }
    }

    /** A slot is free: to the first ready waiter, else to the one waiting longest, else back to the free ones. */
    private void releaseSlot() {
        synchronized (slots) {
            Connection next = null;
            for (Connection c : waiters) {
                if (c.ready) {
                    next = c;
                    break;
                }
            }
            if (next == null) {
                next = waiters.peekFirst();
            }
            if (next != null) {
                waiters.remove(next);
                next.admitted = true;
                slots.notifyAll();
            } else {
                freeSlots++;
            }
        }
    }

    /** Waits until the connection is handed a slot (true) or the time is up (false); reads ahead meanwhile. */
    private boolean awaitSlot(Connection connection, long timeoutMs) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        while (true) {
            synchronized (slots) {
                if (connection.admitted) {
                    return true;
                }
                long left = deadline - System.nanoTime();
                if (left <= 0 || !running) {
                    waiters.remove(connection);
                    return connection.admitted;
                }
                slots.wait(Math.max(1, Math.min(READ_AHEAD_CHECK_MS, TimeUnit.NANOSECONDS.toMillis(left))));
                if (connection.admitted) {
                    return true;
                }
            }
            if (!connection.ready && readAhead(connection)) {
                makeRoomForReadyWaiters();
            }
        }
    }

    /**
     * Reads what a waiting connection's sender has written, without blocking (plain sockets; over TLS nothing can be
     * seen before the handshake, so those wait in turn). True when it just became ready: an end block is there, or
     * more bytes than the read-ahead holds.
     */
    private boolean readAhead(Connection connection) {
        if (connection.socket instanceof SSLSocket) {
            return false;
        }
        try {
            java.io.InputStream in = connection.socket.getInputStream();
            int available = in.available();
            if (available <= 0) {
                return false;
            }
            byte[] ahead = connection.readAhead;
            int room = READ_AHEAD_BYTES - ahead.length;
            byte[] more = in.readNBytes(Math.min(available, room));
            byte[] joined = java.util.Arrays.copyOf(ahead, ahead.length + more.length);
            System.arraycopy(more, 0, joined, ahead.length, more.length);
            connection.readAhead = joined;
            boolean ready = joined.length >= READ_AHEAD_BYTES;
            for (int i = 0; !ready && i < more.length; i++) {
                ready = more[i] == MllpFrameReader.END_BLOCK;
            }
            connection.ready = ready;
            return ready;
        } catch (IOException e) {
            return false; // served in turn, where the failure is met and logged
        }
    }

    /**
     * Ready connections wait while every slot is taken: for each one not yet provided for, the slot whose frame has
     * been arriving longest (at least {@code slowFrameMs}) is cut, as at the frame-read timeout; its thread then
     * hands the slot on ({@link #releaseSlot()}).
     */
    private void makeRoomForReadyWaiters() {
        long now = System.nanoTime();
        long slow = TimeUnit.MILLISECONDS.toNanos(slowFrameMs);
        synchronized (slots) {
            long ready = waiters.stream().filter(c -> c.ready).count();
            long beingFreed = connections.stream().filter(c -> c.cutForRoom).count();
            long toCut = ready - beingFreed - freeSlots;
            if (toCut <= 0) {
                return;
            }
            connections.stream().filter(c -> c.waitingSince == 0 && !c.cut && c.frameStartedAt != 0
                            && now - c.frameStartedAt >= slow)
                    .sorted(java.util.Comparator.comparingLong(c -> c.frameStartedAt)).limit(toCut)
                    .forEach(c -> {
                        c.cut = true;
                        c.cutForRoom = true;
                        slowFramesCut.incrementAndGet();
                        shutdownInput(c.socket);
                    });
        }
        long total = slowFramesCut.get();
        long now2 = System.nanoTime();
        if (total > 0 && now2 - lastSlowCutWarning > TimeUnit.SECONDS.toNanos(60)) {
            lastSlowCutWarning = now2;
            LOG.warn("MLLP listener on port {}: every slot taken; {} frame(s) arriving for more than {} ms cut so far "
                    + "to serve senders whose frame was waiting", endpoint.getPort(), total, slowFrameMs);
        }
    }

    private void serveAndRelease(Connection connection) {
        connections.add(connection);
        try {
            connectionThreads.execute(() -> {
                try {
                    serve(connection);
                } finally {
                    connections.remove(connection);
                    closeQuietly(connection.socket);
                    releaseSlot();
                }
            });
        } catch (RuntimeException e) {
            connections.remove(connection);
            closeQuietly(connection.socket);
            releaseSlot();
            throw e;
        }
    }

    /**
     * Runs on the watchdog thread: cuts frames past their read deadline (the input is shut down, so the reader
     * returns the cut-off frame for the dead-letter topic), closes connections whose ACK write is past its timeout,
     * and, while connections wait for a slot, closes the longest-idle ones to make room.
     */
    private void enforceDeadlines() {
        try {
            long now = System.nanoTime();
            long frameLimit = TimeUnit.MILLISECONDS.toNanos(frameReadTimeoutMs);
            long writeLimit = TimeUnit.MILLISECONDS.toNanos(ackWriteTimeoutMs);
            for (Connection c : connections) {
                long frameStarted = c.frameStartedAt;
                long writeStarted = c.writeStartedAt;
                if (frameStarted != 0 && now - frameStarted > frameLimit && !c.cut) {
                    c.cut = true;
                    LOG.warn("MLLP connection from {}: no complete frame within {} ms; cutting it", c.remote(),
                            frameReadTimeoutMs);
                    shutdownInput(c.socket);
                } else if (writeStarted != 0 && now - writeStarted > writeLimit) {
                    LOG.warn("MLLP connection from {} did not take its ACK within {} ms; closing it", c.remote(),
                            ackWriteTimeoutMs);
                    closeQuietly(c.socket);
                }
            }
            makeRoomForReadyWaiters();
            int toFree;
            synchronized (slots) {
                toFree = waiting.get() - freeSlots;
            }
            if (toFree > 0) {
                // a grace period: a connection just admitted is idle only until its reader reaches the frame its
                // sender already wrote (CI once closed a new sender in that instant)
                long grace = TimeUnit.MILLISECONDS.toNanos(Math.min(1_000, frameReadTimeoutMs / 2));
                connections.stream().filter(c -> c.idleSince != 0 && c.frameStartedAt == 0 && c.waitingSince == 0
                                && now - c.idleSince >= grace)
                        // connections that never sent a frame go first, then the longest idle
                        .sorted(java.util.Comparator.<Connection>comparingLong(c -> c.framesRead == 0 ? 0 : 1)
                                .thenComparingLong(c -> c.idleSince)).limit(toFree)
                        .forEach(c -> {
                            LOG.info("MLLP connection from {} idle while {} wait for a slot: closing it", c.remote(),
                                    waiting.get());
                            c.idleSince = 0;
                            closeQuietly(c.socket);
                        });
            }
        } catch (RuntimeException e) {
            LOG.warn("MLLP listener on port {}: watchdog failed: {}", endpoint.getPort(), e.toString());
        }
    }

    private static void shutdownInput(Socket socket) {
        try {
            socket.shutdownInput();
        } catch (IOException | RuntimeException e) {
            closeQuietly(socket);
        }
    }

    /** One accepted connection and the times the watchdog checks (System.nanoTime(), 0 when not running). */
    private static final class Connection {
        final Socket socket;
        volatile long waitingSince;
        volatile long frameStartedAt;
        volatile long writeStartedAt;
        volatile long idleSince;
        volatile boolean cut;
        volatile long framesRead;
        /** Waiting: handed a slot (guarded by slots); ready (a whole frame read ahead); the bytes read ahead. */
        boolean admitted;
        volatile boolean ready;
        volatile byte[] readAhead = new byte[0];
        /** Its crawling frame was cut to make room for a ready waiter. */
        volatile boolean cutForRoom;

        Connection(Socket socket) {
            this.socket = socket;
        }

        String remote() {
            return socket.getInetAddress().getHostAddress() + ":" + socket.getPort();
        }
    }

    private void serve(Connection connection) {
        Socket socket = connection.socket;
        String remote = socket.getInetAddress().getHostAddress() + ":" + socket.getPort();
        String local = socket.getLocalAddress().getHostAddress() + ":" + socket.getLocalPort();
        LOG.debug("MLLP connection from {}", remote);
        try {
            socket.setTcpNoDelay(true);
            socket.setKeepAlive(true);
            String principal = null;
            if (socket instanceof SSLSocket ssl) {
                Optional<String> authenticated = handshake(ssl, remote);
                if (authenticated == null) {
                    return;
                }
                principal = authenticated.orElse(null);
            }
            socket.setSoTimeout(endpoint.getIdleTimeoutMs());
            byte[] ahead = connection.readAhead;
            java.io.InputStream input = ahead.length == 0 ? socket.getInputStream()
                    : new java.io.SequenceInputStream(new java.io.ByteArrayInputStream(ahead), socket.getInputStream());
            MllpFrameReader reader = new MllpFrameReader(input, endpoint.getMaxFrameBytes(), maxOutsideBytes);
            reader.onUnitStarted(() -> {
                if (connection.frameStartedAt == 0) {
                    connection.frameStartedAt = System.nanoTime();
                }
            });
            OutputStream out = new BufferedOutputStream(socket.getOutputStream(), 8 * 1024);
            while (running) {
                MllpFrame frame;
                try {
                    if (reader.hasBufferedBytes() && connection.frameStartedAt == 0) {
                        connection.frameStartedAt = System.nanoTime();
                    }
                    if (connection.frameStartedAt == 0) {
                        connection.idleSince = System.nanoTime();
                    }
                    frame = reader.next();
                    connection.idleSince = 0;
                    connection.frameStartedAt = 0;
                    connection.framesRead++;
                } catch (SocketTimeoutException idle) {
                    LOG.info("MLLP connection from {} idle for {} ms{}: closing", remote, endpoint.getIdleTimeoutMs(),
                            reader.isInsideFrame() ? " in the middle of a frame" : "");
                    if (reader.isInsideFrame()) {
                        socket.shutdownInput();
                        continue; // the reader now reports the cut-off frame, then the end of the stream
                    }
                    return;
                }
                if (frame == null) {
                    LOG.debug("MLLP connection from {} closed {}", remote, connection.cut ? "after its frame was cut"
                            : "by the sender");
                    return;
                }
                byte[] ack = process(frame, remote, local, principal);
                if (ack != null && !connection.cut) {
                    connection.writeStartedAt = System.nanoTime();
                    out.write(MllpFrameReader.START_BLOCK);
                    out.write(ack);
                    out.write(MllpFrameReader.END_BLOCK);
                    out.write(MllpFrameReader.CARRIAGE_RETURN);
                    out.flush();
                    connection.writeStartedAt = 0;
                }
            }
        } catch (SocketException e) {
            LOG.debug("MLLP connection from {} ended: {}", remote, e.getMessage());
        } catch (IOException e) {
            LOG.warn("MLLP connection from {} failed: {}", remote, e.toString());
        }
    }

    /**
     * Runs the TLS handshake within the handshake timeout and audits it. Returns the client certificate's subject
     * (empty without one), or null when the handshake failed and the connection is to be closed.
     */
    private Optional<String> handshake(SSLSocket ssl, String remote) {
        String address = ssl.getInetAddress().getHostAddress();
        AuditSink audit = AuditSink.of(getEndpoint().getCamelContext());
        try {
            ssl.setSoTimeout(handshakeTimeoutMs);
            ssl.startHandshake();
        } catch (IOException | RuntimeException e) {
            String reason = "TLS handshake failed: " + (e instanceof SocketTimeoutException
                    ? "not completed within " + handshakeTimeoutMs + " ms" : e.getClass().getSimpleName()
                    + (e.getMessage() == null ? "" : ": " + e.getMessage()));
            LOG.warn("MLLP connection from {} on port {} refused: {}", remote, endpoint.getPort(), reason);
            audit.record(AuditEvent.authentication("mllp", null, "SSL", false, address, reason));
            return null;
        }
        String subject;
        try {
            subject = ssl.getSession().getPeerPrincipal().getName();
        } catch (SSLPeerUnverifiedException none) {
            LOG.debug("MLLP connection from {}: TLS without a client certificate", remote);
            audit.record(AuditEvent.authentication("mllp", null, "SSL", true, address, "no client certificate"));
            return Optional.empty();
        }
        LOG.info("MLLP connection from {}: TLS client certificate {}", remote, subject);
        audit.record(AuditEvent.authentication("mllp", subject, "SSL", true, address, null));
        return Optional.of(subject);
    }

    /** Runs one frame through the route and returns the ACK to send, or null when nobody waits for one. */
    private byte[] process(MllpFrame frame, String remote, String local, String principal) {
        Exchange exchange = createExchange(false);
        intakePriority.intakeStarted();
        try {
            exchange.getIn().setBody(frame.payload());
            String refused = null;
            if (principal != null) {
                exchange.getIn().setHeader(MllpListenerHeaders.CLIENT_PRINCIPAL, principal);
                if (frame.problem() == null) {
                    refused = restrictions.refusal(principal, frame.payload()).orElse(null);
                }
            }
            if (refused != null) {
                exchange.getIn().setHeader(MllpListenerHeaders.SENDER_REFUSED, refused);
                LOG.warn("MLLP message from {} refused: {}", remote, refused);
                AuditSink.of(getEndpoint().getCamelContext()).record(AuditEvent.authorization("mllp", principal,
                        "send", "SendingApplication", sender(frame.payload()), false,
                        remote.substring(0, remote.lastIndexOf(':')), refused));
            }
            exchange.getIn().setHeader(MllpListenerHeaders.REMOTE_ADDRESS, remote);
            exchange.getIn().setHeader(MllpListenerHeaders.LOCAL_ADDRESS, local);
            exchange.getIn().setHeader(MllpListenerHeaders.ACKNOWLEDGEMENT_EXPECTED, frame.expectsAcknowledgement());
            if (frame.problem() != null) {
                exchange.getIn().setHeader(MllpListenerHeaders.FRAMING_ERROR, frame.problem());
                LOG.warn("MLLP connection from {}: {}", remote, frame.problem());
            }
            try {
                getProcessor().process(exchange);
            } catch (Exception e) {
                exchange.setException(e);
            }
            if (!frame.expectsAcknowledgement()) {
                if (exchange.getException() != null) {
                    getExceptionHandler().handleException("Unframed bytes from " + remote + " could not be dead-lettered",
                            exchange, exchange.getException());
                }
                return null;
            }
            return acknowledgement(frame, exchange, remote, refused);
        } finally {
            intakePriority.intakeEnded();
            releaseExchange(exchange, false);
        }
    }

    /** MSH-3^MSH-4 as the audit's resource name, or null when unreadable. */
    private static String sender(byte[] payload) {
        return SenderRestrictions.sendingApplicationAndFacility(payload).map(f -> f[0] + "^" + f[1]).orElse(null);
    }

    private byte[] acknowledgement(MllpFrame frame, Exchange exchange, String remote, String refused) {
        AckCode code;
        String text;
        ErrorCode errorCode = null;
        Exception failure = exchange.getException();
        String decided = exchange.getMessage().getHeader(MllpListenerHeaders.ACKNOWLEDGEMENT_CODE, String.class);
        if (failure != null) {
            code = AckCode.AE;
            text = "message not stored, please resend (" + failure.getClass().getSimpleName() + ")";
            LOG.warn("MLLP message from {} answered AE: {}", remote, failure.toString());
        } else if (decided == null || !isAckCode(decided)) {
            code = AckCode.AE;
            text = "message not stored, please resend (no acknowledgement decided)";
            LOG.warn("MLLP message from {} answered AE: the route set no acknowledgement code", remote);
        } else {
            code = AckCode.valueOf(decided);
            text = exchange.getMessage().getHeader(MllpListenerHeaders.ACKNOWLEDGEMENT_TEXT, String.class);
            if (refused != null && code == AckCode.AA) {
                // fail closed: a route that ignored the refusal must not make the sender believe it was accepted
                LOG.error("MLLP message from {}: the route accepted a refused sender; answering AR", remote);
                code = AckCode.AR;
                text = refused;
            }
            Integer numeric = exchange.getMessage().getHeader(MllpListenerHeaders.ACKNOWLEDGEMENT_ERROR_CODE, Integer.class);
            if (numeric != null) {
                errorCode = ErrorCode.errorCodeFor(numeric);
            }
        }
        String charsetName = exchange.getMessage().getHeader(MllpListenerHeaders.CHARSET, String.class);
        Charset fallback = Charset.forName(endpoint.getDefaultCharset());
        Charset charset = writableCharset(charsetName, fallback);
        try {
            return ackBuilder.build(frame.payload(), charset, code, errorCode, text);
        } catch (RuntimeException e) {
            // an ACK is always sent: without one the sender resends the same message forever
            LOG.warn("MLLP message from {}: the ACK could not be built in {} ({}); building it in {}", remote,
                    charset.name(), e.getClass().getSimpleName(), fallback.name());
            return ackBuilder.build(frame.payload(), fallback, code, errorCode, text);
        }
    }

    /** The message's charset when Java can write in it (some can only be read, e.g. ISO-2022-CN), else the fallback. */
    private static Charset writableCharset(String name, Charset fallback) {
        if (name == null) {
            return fallback;
        }
        try {
            Charset charset = Charset.forName(name);
            return charset.canEncode() ? charset : fallback;
        } catch (RuntimeException e) {
            return fallback;
        }
    }

    private static boolean isAckCode(String value) {
        return "AA".equals(value) || "AE".equals(value) || "AR".equals(value);
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }
}
