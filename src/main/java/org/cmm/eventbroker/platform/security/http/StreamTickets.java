package org.cmm.eventbroker.platform.security.http;

import java.security.SecureRandom;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Short-lived, single-use tickets for stream clients that cannot send an {@code Authorization} header (a browser's
 * {@code EventSource} and {@code WebSocket}): {@code POST /streams/tickets} with a bearer token returns a random
 * ticket that stands for the token's caller for {@code ttlMs}, and {@code ?ticket=} redeems it once. So a long-lived
 * token never appears in a URL (nor in an access log that records URLs). Kept in memory: a ticket is redeemed at the
 * instance that issued it, which a browser does within seconds; at most {@code maxTickets} are outstanding.
 *
 * <p>Used by the event API ({@code POST /streams/tickets}) and the analytics dashboard ({@code POST /dashboard/tickets}),
 * each with its own tickets: a ticket is redeemed only where it was issued for.
 */
public final class StreamTickets {

    private record Ticket(Caller caller, long expiresAt) {
    }

    private final SecureRandom random = new SecureRandom();
    private final Map<String, Ticket> tickets = new ConcurrentHashMap<>();
    private final long ttlMs;
    private final int maxTickets;

    public StreamTickets(long ttlMs, int maxTickets) {
        this.ttlMs = ttlMs;
        this.maxTickets = maxTickets;
    }

    public long ttlMs() {
        return ttlMs;
    }

    /** A new ticket for the caller. */
    public String issue(Caller caller) {
        long now = System.currentTimeMillis();
        tickets.values().removeIf(t -> t.expiresAt() < now);
        if (tickets.size() >= maxTickets) {
            throw new TooManyTicketsException();
        }
        byte[] bytes = new byte[32];
        random.nextBytes(bytes);
        String id = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
        tickets.put(id, new Ticket(caller, now + ttlMs));
        return id;
    }

    /** The caller the ticket stands for, once; null when it is unknown, used or expired. */
    public Caller redeem(String ticket) {
        if (ticket == null) {
            return null;
        }
        Ticket t = tickets.remove(ticket);
        return t == null || t.expiresAt() < System.currentTimeMillis() ? null : t.caller();
    }

    /** More than {@code maxTickets} tickets are outstanding (answer 429). */
    public static final class TooManyTicketsException extends RuntimeException {
        TooManyTicketsException() {
            super("Too many outstanding stream tickets; try again shortly.");
        }
    }
}
