package org.cmm.eventbroker.platform.http;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.apache.camel.support.SynchronizationAdapter;

/**
 * One request per event id at a time, for an HTTP intake that suppresses resends with an {@code idempotentConsumer}
 * ({@code eager: false}: the id is remembered only once Kafka acknowledged the record, so that a 2xx always means
 * stored). Without this, two requests carrying the same event at the same instant both pass the repository's check
 * before either is remembered, and both are published. Here the second one fails with
 * {@link EventInFlightException} while the first is in flight, which the intake's error handling answers 503 with
 * Retry-After: the sender resends, and by then the first is either stored (the resend is suppressed and answered as
 * the first was) or failed (the resend is published). Nothing is answered 2xx before it is on Kafka.
 *
 * <p>Placed in the route right before the {@code idempotentConsumer}, reading the same header; the id is released
 * when the exchange is done, after the repository has settled it.
 */
public class InFlightEventIds implements Processor {

    private final Set<String> inFlight = ConcurrentHashMap.newKeySet();
    private String header = "ce_id";

    /** The header naming the event (the idempotentConsumer's). */
    public void setHeader(String header) {
        this.header = header;
    }

    @Override
    public void process(Exchange exchange) throws EventInFlightException {
        String id = exchange.getMessage().getHeader(header, String.class);
        if (id == null) {
            return;
        }
        if (!inFlight.add(id)) {
            throw new EventInFlightException();
        }
        exchange.getExchangeExtension().addOnCompletion(new SynchronizationAdapter() {
            @Override
            public void onDone(Exchange done) {
                inFlight.remove(id);
            }
        });
    }

    /** How many event ids are in flight now (for tests). */
    int inFlight() {
        return inFlight.size();
    }

    /** The same event is being accepted on another request right now; the sender is to retry. */
    public static final class EventInFlightException extends Exception {
        EventInFlightException() {
            // no id in the message: the log line of the intake names the event from its headers
            super("the same event is being accepted on another request; retry later");
        }
    }
}
