package org.cmm.eventbroker.platform.security.http;

import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.Base64;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Server-side browser sessions behind the portal's session cookie: a browser cannot send {@code Authorization} on an
 * {@code EventSource} (whatwg/html#2177), so after the portal's OIDC login it holds only an opaque random id (256 bits)
 * that names the {@link Caller} its verified token stood for, until that token's expiry. The cookie holds no token
 * and no claim; forging one means guessing an id. The count is bounded: when full, expired sessions are dropped, and
 * if none expired a new login is refused (the caller logs in again later) instead of evicting someone else's.
 * In memory, per instance: a restart or another instance behind a load balancer without stickiness asks the browser
 * to log in again.
 */
public final class BrowserSessions {

    /** The session cookie's name. */
    public static final String COOKIE = "cmm_session";

    private static final SecureRandom RANDOM = new SecureRandom();

    private record Session(Caller caller, Instant expires) {
    }

    private final Map<String, Session> sessions = new ConcurrentHashMap<>();
    private final int maxSessions;
    private final Clock clock;

    public BrowserSessions(int maxSessions) {
        this(maxSessions, Clock.systemUTC());
    }

    BrowserSessions(int maxSessions, Clock clock) {
        this.maxSessions = maxSessions;
        this.clock = clock;
    }

    /**
     * A new session for a verified caller until {@code expires}; empty when the store is full of live sessions.
     *
     * @return the session id for the cookie
     */
    public java.util.Optional<String> create(Caller caller, Instant expires) {
        if (sessions.size() >= maxSessions) {
            expire();
            if (sessions.size() >= maxSessions) {
                return java.util.Optional.empty();
            }
        }
        String id = randomId();
        sessions.put(id, new Session(caller, expires));
        return java.util.Optional.of(id);
    }

    /** The caller of a live session; null for an unknown, ended or expired id (an expired one is removed). */
    public Caller caller(String id) {
        if (id == null || id.length() != 43) {
            return null;
        }
        Session s = sessions.get(id);
        if (s == null) {
            return null;
        }
        if (!clock.instant().isBefore(s.expires())) {
            sessions.remove(id, s);
            return null;
        }
        return s.caller();
    }

    /** Ends a session (logout); unknown ids are ignored. */
    public void end(String id) {
        if (id != null) {
            sessions.remove(id);
        }
    }

    /** Live sessions (for tests and metrics). */
    public int size() {
        return sessions.size();
    }

    /** Drops expired sessions. */
    public void expire() {
        Instant now = clock.instant();
        for (Iterator<Session> it = sessions.values().iterator(); it.hasNext();) {
            if (!now.isBefore(it.next().expires())) {
                it.remove();
            }
        }
    }

    /** 256 random bits, base64url without padding (43 characters): session ids, OIDC state, nonce, PKCE verifier. */
    public static String randomId() {
        byte[] bytes = new byte[32];
        RANDOM.nextBytes(bytes);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }
}
