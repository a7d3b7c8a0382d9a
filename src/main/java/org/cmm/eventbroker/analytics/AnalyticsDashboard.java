package org.cmm.eventbroker.analytics;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.Semaphore;

import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;
import org.apache.camel.CamelContext;
import org.apache.camel.CamelContextAware;
import org.apache.camel.Exchange;
import org.apache.camel.StartupListener;
import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpRouter;
import org.cmm.eventbroker.platform.security.http.Caller;
import org.cmm.eventbroker.platform.security.http.HttpAccess;
import org.cmm.eventbroker.platform.security.http.HttpAccessGuard;
import org.cmm.eventbroker.platform.security.http.StreamTickets;

/**
 * The live dashboard at /dashboard/: the page (its content rendered by {@link DashboardView} at load; with access
 * control on the page is an empty shell that asks for the user's token) and its server-sent events at
 * /dashboard/events, which send the re-rendered content whenever it changed.
 *
 * <p>The event stream is a Vert.x handler on the platform HTTP server's router (as the event API's streams), not a
 * Camel route with a blocking InputStream body: the server reads such bodies with ordered blocking calls, one queue for
 * all its connections, so every open stream (also of a tab already closed) delayed every other one, and a reconnecting
 * page waited behind them. Here each stream is a timer on the event loop; the content is rendered on a worker.
 *
 * <p>Browsers cannot send an {@code Authorization} header with {@code EventSource}: with access control on, the page
 * exchanges the user's token (in a header, kept in the page's memory only) for a single-use ticket at
 * {@code POST /dashboard/tickets} ({@link StreamTickets}, as the event API's {@code POST /streams/tickets}; guarded by
 * the access rule of that path) and opens {@code /dashboard/events?ticket=...}; a long-lived token is never in a URL.
 * Each stream ends after {@code streamMaxMs} with an {@code end} event, and the page at once opens the next one with a
 * new ticket; at most {@code maxStreams} streams run at once (503 beyond).
 */
public class AnalyticsDashboard implements CamelContextAware, StartupListener {

    /** The id of the page's route: the streams are mounted only where the dashboard flow runs. */
    static final String PAGE_ROUTE = "analytics-dashboard-page";
    static final String EVENTS_PATH = "/dashboard/events";
    static final String TICKETS_PATH = "/dashboard/tickets";

    private static final String CONTENT_MARK = "<!--DASHBOARD-->";
    private static final String SECURED_MARK = "data-secured=\"false\"";

    private CamelContext camelContext;
    private AnalyticsStreams analytics;
    private long refreshMs = 1000;
    private long streamMaxMs = 60_000;
    private int maxStreams = 8;
    private long ticketTtlMs = 30_000;
    private String timeZone = "";
    private volatile Semaphore streams;
    private volatile String template;
    private volatile StreamTickets tickets;
    private volatile boolean mounted;

    public void setAnalytics(AnalyticsStreams analytics) { this.analytics = analytics; }
    public void setRefreshMs(long refreshMs) { this.refreshMs = refreshMs; }
    public void setStreamMaxMs(long streamMaxMs) { this.streamMaxMs = streamMaxMs; }
    public void setMaxStreams(int maxStreams) { this.maxStreams = maxStreams; }
    public void setTicketTtlMs(long ticketTtlMs) { this.ticketTtlMs = ticketTtlMs; }
    public void setTimeZone(String timeZone) { this.timeZone = timeZone; }

    @Override
    public CamelContext getCamelContext() {
        return camelContext;
    }

