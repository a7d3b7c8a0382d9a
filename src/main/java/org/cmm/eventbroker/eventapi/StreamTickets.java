package org.cmm.eventbroker.eventapi;

import java.security.SecureRandom;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.cmm.eventbroker.platform.security.http.Caller;

/**
 * Short-lived, single-use tickets for stream clients that cannot send an {@code Authorization} header (a browser's
 * {@code EventSource} and {@code WebSocket}): {@code POST /streams/tickets} with a bearer token returns a random
 * ticket that stands for the token's caller for {@code ttlMs}, and {@code ?ticket=} redeems it once. So a long-lived
 * token never appears in a URL (nor in an access log that records URLs). Kept in memory: a ticket is redeemed at the
 * instance that issued it, which a browser does within seconds; at most {@code maxTickets} are outstanding.
 */
final class StreamTickets {

    private record Ticket(Caller caller, long expiresAt) {
    }

    private final SecureRandom random = new SecureRandom();
    private final Map<String, Ticket> tickets = new ConcurrentHashMap<>();
    private final long ttlMs;
    private final int maxTickets;

    StreamTickets(long ttlMs, int maxTickets) {
        this.ttlMs = ttlMs;
        this.maxTickets = maxTickets;
    }

    long ttlMs() {
        return ttlMs;
    }

    /** A new ticket for the caller. */
    String issue(Caller caller) {
        long now = System.currentTimeMillis();
        tickets.values().removeIf(t -> t.expiresAt() < now);
        if (tickets.size() >= maxTickets) {
            throw new ApiException(429, "Too many outstanding stream tickets; try again shortly.");
        }
        byte[] bytes = new byte[32];
        random.nextBytes(bytes);
        String id = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
        tickets.put(id, new Ticket(caller, now + ttlMs));
        return id;
    }

    /** The caller the ticket stands for, once; null when it is unknown, used or expired. */
    Caller redeem(String ticket) {
        if (ticket == null) {
            return null;
        }
        Ticket t = tickets.remove(ticket);
        return t == null || t.expiresAt() < System.currentTimeMillis() ? null : t.caller();
    }
}
