package org.cmm.eventbroker.eventapi;

import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.reactivestreams.Publisher;
import org.reactivestreams.Subscriber;
import org.reactivestreams.Subscription;

/**
 * One GraphQL subscription's events: a {@link StreamSession} of the gateway (fed by the topic's shared tail reader, or
 * by its own assign-only consumer while it catches up; the same bounded buffer, slow-client policy and stream limits as
 * SSE and WebSocket)
 * as the reactive-streams publisher graphql-java maps through the subscription's selection. Nothing is opened until
 * graphql-java subscribes; the client's demand and its WebSocket's write queue both hold the stream back (nothing is
 * sent while either is exhausted), and a client that takes nothing for the stall timeout is disconnected (the
 * policy is disconnect, never drop: it resumes with {@code lastEventId}).
 */
final class EventPublisher implements Publisher<Map<String, Object>> {

    /** The WebSocket the subscription runs on. */
    interface Connection {
        /** Whether its write queue is full. */
        boolean full();

        /** A keep-alive. */
        void ping();

        /** Closes the whole connection (a stalled client: everything on it is stuck behind the same queue). */
        void closeStalled(String reason);
    }

    private final EventApiGateway gateway;
    private final EventApiGateway.Shared shared;
    private final TopicDescription topic;
    private final Position from;
    private final boolean earliest;
    private final String key;
    private final String client;
    private final Connection connection;
    private final AtomicBoolean subscribed = new AtomicBoolean();

    EventPublisher(EventApiGateway gateway, EventApiGateway.Shared shared, TopicDescription topic, Position from,
            boolean earliest, String key, String client, Connection connection) {
        this.gateway = gateway;
        this.shared = shared;
        this.topic = topic;
        this.from = from;
        this.earliest = earliest;
        this.key = key;
        this.client = client == null ? "anonymous" : client;
        this.connection = connection;
    }

    /** Opens the stream (blocking: the consumer looks up its start offsets; call from a worker). */
    @Override
    public void subscribe(Subscriber<? super Map<String, Object>> subscriber) {
        if (!subscribed.compareAndSet(false, true)) {
            subscriber.onSubscribe(new Subscription() {
                @Override
                public void request(long n) {
                }

                @Override
                public void cancel() {
                }
            });
            subscriber.onError(new IllegalStateException("one subscriber only"));
            return;
        }
        Runnable release;
        try {
            release = gateway.reserveStream(client);
        } catch (ApiException e) {
            refuse(subscriber, e);
            return;
        }
        StreamSession session;
        try {
            session = gateway.newSession(topic, from, earliest, key == null ? null : r -> key.equals(r.key()), release);
        } catch (RuntimeException e) {
            release.run();
            refuse(subscriber, e instanceof ApiException a ? a : new ApiException(503, "The stream could not start."));
            return;
        }
        AtomicLong demand = new AtomicLong();
        StreamSession.Sink sink = new StreamSession.Sink() {
            @Override
            public boolean full() {
                return demand.get() <= 0 || connection.full();
            }

            @Override
            public void send(String id, ConsumerRecord<String, byte[]> record) {
                demand.decrementAndGet();
                subscriber.onNext(GraphQlApi.event(id, record));
            }

            @Override
            public void heartbeat() {
                connection.ping();
            }

            @Override
            public void close(String reason) {
                if (connection.full()) {
                    connection.closeStalled(reason);
                } else {
                    subscriber.onError(new ApiException(503, reason));
                }
            }
        };
        subscriber.onSubscribe(new Subscription() {
            @Override
            public void request(long n) {
                if (n <= 0) {
                    session.stop();
                    subscriber.onError(new IllegalArgumentException("request(" + n + ")"));
                    return;
                }
                demand.accumulateAndGet(n, (a, b) -> a + b < 0 ? Long.MAX_VALUE : a + b);
                session.wake();
            }

            @Override
            public void cancel() {
                session.stop();
            }
        });
        session.start(sink, shared.streams(), shared.pollIntervalMs());
    }

    private static void refuse(Subscriber<? super Map<String, Object>> subscriber, ApiException e) {
        subscriber.onSubscribe(new Subscription() {
            @Override
            public void request(long n) {
            }

            @Override
            public void cancel() {
            }
        });
        subscriber.onError(e);
    }
}