    @Override
    public void setCamelContext(CamelContext camelContext) {
        if (this.camelContext == camelContext) {
            return;
        }
        this.camelContext = camelContext;
        try {
            camelContext.addStartupListener(this);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void onCamelContextStarted(CamelContext context, boolean alreadyStarted) {
        // mounted once every route (and so the platform HTTP server) is up: onCamelContextFullyStarted
    }

    @Override
    public void onCamelContextFullyStarted(CamelContext context, boolean alreadyStarted) {
        mount();
    }

    /** Mounts the event stream and the ticket endpoint on the platform HTTP server's router, where the page runs. */
    synchronized void mount() {
        if (mounted || camelContext.getRoute(PAGE_ROUTE) == null) {
            return;
        }
        int port = Integer.parseInt(camelContext.resolvePropertyPlaceholders("{{camel.server.port}}"));
        VertxPlatformHttpRouter router = VertxPlatformHttpRouter.lookup(camelContext,
                VertxPlatformHttpRouter.getRouterNameFromPort(port));
        if (router == null) {
            throw new IllegalStateException("The platform HTTP server on port " + port
                    + " was not found (camel.server.enabled); the dashboard's event stream cannot be served");
        }
        try {
            // the Streams application runs where the dashboard runs, also without the queries flow (whose routes would
            // start it); stopped with the context
            camelContext.addService(analytics, true, true);
        } catch (Exception e) {
            throw new IllegalStateException("the analytics application does not start: " + e.getMessage(), e);
        }
        tickets = new StreamTickets(ticketTtlMs, 1000);
        HttpAccess access = HttpAccess.of(camelContext);
        Handler<RoutingContext> guard = access.enabled() ? access.intakeGuard() : RoutingContext::next;
        router.route(HttpMethod.POST, TICKETS_PATH).handler(guard).handler(this::ticket);
        router.route(HttpMethod.GET, EVENTS_PATH).handler(guard).handler(this::events);
        mounted = true;
    }

    private boolean secured() {
        return camelContext != null && HttpAccess.of(camelContext).enabled();
    }

    /** The dashboard's content now, or a note that the analytics are not ready. */
    String content() {
        try {
            return new DashboardView(AnalyticsSettings.zone(timeZone)).render(analytics.bedOccupancy(),
                    analytics.patientFlow(), analytics.waitTimes());
        } catch (AnalyticsUnavailableException e) {
            return "<section class=\"card\"><p class=\"empty\" data-metric=\"unavailable\">Analytics not ready: "
                    + e.getMessage() + "</p></section>";
        }
    }

    /**
     * GET /dashboard/: the page, with the current content; with access control on, without content (the page is open
     * so that a browser can load it; its data comes only over the ticketed event stream).
     */
    public void page(Exchange exchange) {
        String page = secured()
                ? template().replace(SECURED_MARK, "data-secured=\"true\"").replace(CONTENT_MARK,
                        "<section class=\"card\"><p class=\"empty\" data-metric=\"sign-in\">Sign in with your access"
                                + " token to see the analytics.</p></section>")
                : template().replace(CONTENT_MARK, content());
        exchange.getMessage().setBody(page);
        exchange.getMessage().setHeader(Exchange.CONTENT_TYPE, "text/html; charset=utf-8");
        exchange.getMessage().setHeader("Cache-Control", "no-store");
        exchange.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, 200);
    }

    /** POST /dashboard/tickets (the access rule of that path has checked the token): a single-use stream ticket. */
    private void ticket(RoutingContext ctx) {
        Caller caller = ctx.get(HttpAccessGuard.CALLER);
        try {
            String ticket = tickets.issue(caller == null ? new Caller("anonymous", Set.of()) : caller);
            ctx.response().setStatusCode(201).putHeader("Content-Type", "application/json")
                    .putHeader("Cache-Control", "no-store")
                    .end(AnalyticsJson.text(AnalyticsJson.MAPPER.createObjectNode().put("ticket", ticket)
                            .put("expires_in_ms", tickets.ttlMs())));
        } catch (StreamTickets.TooManyTicketsException e) {
            ctx.response().setStatusCode(429).putHeader("Retry-After", "5").putHeader("Content-Type", "text/plain")
                    .end(e.getMessage());
        }
    }

    /** GET /dashboard/events: the content as server-sent events (event "dashboard"), each time it changes. */
    private void events(RoutingContext ctx) {
        HttpServerResponse response = ctx.response();
        if (secured() && tickets.redeem(ctx.request().getParam("ticket")) == null) {
            response.setStatusCode(401).putHeader("Content-Type", "text/plain")
                    .end("a ticket is required (POST " + TICKETS_PATH + " with a bearer token); this one is unknown,"
                            + " used or expired");
            return;
        }
        Semaphore permits = permits();
        if (!permits.tryAcquire()) {
            response.setStatusCode(503).putHeader("Retry-After", "10").putHeader("Content-Type", "text/plain")
                    .end("too many dashboard streams");
            return;
        }
        response.setStatusCode(200).setChunked(true)
                .putHeader("Content-Type", "text/event-stream; charset=utf-8")
                .putHeader("Cache-Control", "no-store")
                .putHeader("X-Accel-Buffering", "no");
        response.write("retry: 2000\n\n");
        EventStream stream = new EventStream(ctx.vertx(), response, permits);
        response.closeHandler(v -> stream.stop());
        stream.start();
    }

    private Semaphore permits() {
        Semaphore s = streams;
        if (s == null) {
            synchronized (this) {
                if (streams == null) {
                    streams = new Semaphore(maxStreams);
                }
                s = streams;
            }
        }
        return s;
    }

    private String template() {
        String t = template;
        if (t == null) {
            try (InputStream in = AnalyticsDashboard.class.getResourceAsStream("dashboard.html")) {
                t = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            template = t;
        }
        return t;
    }

    /**
     * One open event stream: every refreshMs the content is rendered on a worker (the interactive queries read the
     * stores) and sent when it changed, else a comment line (proxies see traffic, a closed connection is noticed);
     * after streamMaxMs an {@code end} event, then the response ends. All state is touched on the event loop only.
     */
    private final class EventStream {
        private final Vertx vertx;
        private final HttpServerResponse response;
        private final Semaphore permits;
        private long periodic = -1;
        private long timeUp = -1;
        private boolean rendering;
        private boolean stopped;
        private String sent;

        EventStream(Vertx vertx, HttpServerResponse response, Semaphore permits) {
            this.vertx = vertx;
            this.response = response;
            this.permits = permits;
        }

        void start() {
            periodic = vertx.setPeriodic(refreshMs, id -> tick());
            timeUp = vertx.setTimer(streamMaxMs, id -> finish());
            tick();
        }

        private void tick() {
            if (stopped || rendering) {
                return;
            }
            rendering = true;
            vertx.executeBlocking(AnalyticsDashboard.this::content, false).onComplete(rendered -> {
                rendering = false;
                if (stopped) {
                    return;
                }
                if (rendered.failed()) {
                    finish();
                    return;
                }
                String content = rendered.result();
                if (!content.equals(sent)) {
                    sent = content;
                    write("event: dashboard\ndata: " + content + "\n\n");
                } else {
                    write(":\n\n");
                }
            });
        }

        private void write(String text) {
            if (!response.ended() && !response.closed()) {
                response.write(text);
            }
        }

        /** Time is up: the page opens the next stream at once (with a new ticket when access control is on). */
        private void finish() {
            if (stopped) {
                return;
            }
            write("event: end\ndata: stream time is up\n\n");
            if (!response.ended() && !response.closed()) {
                response.end();
            }
            stop();
        }

        void stop() {
            if (stopped) {
                return;
            }
            stopped = true;
            vertx.cancelTimer(periodic);
            vertx.cancelTimer(timeUp);
            permits.release();
        }
    }
}
