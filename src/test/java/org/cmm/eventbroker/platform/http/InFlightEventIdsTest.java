package org.cmm.eventbroker.platform.http;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.spi.Synchronization;
import org.apache.camel.support.DefaultExchange;
import org.apache.camel.support.processor.idempotent.MemoryIdempotentRepository;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Two requests carrying the same event at the same instant, through an intake's shape (idempotentConsumer with
 * eager false, a write that takes a while, 503 for any failure): without {@link InFlightEventIds} both are published;
 * with it the second is answered 503 while the first is in flight, and its resend afterwards is suppressed.
 */
class InFlightEventIdsTest {

    private final CamelContext context = new DefaultCamelContext();
    private final InFlightEventIds guard = new InFlightEventIds();
    private final AtomicInteger published = new AtomicInteger();
    private final CountDownLatch writing = new CountDownLatch(1);
    private final CountDownLatch acknowledged = new CountDownLatch(1);
    private ProducerTemplate template;

    @BeforeEach
    void start() throws Exception {
        context.addRoutes(new RouteBuilder() {
            @Override
            public void configure() {
                onException(Exception.class).handled(true).setHeader("answer", constant(503));
                from("direct:guarded").process(guard).to("direct:intake");
                from("direct:unguarded").to("direct:intake");
                from("direct:intake")
                        .idempotentConsumer(header("ce_id"), MemoryIdempotentRepository.memoryIdempotentRepository())
                        .eager(false).completionEager(true).skipDuplicate(true)
                            .process(this::write)
                        .end()
                        .setHeader("answer", constant(202));
            }

            // the first write waits for the test (a Kafka acknowledgement that takes its time); the others do not
            private void write(Exchange exchange) throws InterruptedException {
                writing.countDown();
                if (!acknowledged.await(10, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("never acknowledged");
                }
                published.incrementAndGet();
            }
        });
        context.start();
        template = context.createProducerTemplate();
    }

    @AfterEach
    void stop() {
        context.stop();
    }

    private CompletableFuture<Object> send(String endpoint) {
        return template.asyncRequestBodyAndHeader(endpoint, "{}", "ce_id", "event-1");
    }

    private int answer(String endpoint) {
        return template.request(endpoint, e -> {
            e.getMessage().setBody("{}");
            e.getMessage().setHeader("ce_id", "event-1");
        }).getMessage().getHeader("answer", Integer.class);
    }

    @Test
    void withoutTheGuardTwoSimultaneousRequestsAreBothPublished() throws Exception {
        CompletableFuture<Object> first = send("direct:unguarded");
        assertTrue(writing.await(10, TimeUnit.SECONDS));
        CompletableFuture<Object> second = send("direct:unguarded");
        // the second passed the repository's check while the first was still being written: both are published
        await().atMost(Duration.ofSeconds(10)).until(() -> context.getInflightRepository().size() == 2);
        acknowledged.countDown();
        first.get(10, TimeUnit.SECONDS);
        second.get(10, TimeUnit.SECONDS);
        assertEquals(2, published.get());
    }

    @Test
    void theSecondIsAnswered503WhileTheFirstIsInFlightAndItsResendIsSuppressed() throws Exception {
        CompletableFuture<Object> first = send("direct:guarded");
        assertTrue(writing.await(10, TimeUnit.SECONDS));
        assertEquals(1, guard.inFlight());
        assertEquals(503, answer("direct:guarded"), "the same event on another request, while the first is written");
        assertEquals(0, published.get());
        acknowledged.countDown();
        first.get(10, TimeUnit.SECONDS);
        assertEquals(1, published.get());
        await().atMost(Duration.ofSeconds(10)).until(() -> guard.inFlight() == 0);
        assertEquals(202, answer("direct:guarded"), "the sender's resend: suppressed, answered as the first");
        assertEquals(1, published.get());
        assertEquals(0, guard.inFlight());
    }

    @Test
    void theIdIsReleasedWhenTheExchangeIsDoneFailedOrNotAndARequestWithoutOneIsLeftAlone() throws Exception {
        for (boolean failed : new boolean[] {false, true}) {
            Exchange first = new DefaultExchange(context);
            first.getMessage().setHeader("ce_id", "event-2");
            guard.process(first);
            Exchange second = new DefaultExchange(context);
            second.getMessage().setHeader("ce_id", "event-2");
            assertThrows(InFlightEventIds.EventInFlightException.class, () -> guard.process(second));
            List<Synchronization> completions = first.getExchangeExtension().handoverCompletions();
            completions.forEach(s -> {
                if (failed) {
                    s.onFailure(first);
                } else {
                    s.onComplete(first);
                }
            });
            assertEquals(0, guard.inFlight(), failed ? "released after a failure" : "released after success");
            guard.process(second); // taken now
            assertEquals(1, guard.inFlight());
            second.getExchangeExtension().handoverCompletions().forEach(s -> s.onComplete(second));
        }
        Exchange anonymous = new DefaultExchange(context);
        guard.process(anonymous);
        guard.process(anonymous);
        assertEquals(0, guard.inFlight(), "no event id: nothing to hold");
    }
}
