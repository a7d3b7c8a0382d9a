package org.cmm.eventbroker.platform.mllp;

import java.util.Map;

import org.apache.camel.Endpoint;
import org.apache.camel.support.DefaultComponent;
import org.cmm.eventbroker.platform.security.TlsMaterial;

/**
 * {@code mllp-listener:host:port} — an HL7 v2 MLLP server endpoint that never loses a pipelined message.
 *
 * <p>It replaces camel-mllp's consumer, which in 4.17 drops the second of two frames that arrive in one read and
 * logs the whole message when it does (CAMEL-24668, fixed upstream in 4.22). The route decides the acknowledgement
 * by setting {@link MllpListenerHeaders#ACKNOWLEDGEMENT_CODE}; anything else (an exception, or no decision at all)
 * is answered {@code AE}, so a handled error can never turn into an {@code AA}.
 *
 * <p>TLS is set once for every listener, on the component (config/mllp-security.properties,
 * {@code camel.component.mllp-listener.*}), never per route: on when {@link #setTlsEnabled tlsEnabled} or
 * {@code cmm.security.enabled=true}; key material from {@link TlsMaterial} ({@code cmm.security.tls.*}).
 */
public class MllpListenerComponent extends DefaultComponent {

    /** The posture switch that turns TLS on for every listener, whatever {@link #setTlsEnabled} says. */
    public static final String SECURITY_ENABLED = "cmm.security.enabled";

    private boolean tlsEnabled;
    private String clientAuth = "want";
    private String senderRestrictionsFile;
    private int handshakeTimeoutMs = 10_000;
    private int frameReadTimeoutMs = 30_000;
    private int ackWriteTimeoutMs = 10_000;
    private int slowFrameMs = 2_000;
    private int maxOutsideBytes = MllpFrameReader.DEFAULT_MAX_OUTSIDE_BYTES;
    private volatile SenderRestrictions restrictions;

    public boolean isTlsEnabled() {
        return tlsEnabled;
    }

    /** MLLP over TLS on every listener ({@code cmm.mllp.tls.enabled}); also on whenever {@code cmm.security.enabled}. */
    public void setTlsEnabled(boolean tlsEnabled) {
        this.tlsEnabled = tlsEnabled;
    }

    public String getClientAuth() {
        return clientAuth;
    }

    /** none, want or need: whether senders are asked for a client certificate ({@code cmm.mllp.tls.client-auth}). */
    public void setClientAuth(String clientAuth) {
        ClientAuthentication.parse(clientAuth);
        this.clientAuth = clientAuth;
    }

    public String getSenderRestrictionsFile() {
        return senderRestrictionsFile;
    }

    /** Certificate subject -> allowed MSH-3/MSH-4 table ({@link SenderRestrictions}); blank: no restriction. */
    public void setSenderRestrictionsFile(String senderRestrictionsFile) {
        this.senderRestrictionsFile = senderRestrictionsFile;
        this.restrictions = null;
    }

    public int getHandshakeTimeoutMs() {
        return handshakeTimeoutMs;
    }

    /** A sender that has not completed the TLS handshake within this time is disconnected. */
    public void setHandshakeTimeoutMs(int handshakeTimeoutMs) {
        this.handshakeTimeoutMs = handshakeTimeoutMs;
    }

    public int getFrameReadTimeoutMs() {
        return frameReadTimeoutMs;
    }

    /**
     * The whole time a frame may take to arrive, from its first byte (or, on a new connection, from the accept)
     * to its end block: a sender trickling bytes is cut when it runs out, however often a byte comes. The partial
     * frame goes to the dead-letter topic. Also how long an accepted connection waits for a free slot when
     * {@code maxConnections} are busy.
     */
    public void setFrameReadTimeoutMs(int frameReadTimeoutMs) {
        this.frameReadTimeoutMs = positive(frameReadTimeoutMs, "frameReadTimeoutMs");
    }

    public int getSlowFrameMs() {
        return slowFrameMs;
    }

    /**
     * While every slot is taken and a waiting sender has written a whole frame, a slot whose frame has been arriving
     * for longer than this (a trickler) is taken back for it: the partial frame is cut, as at the frame-read timeout,
     * and goes to the dead-letter topic. Honest frames arrive in milliseconds; only a full listener cuts them.
     */
    public void setSlowFrameMs(int slowFrameMs) {
        this.slowFrameMs = positive(slowFrameMs, "slowFrameMs");
    }

    public int getAckWriteTimeoutMs() {
        return ackWriteTimeoutMs;
    }

    /** A sender that does not take its ACK within this time (it stopped reading) is disconnected. */
    public void setAckWriteTimeoutMs(int ackWriteTimeoutMs) {
        this.ackWriteTimeoutMs = positive(ackWriteTimeoutMs, "ackWriteTimeoutMs");
    }

    public int getMaxOutsideBytes() {
        return maxOutsideBytes;
    }

    /** Bytes outside any frame one connection may send; past them it is dead-lettered and disconnected. */
    public void setMaxOutsideBytes(int maxOutsideBytes) {
        this.maxOutsideBytes = positive(maxOutsideBytes, "maxOutsideBytes");
    }

    private static int positive(int value, String name) {
        if (value < 1) {
            throw new IllegalArgumentException(name + " must be at least 1, not " + value);
        }
        return value;
    }

    /** Whether the listeners speak TLS: the component's switch or the security posture. */
    public boolean tlsActive() {
        return tlsEnabled || Boolean.parseBoolean(getCamelContext().getPropertiesComponent()
                .resolveProperty(SECURITY_ENABLED).orElse("false").trim());
    }

    ClientAuthentication clientAuthentication() {
        return ClientAuthentication.parse(clientAuth);
    }

    /** The table, read once (failing with the file's name). */
    SenderRestrictions senderRestrictions() {
        SenderRestrictions r = restrictions;
        if (r == null) {
            r = SenderRestrictions.load(senderRestrictionsFile);
            restrictions = r;
        }
        return r;
    }

    @Override
    protected Endpoint createEndpoint(String uri, String remaining, Map<String, Object> parameters) throws Exception {
        MllpListenerEndpoint endpoint = new MllpListenerEndpoint(uri, this);
        if (remaining != null && !remaining.isBlank()) {
            int colon = remaining.lastIndexOf(':');
            String port = colon >= 0 ? remaining.substring(colon + 1) : remaining;
            if (colon > 0) {
                endpoint.setHost(remaining.substring(0, colon));
            }
            try {
                endpoint.setPort(Integer.parseInt(port));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("mllp-listener needs host:port, got '" + remaining + "'", e);
            }
        }
        // host and port may also come as parameters (YAML "parameters:" map)
        setProperties(endpoint, parameters);
        return endpoint;
    }
}
