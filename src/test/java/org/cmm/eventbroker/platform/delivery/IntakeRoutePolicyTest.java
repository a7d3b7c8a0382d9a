package org.cmm.eventbroker.platform.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.ArrayList;
import java.util.List;

import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.impl.DefaultCamelContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The intake-first route policy on a real CamelContext, named by the routes as the YAML intakes name it
 * ({@code routePolicy: intakeFirst}): an exchange counts while it is in such a route and stops counting on every way
 * out (done, a handled failure answered by the route's error handling, an unhandled exception), once even through two
 * intake routes; a route that does not name it never counts.
 */
class IntakeRoutePolicyTest {

    private final List<Integer> seen = new ArrayList<>();
    private CamelContext context;
    private ProducerTemplate template;
    private IntakePriority priority;

    @BeforeEach
    void start() throws Exception {
        context = new DefaultCamelContext();
        context.getRegistry().bind("intakeFirst", new IntakeRoutePolicy());
        context.addRoutes(new RouteBuilder() {
            @Override
            public void configure() {
                from("direct:intake").routeId("intake").routePolicyRef("intakeFirst")
                        .process(e -> seen.add(priority.intakeInFlight()))
                        .to("direct:other-intake");
                from("direct:other-intake").routeId("other-intake").routePolicyRef("intakeFirst")
                        .process(e -> seen.add(priority.intakeInFlight()));
                from("direct:rejecting").routeId("rejecting").routePolicyRef("intakeFirst")
                        .onException(IllegalArgumentException.class).handled(true)
                            .process(e -> seen.add(priority.intakeInFlight()))
                            .setHeader(Exchange.HTTP_RESPONSE_CODE, constant(400)).end()
                        .process(e -> {
                            throw new IllegalArgumentException("rejected");
                        });
                from("direct:failing").routeId("failing").routePolicyRef("intakeFirst")
                        .process(e -> seen.add(priority.intakeInFlight()))
                        .process(e -> {
                            throw new IllegalStateException("Kafka did not take it");
                        });
                from("direct:stream").routeId("stream")
                        .process(e -> seen.add(priority.intakeInFlight()));
            }
        });
        context.start();
        priority = IntakePriority.of(context);
        template = context.createProducerTemplate();
    }

    @AfterEach
    void stop() {
        context.stop();
    }

    @Test
    void anIntakeExchangeCountsOnceWhileInFlightThroughTwoIntakeRoutes() {
        Exchange done = template.send("direct:intake", e -> e.getMessage().setBody("reading"));
        assertNull(done.getException());
        assertEquals(List.of(1, 1), seen);
        assertEquals(0, priority.intakeInFlight());
        assertNull(done.getProperty(IntakeRoutePolicy.COUNTED_BY));
    }

    @Test
    void aRejectedExchangeAnsweredByTheErrorHandlerStopsCounting() {
        Exchange done = template.send("direct:rejecting", e -> e.getMessage().setBody("bad"));
        assertEquals(400, done.getMessage().getHeader(Exchange.HTTP_RESPONSE_CODE));
        assertEquals(List.of(1), seen);
        assertEquals(0, priority.intakeInFlight());
    }

    @Test
    void anUnhandledExceptionStopsCounting() {
        Exchange done = template.send("direct:failing", e -> e.getMessage().setBody("reading"));
        assertNotNull(done.getException());
        assertEquals(List.of(1), seen);
        assertEquals(0, priority.intakeInFlight());
    }

    @Test
    void aRouteThatDoesNotNameThePolicyNeverCounts() {
        template.sendBody("direct:stream", "subscribe");
        assertEquals(List.of(0), seen);
    }
}
