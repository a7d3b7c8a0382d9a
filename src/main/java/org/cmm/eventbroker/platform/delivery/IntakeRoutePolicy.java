package org.cmm.eventbroker.platform.delivery;

import org.apache.camel.Exchange;
import org.apache.camel.Route;
import org.apache.camel.spi.RoutePolicy;

/**
 * Counts the exchanges of the routes that name it as intake in flight for {@link IntakePriority}, so that the HTTP and
 * MQTT intakes hold the Kafka consumers back as the MLLP listener does. A route is an intake by saying so:
 * {@code routePolicy: intakeFirst} (the bean of {@code routes/platform/intake-first.camel.yaml}, loaded with every
 * flow), on the routes whose caller waits while its data is written to Kafka (EHR webhooks, FHIR changes, device
 * readings and alerts over HTTP and MQTT, workflow callbacks). Long-lived exchanges (SSE and WebSocket streams, event
 * API reads, the portal) never name it: counted, they would hold the consumers back for as long as they last.
 *
 * <p>An exchange is counted from the moment it enters the route until the route is done with it, whatever the outcome
 * (answered, rejected 4xx, 503, an exception): Camel calls {@link #onExchangeDone} on every path. Counted once even if
 * it passes through another intake route, and never uncounted by a route that did not count it. Not a service, so
 * that a stopped route (the supervising controller, a reload) cannot leave the count of the others unbalanced.
 */
public final class IntakeRoutePolicy implements RoutePolicy {

    /** The exchange property holding the id of the route that counted the exchange. */
    static final String COUNTED_BY = "cmmIntakeCountedBy";

    private volatile IntakePriority priority;

    @Override
    public void onInit(Route route) {
        priority = IntakePriority.of(route.getCamelContext());
    }

    @Override
    public void onExchangeBegin(Route route, Exchange exchange) {
        if (exchange.getProperty(COUNTED_BY) == null) {
            exchange.setProperty(COUNTED_BY, route.getRouteId());
            priority(exchange).intakeStarted();
        }
    }

    @Override
    public void onExchangeDone(Route route, Exchange exchange) {
        if (route.getRouteId().equals(exchange.getProperty(COUNTED_BY))) {
            exchange.removeProperty(COUNTED_BY);
            priority(exchange).intakeEnded();
        }
    }

    private IntakePriority priority(Exchange exchange) {
        IntakePriority p = priority;
        return p != null ? p : IntakePriority.of(exchange.getContext());
    }

    @Override
    public void onRemove(Route route) {
    }

    @Override
    public void onStart(Route route) {
    }

    @Override
    public void onStop(Route route) {
    }

    @Override
    public void onSuspend(Route route) {
    }

    @Override
    public void onResume(Route route) {
    }
}
