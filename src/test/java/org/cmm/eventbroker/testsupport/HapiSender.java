package org.cmm.eventbroker.testsupport;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import ca.uhn.hl7v2.DefaultHapiContext;
import ca.uhn.hl7v2.HapiContext;
import ca.uhn.hl7v2.app.Connection;
import ca.uhn.hl7v2.model.Message;
import ca.uhn.hl7v2.preparser.PreParser;
import ca.uhn.hl7v2.validation.impl.ValidationContextFactory;

/**
 * A real HAPI HL7v2 MLLP client, one per simulated sender: its own HapiContext and executor, because HAPI caches
 * one connection per host:port inside a context and closing the default context stops a shared executor.
 */
public final class HapiSender implements AutoCloseable {

    private final ExecutorService executor = Executors.newCachedThreadPool();
    private final HapiContext context = new DefaultHapiContext();
    private final int port;

    public HapiSender(int port) {
        this.port = port;
        context.setExecutorService(executor);
        context.setValidationContext(ValidationContextFactory.noValidation());
    }

    public Message parse(String er7) throws Exception {
        return context.getPipeParser().parse(er7);
    }

    /** What HAPI puts on the wire for this message. */
    public String encode(Message message) throws Exception {
        return context.getPipeParser().encode(message);
    }

    public Connection connection() throws Exception {
        return context.newClient("127.0.0.1", port, false);
    }

    /** Sends and waits for the ACK (HAPI's default 10 s timeout); returns MSA-1. */
    public String send(Message message) throws Exception {
        Message ack = connection().getInitiator().sendAndReceive(message);
        return PreParser.getFields(ack.encode(), "MSA-1")[0];
    }

    @Override
    public void close() throws Exception {
        context.close();
        executor.shutdownNow();
    }
}
