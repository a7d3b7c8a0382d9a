package org.cmm.eventbroker.platform.mllp;

import org.apache.camel.Category;
import org.apache.camel.Consumer;
import org.apache.camel.Processor;
import org.apache.camel.Producer;
import org.apache.camel.spi.UriEndpoint;
import org.apache.camel.support.DefaultEndpoint;

/** The sending side of MLLP: one connection to one peer, one message at a time, each answered by an ACK. */
@UriEndpoint(scheme = "mllp-sender", title = "MLLP Sender", syntax = "mllp-sender:host:port", producerOnly = true,
             category = {Category.HEALTH})
public class MllpSenderEndpoint extends DefaultEndpoint {

    private String host = "127.0.0.1";
    private int port = 2575;
    private int connectTimeoutMs = 5_000;
    private int ackTimeoutMs = 15_000;
    private int writeTimeoutMs = 30_000;
    private int maxAckBytes = 1024 * 1024;
    private String defaultCharset = "ISO-8859-1";

    public MllpSenderEndpoint(String uri, MllpSenderComponent component) {
        super(uri, component);
    }

    @Override
    public Producer createProducer() {
        return new MllpSenderProducer(this);
    }

    @Override
    public Consumer createConsumer(Processor processor) {
        throw new UnsupportedOperationException("mllp-sender only sends; use mllp-listener to receive");
    }

    @Override
    public boolean isRemote() {
        return true;
    }

    public String getHost() {
        return host;
    }

    /** The peer's host name or address. */
    public void setHost(String host) {
        this.host = host;
    }

    public int getPort() {
        return port;
    }

    /** The peer's MLLP port. */
    public void setPort(int port) {
        this.port = port;
    }

    public int getConnectTimeoutMs() {
        return connectTimeoutMs;
    }

    /** How long to wait for the TCP connection. */
    public void setConnectTimeoutMs(int connectTimeoutMs) {
        this.connectTimeoutMs = connectTimeoutMs;
    }

    public int getAckTimeoutMs() {
        return ackTimeoutMs;
    }

    /**
     * How long the whole ACK may take after sending (a deadline, however the bytes trickle in); then the connection
     * is dropped and the send counts as failed.
     */
    public void setAckTimeoutMs(int ackTimeoutMs) {
        this.ackTimeoutMs = ackTimeoutMs;
    }

    public int getWriteTimeoutMs() {
        return writeTimeoutMs;
    }

    /** How long writing one message may take; a peer that stops reading is disconnected and the send failed. */
    public void setWriteTimeoutMs(int writeTimeoutMs) {
        this.writeTimeoutMs = writeTimeoutMs;
    }

    public int getMaxAckBytes() {
        return maxAckBytes;
    }

    /** A reply longer than this is not an ACK. */
    public void setMaxAckBytes(int maxAckBytes) {
        this.maxAckBytes = maxAckBytes;
    }

    public String getDefaultCharset() {
        return defaultCharset;
    }

    /** Charset of String bodies without the CamelMllpCharset header, and of the peer's ACKs. */
    public void setDefaultCharset(String defaultCharset) {
        this.defaultCharset = defaultCharset;
    }
}
