package org.cmm.eventbroker.platform.mllp;

import java.io.IOException;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;

import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;

import org.apache.camel.Exchange;
import org.apache.camel.support.DefaultProducer;
import org.cmm.eventbroker.platform.delivery.DeliveryFailedException;
import org.cmm.eventbroker.platform.delivery.DeliveryRejectedException;
import org.cmm.eventbroker.platform.delivery.PeerRejectedException;
import org.cmm.eventbroker.platform.security.TlsMaterial;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends the body as one MLLP frame and returns only when the peer accepted exactly that message (MSA-1 AA/CA and
 * MSA-2 equal to the message's MSH-10). AR/CR throw {@link PeerRejectedException}; AE/CE, refused connections,
 * timeouts, replies that are not ACKs and ACKs of another message throw {@link DeliveryFailedException}, after which
 * the connection is closed (a late ACK must never be taken for the next message's) and opened again on the next send.
 *
 * <p>One connection per producer, one message in flight on it: MLLP peers answer in order and many accept a single
 * connection only. The peer's answer is left in the headers {@value #ACK_CODE} and {@value #ACK_TEXT}.
 */
public class MllpSenderProducer extends DefaultProducer {

    /** MSA-1 of the peer's answer. */
    public static final String ACK_CODE = "peer_ack_code";
    /** The peer's reason (MSA-3 or ERR), "" when none. */
    public static final String ACK_TEXT = "peer_ack_text";
    /** Charset the body is sent in (Java name); the endpoint's default when absent. */
    public static final String CHARSET = MllpListenerHeaders.CHARSET;

    private static final Logger LOG = LoggerFactory.getLogger(MllpSenderProducer.class);

    private final MllpSenderEndpoint endpoint;
    private Socket socket;
    private MllpFrameReader reader;
    private OutputStream out;
    private SSLSocketFactory tls;
    private boolean verifyHostname;

    public MllpSenderProducer(MllpSenderEndpoint endpoint) {
        super(endpoint);
        this.endpoint = endpoint;
    }

    @Override
    protected void doStart() throws Exception {
        super.doStart();
        MllpSenderComponent component = (MllpSenderComponent) endpoint.getComponent();
        if (component.tlsActive()) {
            tls = TlsMaterial.of(endpoint.getCamelContext()).clientContext().getSocketFactory();
            verifyHostname = component.isVerifyHostname();
        }
    }

    @Override
    public synchronized void process(Exchange exchange) throws Exception {
        String charsetName = exchange.getMessage().getHeader(CHARSET, endpoint.getDefaultCharset(), String.class);
        Charset charset = Charset.forName(charsetName);
        Object body = exchange.getMessage().getBody();
        byte[] payload = body instanceof byte[] bytes ? bytes
                : exchange.getMessage().getBody(String.class) == null ? null
                : exchange.getMessage().getBody(String.class).getBytes(charset);
        if (payload == null || payload.length == 0) {
            throw new DeliveryRejectedException("nothing to send: the message is empty");
        }
        String controlId = Acknowledgement.controlIdOf(new String(payload, 0, Math.min(payload.length, 1024),
                StandardCharsets.ISO_8859_1));
        if (controlId.isEmpty()) {
            throw new DeliveryRejectedException("the message has no MSH-10 control id to match the ACK against");
        }
        byte[] reply = exchangeFrame(payload);
        Acknowledgement ack;
        try {
            ack = Acknowledgement.read(reply, charset);
        } catch (IllegalArgumentException e) {
            disconnect();
            throw new DeliveryFailedException("peer " + peer() + " did not acknowledge: " + e.getMessage());
        }
        exchange.getMessage().setHeader(ACK_CODE, ack.code());
        exchange.getMessage().setHeader(ACK_TEXT, ack.text());
        if (!ack.controlId().equals(controlId)) {
            disconnect();
            throw new DeliveryFailedException("peer " + peer() + " acknowledged control id " + ack.controlId()
                    + " instead of " + controlId);
        }
        if (ack.accepted()) {
            return;
        }
        if (ack.rejected()) {
            throw new PeerRejectedException(ack.code(), ack.text());
        }
        throw new DeliveryFailedException("peer " + peer() + " answered " + ack.code()
                + (ack.text().isEmpty() ? "" : ": " + ack.text()));
    }

    private byte[] exchangeFrame(byte[] payload) throws DeliveryFailedException {
        // peers close idle connections: a kept connection found closed is opened again once, right away
        boolean mayReconnect = socket != null;
        while (true) {
            try {
                return sendAndRead(payload);
            } catch (SocketTimeoutException e) {
                disconnect();
                throw new DeliveryFailedException(e instanceof DeadlinePassed ? e.getMessage()
                        : "no ACK from " + peer() + " within " + endpoint.getAckTimeoutMs() + " ms");
            } catch (IOException e) {
                disconnect();
                if (!mayReconnect) {
                    throw failure(e);
                }
                LOG.debug("Kept connection to {} was closed by the peer; reconnecting", peer());
                mayReconnect = false;
            }
        }
    }

    private DeliveryFailedException failure(IOException e) {
        if (e instanceof ConnectException) {
            return new DeliveryFailedException("cannot connect to " + peer() + ": " + e.getMessage());
        }
        return new DeliveryFailedException("connection to " + peer() + " failed: " + e.getMessage(), e);
    }

    private byte[] sendAndRead(byte[] payload) throws IOException {
        connect();
        Socket connection = socket;
        try (SocketDeadline write = SocketDeadline.start(connection, endpoint.getWriteTimeoutMs())) {
            try {
                out.write(MllpClient.frame(payload));
                out.flush();
            } catch (IOException e) {
                if (write.passed()) {
                    throw new DeadlinePassed("writing the message to " + peer() + " did not complete within "
                            + endpoint.getWriteTimeoutMs() + " ms (the peer stopped reading)");
                }
                throw e;
            }
        }
        // the ACK timeout is a deadline for the whole ACK: stray bytes or a trickled frame do not stretch it
        try (SocketDeadline ack = SocketDeadline.start(connection, endpoint.getAckTimeoutMs())) {
            try {
                return readAck();
            } catch (IOException e) {
                if (ack.passed()) {
                    throw new DeadlinePassed("no ACK from " + peer() + " within " + endpoint.getAckTimeoutMs() + " ms");
                }
                throw e;
            }
        }
    }

    private byte[] readAck() throws IOException {
        while (true) {
            MllpFrame frame = reader.next();
            if (frame == null) {
                throw new IOException("the peer closed the connection without an ACK");
            }
            if (frame.kind() == MllpFrame.Kind.MESSAGE) {
                return frame.payload();
            }
            if (frame.kind() != MllpFrame.Kind.OUT_OF_FRAME) {
                throw new IOException("the peer's reply is not a usable MLLP frame: " + frame.problem());
            }
            // stray bytes outside frames (some peers send line breaks): keep waiting for the ACK frame
        }
    }

    /** A write or ACK deadline passed: the connection was closed by {@link SocketDeadline}. */
    private static final class DeadlinePassed extends SocketTimeoutException {
        DeadlinePassed(String message) {
            super(message);
        }
    }

    private void connect() throws IOException {
        if (socket != null) {
            return;
        }
        Socket s = new Socket();
        try {
            s.connect(new InetSocketAddress(endpoint.getHost(), endpoint.getPort()), endpoint.getConnectTimeoutMs());
            s.setTcpNoDelay(true);
            s.setKeepAlive(true);
            if (tls != null) {
                s = handshake(s);
            }
            s.setSoTimeout(endpoint.getAckTimeoutMs());
        } catch (IOException e) {
            s.close();
            throw e;
        }
        socket = s;
        out = s.getOutputStream();
        reader = new MllpFrameReader(s.getInputStream(), endpoint.getMaxAckBytes());
        LOG.info("Connected to MLLP peer {}{}", peer(), tls != null ? " over TLS" : "");
    }

    /** TLS over the connected socket, the peer verified (truststore, and the host name unless switched off). */
    private Socket handshake(Socket plain) throws IOException {
        SSLSocket ssl = (SSLSocket) tls.createSocket(plain, endpoint.getHost(), endpoint.getPort(), true);
        try {
            if (verifyHostname) {
                SSLParameters parameters = ssl.getSSLParameters();
                parameters.setEndpointIdentificationAlgorithm("HTTPS");
                ssl.setSSLParameters(parameters);
            }
            ssl.setSoTimeout(endpoint.getConnectTimeoutMs());
            ssl.startHandshake();
            return ssl;
        } catch (IOException e) {
            ssl.close();
            throw new IOException("TLS handshake with " + peer() + " failed: " + e.getMessage(), e);
        }
    }

    private void disconnect() {
        if (socket != null) {
            try {
                socket.close();
            } catch (IOException ignored) {
                // closing is all we wanted
            }
            socket = null;
            reader = null;
            out = null;
        }
    }

    private String peer() {
        return endpoint.getHost() + ":" + endpoint.getPort();
    }

    @Override
    protected synchronized void doStop() throws Exception {
        disconnect();
        super.doStop();
    }
}
