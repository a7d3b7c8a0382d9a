package org.cmm.eventbroker.testsupport;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import ca.uhn.hl7v2.preparser.PreParser;
import org.cmm.eventbroker.platform.mllp.MllpClient;

/**
 * An MLLP sender as EHR interface engines behave: its messages in order, each resent (on a new connection, with a
 * later MSH-7) until it is answered AA. Counts AE and lost answers, and remembers when each AA came (for recovery
 * times).
 */
public final class ResendingSender implements Runnable {

    private final String name;
    private final int port;
    private final int messages;
    private final String messageType;
    private final int ackTimeoutMs;
    private final Map<String, Long> accepted = new ConcurrentHashMap<>();
    private final AtomicLong errors = new AtomicLong();
    private final AtomicLong noAnswer = new AtomicLong();
    private final AtomicLong lastAcceptedNanos = new AtomicLong();
    private volatile boolean stopped;

    /**
     * @param name        prefix of the control ids (MSH-10 is {@code name-i}) and of the patients' MRNs
     * @param messageType MSH-9, e.g. {@code ADT^A08^ADT_A01}
     */
    public ResendingSender(String name, int port, int messages, String messageType, int ackTimeoutMs) {
        this.name = name;
        this.port = port;
        this.messages = messages;
        this.messageType = messageType;
        this.ackTimeoutMs = ackTimeoutMs;
    }

    @Override
    public void run() {
        MllpClient client = null;
        for (int i = 0; i < messages && !stopped; i++) {
            String id = name + "-" + i;
            int attempt = 0;
            while (!stopped) {
                String message = "MSH|^~\\&|EPIC|GENHOSP|CMM|CMM|2024010112" + String.format("%04d", attempt % 10000)
                        + "||" + messageType + "|" + id + "|P|2.5.1\rPID|1||MRN" + name + "x" + (i % 7)
                        + "^^^GENHOSP^MR||DOE^JOHN\rPV1|1|I|4WEST^401\r";
                try {
                    if (client == null) {
                        client = new MllpClient("127.0.0.1", port, ackTimeoutMs);
                    }
                    client.send(message.getBytes(StandardCharsets.ISO_8859_1));
                    String code = PreParser.getFields(new String(client.readFrame(), StandardCharsets.ISO_8859_1),
                            "MSA-1")[0];
                    if ("AA".equals(code)) {
                        accepted.put(id, System.nanoTime());
                        lastAcceptedNanos.set(System.nanoTime());
                        break;
                    }
                    errors.incrementAndGet();
                } catch (Exception e) {
                    noAnswer.incrementAndGet();
                    if (client != null) {
                        try {
                            client.close();
                        } catch (Exception ignored) {
                            // reconnecting anyway
                        }
                        client = null;
                    }
                }
                attempt++;
                // a sender's retry interval before the resend (not a wait for an event)
                java.util.concurrent.locks.LockSupport.parkNanos(100_000_000L);
            }
        }
        if (client != null) {
            try {
                client.close();
            } catch (Exception ignored) {
                // done
            }
        }
    }

    /** Control id -> System.nanoTime() of its AA. */
    public Map<String, Long> accepted() {
        return accepted;
    }

    /** Answers other than AA (AE, AR). */
    public long errors() {
        return errors.get();
    }

    /** Sends that got no answer in time (or lost the connection). */
    public long noAnswer() {
        return noAnswer.get();
    }

    public boolean done() {
        return accepted.size() == messages;
    }

    public void stop() {
        stopped = true;
    }
}
