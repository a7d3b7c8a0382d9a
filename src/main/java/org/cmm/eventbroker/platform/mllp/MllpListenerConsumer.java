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
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Semaphore;

import ca.uhn.hl7v2.ErrorCode;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.apache.camel.support.DefaultConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Accepts MLLP connections and runs each frame through the route synchronously, on the connection's own thread,
 * so frames of one connection are processed and answered strictly in the order they were sent.
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
        serverSocket = new ServerSocket();
        serverSocket.setReuseAddress(true);
        serverSocket.bind(new InetSocketAddress(InetAddress.getByName(endpoint.getHost()), endpoint.getPort()),
                endpoint.getBacklog());
        running = true;
        acceptor = new Thread(this::acceptLoop, "mllp-listener-accept-" + serverSocket.getLocalPort());
        acceptor.setDaemon(true);
        acceptor.start();
        LOG.info("MLLP listener on {}:{} (max {} connections, idle timeout {} ms)", endpoint.getHost(),
                serverSocket.getLocalPort(), endpoint.getMaxConnections(), endpoint.getIdleTimeoutMs());
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
                byte[] ack = process(frame, remote, local);
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

    /** Runs one frame through the route and returns the ACK to send, or null when nobody waits for one. */
    private byte[] process(MllpFrame frame, String remote, String local) {
        Exchange exchange = createExchange(false);
        try {
            exchange.getIn().setBody(frame.payload());
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
            return acknowledgement(frame, exchange, remote);
        } finally {
            releaseExchange(exchange, false);
        }
    }

    private byte[] acknowledgement(MllpFrame frame, Exchange exchange, String remote) {
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
