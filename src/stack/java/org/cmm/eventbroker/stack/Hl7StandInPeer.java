package org.cmm.eventbroker.stack;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.SocketAddress;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

import ca.uhn.hl7v2.DefaultHapiContext;
import ca.uhn.hl7v2.HL7Exception;
import ca.uhn.hl7v2.HapiContext;
import ca.uhn.hl7v2.app.HL7Service;
import ca.uhn.hl7v2.model.Message;
import ca.uhn.hl7v2.preparser.PreParser;
import ca.uhn.hl7v2.protocol.ReceivingApplication;
import ca.uhn.hl7v2.util.StandardSocketFactory;
import ca.uhn.hl7v2.validation.impl.ValidationContextFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stands in for an HL7 v2 system the outbound flows deliver to (the LIS, the pharmacy system, the EHR): HAPI's MLLP
 * server on a loopback port, answering every message AA and logging its type and control id, never its content.
 */
public final class Hl7StandInPeer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Hl7StandInPeer.class);

    private final String name;
    private final String host;
    private final int port;
    private final AtomicLong received = new AtomicLong();
    private HapiContext context;
    private ExecutorService executor;
    private HL7Service server;

    public Hl7StandInPeer(String name, String host, int port) {
        this.name = name;
        this.host = host;
        this.port = port;
    }

    public Hl7StandInPeer start() throws InterruptedException {
        executor = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "stack-" + name.toLowerCase() + "-mllp");
            t.setDaemon(true);
            return t;
        });
        context = new DefaultHapiContext();
        context.setExecutorService(executor);
        context.setValidationContext(ValidationContextFactory.noValidation());
        context.setSocketFactory(new BoundSocketFactory(host));
        server = context.newServer(port, false);
        server.registerApplication("*", "*", new AcceptEverything());
        server.startAndWait();
        if (!server.isRunning()) {
            throw new IllegalStateException(name + " stand-in could not listen on " + host + ":" + port
                    + " (is the port taken?)", server.getServiceExitedWithException());
        }
        return this;
    }

    public String name() {
        return name;
    }

    public int port() {
        return port;
    }

    /** Messages answered so far. */
    public long received() {
        return received.get();
    }

    @Override
    public void close() throws IOException {
        if (server != null) {
            server.stopAndWait();
            context.close();
            executor.shutdownNow();
            server = null;
        }
    }

    private final class AcceptEverything implements ReceivingApplication<Message> {

        @Override
        public Message processMessage(Message message, Map<String, Object> metadata) throws HL7Exception {
            String[] f = PreParser.getFields(message.encode(), "MSH-9-1", "MSH-9-2", "MSH-10");
            received.incrementAndGet();
            LOG.info("{} stand-in received {}^{} control id {}: AA", name, f[0], f[1], f[2]);
            try {
                return message.generateACK();
            } catch (IOException e) {
                throw new HL7Exception(e);
            }
        }

        @Override
        public boolean canProcess(Message message) {
            return true;
        }
    }

    /** HAPI binds its server socket to every interface; this one binds it to the given address only. */
    private static final class BoundSocketFactory extends StandardSocketFactory {
        private final String host;

        BoundSocketFactory(String host) {
            this.host = host;
        }

        @Override
        public ServerSocket createServerSocket() throws IOException {
            InetAddress address = InetAddress.getByName(host);
            return new ServerSocket() {
                @Override
                public void bind(SocketAddress endpoint, int backlog) throws IOException {
                    int requestedPort = ((InetSocketAddress) endpoint).getPort();
                    super.bind(new InetSocketAddress(address, requestedPort), backlog);
                }
            };
        }
    }
}
