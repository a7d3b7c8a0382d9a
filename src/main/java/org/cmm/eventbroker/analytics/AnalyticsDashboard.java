package org.cmm.eventbroker.analytics;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

import org.apache.camel.Exchange;

/**
 * The live dashboard at /dashboard/: the page (its content rendered by {@link DashboardView} at load) and its
 * server-sent events at /dashboard/events, which send the re-rendered content whenever it changed. Each event stream
 * ends after {@code streamMaxMs} and the browser's EventSource reconnects (after the {@code retry} it was given), so a
 * closed tab never holds a server thread for long; at most {@code maxStreams} streams run at once (503 beyond).
 */
public class AnalyticsDashboard {

    private static final String CONTENT_MARK = "<!--DASHBOARD-->";

    private AnalyticsStreams analytics;
    private long refreshMs = 1000;
    private long streamMaxMs = 60_000;
    private int maxStreams = 8;
    private String timeZone = "";
    private volatile Semaphore streams;
    private volatile String template;

    public void setAnalytics(AnalyticsStreams analytics) { this.analytics = analytics; }
    public void setRefreshMs(long refreshMs) { this.refreshMs = refreshMs; }
    public void setStreamMaxMs(long streamMaxMs) { this.streamMaxMs = streamMaxMs; }
    public void setMaxStreams(int maxStreams) { this.maxStreams = maxStreams; }
    public void setTimeZone(String timeZone) { this.timeZone = timeZone; }

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

    /** GET /dashboard/: the page, with the current content. */
    public void page(Exchange exchange) {
        exchange.getMessage().setBody(template().replace(CONTENT_MARK, content()));
        exchange.getMessage().setHeader(Exchange.CONTENT_TYPE, "text/html; charset=utf-8");
        exchange.getMessage().setHeader("Cache-Control", "no-store");
        exchange.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, 200);
    }

    /** GET /dashboard/events: the content as server-sent events (event "dashboard"), each time it changes. */
    public void events(Exchange exchange) {
        Semaphore permits = permits();
        if (!permits.tryAcquire()) {
            exchange.getMessage().setBody("too many dashboard streams");
            exchange.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, 503);
            exchange.getMessage().setHeader("Retry-After", "10");
            return;
        }
        exchange.getMessage().setBody(new EventStream(permits));
        exchange.getMessage().setHeader(Exchange.CONTENT_TYPE, "text/event-stream; charset=utf-8");
        exchange.getMessage().setHeader("Cache-Control", "no-store");
        exchange.getMessage().setHeader("X-Accel-Buffering", "no");
        exchange.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, 200);
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
     * The body of one event stream: blocks (on a worker thread of the HTTP server) for at most refreshMs, then gives
     * the changed content as an event or a comment line, and ends after streamMaxMs. available() is 0 between events,
     * so each event is flushed alone.
     */
    private final class EventStream extends InputStream {
        private final Semaphore permits;
        private final long ends = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(streamMaxMs);
        private byte[] buffer = new byte[0];
        private int position;
        private String sent;
        private long lastWrite = System.nanoTime();
        private boolean closed;

        EventStream(Semaphore permits) {
            this.permits = permits;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public synchronized int read(byte[] b, int off, int len) throws IOException {
            if (closed) {
                return -1;
            }
            while (position >= buffer.length) {
                if (!next()) {
                    close();
                    return -1;
                }
            }
            int n = Math.min(len, buffer.length - position);
            System.arraycopy(buffer, position, b, off, n);
            position += n;
            return n;
        }

        @Override
        public synchronized int available() {
            return buffer.length - position;
        }

        /** Waits for the next event; false when the stream's time is up. */
        private boolean next() throws IOException {
            while (true) {
                long now = System.nanoTime();
                if (now >= ends) {
                    return false;
                }
                String content = content();
                if (!content.equals(sent)) {
                    String prefix = sent == null ? "retry: 2000\n" : "";
                    sent = content;
                    fill(prefix + "event: dashboard\ndata: " + content + "\n\n");
                    return true;
                }
                if (sent != null && now - lastWrite >= TimeUnit.MILLISECONDS.toNanos(refreshMs)) {
                    // a comment line at every check without change: no read blocks the HTTP server's worker (whose
                    // blocking reads run in order per event loop) longer than refreshMs, and proxies see traffic
                    fill(":\n\n");
                    return true;
                }
                try {
                    TimeUnit.MILLISECONDS.sleep(Math.min(refreshMs, TimeUnit.NANOSECONDS.toMillis(ends - now) + 1));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
        }

        private void fill(String text) {
            buffer = text.getBytes(StandardCharsets.UTF_8);
            position = 0;
            lastWrite = System.nanoTime();
        }

        @Override
        public synchronized void close() {
            if (!closed) {
                closed = true;
                permits.release();
            }
        }
    }
}
