package org.cmm.eventbroker.testsupport;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

import ca.uhn.hl7v2.AcknowledgmentCode;
import ca.uhn.hl7v2.DefaultHapiContext;
import ca.uhn.hl7v2.HL7Exception;
import ca.uhn.hl7v2.HapiContext;
import ca.uhn.hl7v2.app.HL7Service;
import ca.uhn.hl7v2.model.Message;
import ca.uhn.hl7v2.preparser.PreParser;
import ca.uhn.hl7v2.protocol.ReceivingApplication;
import ca.uhn.hl7v2.validation.impl.ValidationContextFactory;

/**
 * A real HL7 v2 system on the receiving end (an LIS, a pharmacy system, an EHR): HAPI's MLLP server, answering each
 * message as a script says (AA by default; AE or AR for chosen messages, a wrong MSA-2), recording what arrived, in
 * order. Stopping and starting it again on the same port is a peer that is down and comes back.
 */
public final class ScriptedHl7Peer implements AutoCloseable {

    /** How the peer answers one message. */
    public enum Answer { AA, AE, AR, WRONG_CONTROL_ID }

    /** One message as it arrived. */
    public record Received(String controlId, String patientId, String messageType, String er7) {
    }

    private final int port;
    private final List<Received> received = new ArrayList<>();
    private final Map<String, AtomicInteger> attempts = new ConcurrentHashMap<>();
    private final java.util.Set<String> senders = ConcurrentHashMap.newKeySet();
    private volatile Function<Received, Answer> script = r -> Answer.AA;
    private volatile String answerText = "";
    private HapiContext context;
    private ExecutorService executor;
    private HL7Service server;
    private javax.net.ssl.SSLContext tls;

    public ScriptedHl7Peer(int port) {
        this.port = port;
    }

    public int port() {
        return port;
    }

    /** Decides the answer per message; the attempt number of a control id is {@link #attempts(String)}. */
    public void script(Function<Received, Answer> script) {
        this.script = script;
    }

    /** The text put into AE/AR answers. */
    public void answerText(String text) {
        this.answerText = text;
    }

    /** Makes the peer speak MLLP over TLS (presenting the context's key) from the next {@link #start()}. */
    public synchronized ScriptedHl7Peer tls(javax.net.ssl.SSLContext serverContext) {
        this.tls = serverContext;
        return this;
    }

    /** HAPI's sockets over the given TLS context: for {@code HapiContext.setSocketFactory} with {@code newClient(.., true)}. */
    public static ca.uhn.hl7v2.util.SocketFactory tlsSockets(javax.net.ssl.SSLContext context) {
        return new ca.uhn.hl7v2.util.StandardSocketFactory() {
            @Override
            public java.net.Socket createTlsSocket() throws java.io.IOException {
                return context.getSocketFactory().createSocket();
            }

            @Override
            public java.net.ServerSocket createTlsServerSocket() throws java.io.IOException {
                return context.getServerSocketFactory().createServerSocket();
            }
        };
    }

    public synchronized ScriptedHl7Peer start() throws Exception {
        executor = Executors.newCachedThreadPool();
        context = new DefaultHapiContext();
        context.setExecutorService(executor);
        context.setValidationContext(ValidationContextFactory.noValidation());
        // ACK control ids from memory: HAPI's default generator writes an id_file into the working directory
        context.getParserConfiguration().setIdGenerator(new ca.uhn.hl7v2.util.idgenerator.InMemoryIDGenerator());
        if (tls != null) {
            context.setSocketFactory(tlsSockets(tls));
        }
        server = context.newServer(port, tls != null);
        server.registerApplication("*", "*", new Application());
        server.startAndWait();
        return this;
    }

    public synchronized void stop() throws Exception {
        if (server != null) {
            server.stopAndWait();
            context.close();
            executor.shutdownNow();
            server = null;
        }
    }

    /** Every message that arrived, in arrival order (resends included). */
    public synchronized List<Received> received() {
        return List.copyOf(received);
    }

    /** Distinct control ids in order of first arrival. */
    public synchronized List<String> firstArrivals() {
        return received.stream().map(Received::controlId).distinct().toList();
    }

    /** The connections (address:port) messages arrived on. */
    public java.util.Set<String> senders() {
        return java.util.Set.copyOf(senders);
    }

    /** How many times this control id arrived. */
    public int attempts(String controlId) {
        AtomicInteger n = attempts.get(controlId);
        return n == null ? 0 : n.get();
    }

    @Override
    public void close() throws Exception {
        stop();
    }

    private final class Application implements ReceivingApplication<Message> {

        @Override
        public Message processMessage(Message message, Map<String, Object> metadata) throws HL7Exception {
            String er7 = message.encode();
            senders.add(metadata.get("SENDING_IP") + ":" + metadata.get("SENDING_PORT"));
            String[] f = PreParser.getFields(er7, "MSH-10", "PID-3-1", "MSH-9-1", "MSH-9-2");
            Received r = new Received(f[0], f[1], f[2] + "^" + f[3], er7);
            synchronized (ScriptedHl7Peer.this) {
                received.add(r);
            }
            attempts.computeIfAbsent(r.controlId(), k -> new AtomicInteger()).incrementAndGet();
            try {
                return switch (script.apply(r)) {
                    case AA -> message.generateACK();
                    case AE -> message.generateACK(AcknowledgmentCode.AE, new HL7Exception(answerText));
                    case AR -> message.generateACK(AcknowledgmentCode.AR, new HL7Exception(answerText));
                    case WRONG_CONTROL_ID -> {
                        Message ack = message.generateACK();
                        ca.uhn.hl7v2.util.Terser t = new ca.uhn.hl7v2.util.Terser(ack);
                        t.set("MSA-2", "NOT-" + r.controlId());
                        yield ack;
                    }
                };
            } catch (java.io.IOException e) {
                throw new HL7Exception(e);
            }
        }

        @Override
        public boolean canProcess(Message message) {
            return true;
        }
    }
}
