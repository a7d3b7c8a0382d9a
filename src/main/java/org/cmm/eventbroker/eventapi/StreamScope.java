package org.cmm.eventbroker.eventapi;

import java.util.function.Predicate;

import io.vertx.ext.web.RoutingContext;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.cmm.eventbroker.platform.security.http.Caller;

/**
 * The hook through which another package serves a stream with the event API's streaming (resumable positions,
 * {@code Last-Event-ID}, single-use tickets, per-client limits, the slow-client policy) while deciding itself which
 * topic an authenticated caller reads and which of its records the caller may see, instead of the role bindings
 * ({@link EventApiGateway#addScopedStream}). Issue 16's patient streams use it: a patient's stream is the portal topic
 * filtered to the records keyed by the patient of the token, so the topic itself is never granted to patients.
 */
@FunctionalInterface
public interface StreamScope {

    /**
     * The topic and the filter for this caller and request (the path's parameters). Refuses with an
     * {@link ApiException} (401, 403, 404) and the reason. Runs on a worker thread, never on an event loop.
     *
     * @param caller the stream's authenticated caller (bearer token or ticket); null with access control off
     */
    Target decide(Caller caller, RoutingContext request);

    /** What a stream reads: a topic and the records of it that are sent (the others are skipped, their positions kept). */
    record Target(String topic, Predicate<ConsumerRecord<String, byte[]>> filter) {
        public Target {
            if (filter == null) {
                filter = r -> true;
            }
        }
    }
}
