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
import java.util.concurrent.Semaphore;

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
 * <p>Logs name the connection and the frame size, never the message.
 */
public class MllpListenerConsumer extends DefaultConsumer {

    private static final Logger LOG = LoggerFactory.getLogger(MllpListenerConsumer.class);

    private final MllpListenerEndpoint endpoint;
    private final AckBuilder ackBuilder = new AckBuilder();
    private final Set<Socket> connections = ConcurrentHashMap.newKeySet();
    private ServerSocket serverSocket;
    private ExecutorService connectionThreads;
    private Thread acceptor;
    private Semaphore permits;
    private volatile boolean running;
    private int handshakeTimeoutMs;
    private SenderRestrictions restrictions = SenderRestrictions.NONE;

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
        permits = new Semaphore(endpoint.getMaxConnections());
        connectionThreads = getEndpoint().getCamelContext().getExecutorServiceManager()
                .newCachedThreadPool(this, "mllp-listener-" + endpoint.getPort());
        MllpListenerComponent component = (MllpListenerComponent) endpoint.getComponent();
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
        LOG.info("MLLP listener on {}:{}{} (max {} connections, idle timeout {} ms)", endpoint.getHost(),
                serverSocket.getLocalPort(), security, endpoint.getMaxConnections(), endpoint.getIdleTimeoutMs());
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
        for (Socket socket : connections) {
            closeQuietly(socket);
        }
        if (connectionThreads != null) {
            getEndpoint().getCamelContext().getExecutorServiceManager().shutdownGraceful(connectionThreads, 10_000);
        }
        super.doStop();
    }

    private void acceptLoop() {
        while (running) {
            try {
                permits.acquire();
                Socket socket;
                try {
                    socket = serverSocket.accept();
                } catch (IOException e) {
                    permits.release();
                    throw e;
                }
                connections.add(socket);
                connectionThreads.execute(() -> {
                    try {
                        serve(socket);
                    } finally {
                        connections.remove(socket);
                        closeQuietly(socket);
                        permits.release();
                    }
                });
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
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

    private void serve(Socket socket) {
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
            MllpFrameReader reader = new MllpFrameReader(socket.getInputStream(), endpoint.getMaxFrameBytes());
            OutputStream out = new BufferedOutputStream(socket.getOutputStream(), 8 * 1024);
            while (running) {
                MllpFrame frame;
                try {
                    frame = reader.next();
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
                    LOG.debug("MLLP connection from {} closed by the sender", remote);
                    return;
                }
                byte[] ack = process(frame, remote, local, principal);
                if (ack != null) {
                    out.write(MllpFrameReader.START_BLOCK);
                    out.write(ack);
                    out.write(MllpFrameReader.END_BLOCK);
                    out.write(MllpFrameReader.CARRIAGE_RETURN);
                    out.flush();
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
        Charset charset = Charset.forName(charsetName != null ? charsetName : endpoint.getDefaultCharset());
        return ackBuilder.build(frame.payload(), charset, code, errorCode, text);
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
