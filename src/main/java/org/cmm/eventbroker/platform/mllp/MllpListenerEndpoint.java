package org.cmm.eventbroker.platform.mllp;

import java.nio.charset.Charset;

import org.apache.camel.Category;
import org.apache.camel.Consumer;
import org.apache.camel.Processor;
import org.apache.camel.Producer;
import org.apache.camel.spi.UriEndpoint;
import org.apache.camel.support.DefaultEndpoint;

/** The listening side of MLLP: one server socket, one thread per connection, frames answered in order. */
@UriEndpoint(scheme = "mllp-listener", title = "MLLP Listener", syntax = "mllp-listener:host:port",
             consumerOnly = true, category = {Category.HEALTH})
public class MllpListenerEndpoint extends DefaultEndpoint {

    private String host = "0.0.0.0";
    private int port = 2575;
    private int maxConnections = 100;
    private int idleTimeoutMs = 600_000;
    private int maxFrameBytes = 16 * 1024 * 1024;
    private int backlog = 50;
    private String defaultCharset = "ISO-8859-1";

    public MllpListenerEndpoint(String uri, MllpListenerComponent component) {
        super(uri, component);
    }

    @Override
    public Producer createProducer() {
        throw new UnsupportedOperationException("mllp-listener only receives; use an MLLP client to send");
    }

    @Override
    public Consumer createConsumer(Processor processor) throws Exception {
        MllpListenerConsumer consumer = new MllpListenerConsumer(this, processor);
        configureConsumer(consumer);
        return consumer;
    }

    public String getHost() {
        return host;
    }

    /** The address to listen on (0.0.0.0 for all, 127.0.0.1 for this machine only). */
    public void setHost(String host) {
        this.host = host;
    }

    public int getPort() {
        return port;
    }

    /** The TCP port (2575 is HL7's registered port); 0 picks a free one. */
    public void setPort(int port) {
        this.port = port;
    }

    public int getMaxConnections() {
        return maxConnections;
    }

    /** How many senders may be connected at once; further connections wait in the accept backlog. */
    public void setMaxConnections(int maxConnections) {
        this.maxConnections = maxConnections;
    }

    public int getIdleTimeoutMs() {
        return idleTimeoutMs;
    }

    /** A connection that sends nothing for this long is closed (0 = never). */
    public void setIdleTimeoutMs(int idleTimeoutMs) {
        this.idleTimeoutMs = idleTimeoutMs;
    }

    public int getMaxFrameBytes() {
        return maxFrameBytes;
    }

    /** Larger messages are answered AR and only their head is kept for the dead-letter record. */
    public void setMaxFrameBytes(int maxFrameBytes) {
        this.maxFrameBytes = maxFrameBytes;
    }

    public int getBacklog() {
        return backlog;
    }

    public void setBacklog(int backlog) {
        this.backlog = backlog;
    }

    public String getDefaultCharset() {
        return defaultCharset;
    }

    /** Charset for ACKs when the route did not say which one the message used. */
    public void setDefaultCharset(String defaultCharset) {
        Charset.forName(defaultCharset);
        this.defaultCharset = defaultCharset;
    }
}
