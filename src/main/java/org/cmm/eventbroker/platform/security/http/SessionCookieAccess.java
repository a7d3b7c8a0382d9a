package org.cmm.eventbroker.platform.security.http;

import java.util.List;
import java.util.Set;

import io.vertx.core.http.Cookie;
import io.vertx.ext.web.RoutingContext;

/**
 * The portal's session cookie ({@value BrowserSessions#COOKIE}) as an alternative to {@code Authorization: Bearer} on
 * the paths browsers open themselves (the portal, the streams, the dashboard: {@code cmm.access.session-cookie.paths}):
 * it stands for the caller of the token the portal's login verified, with the same roles, so the same access rules
 * decide. A request that carries a bearer token is decided by the token alone.
 *
 * <p>Cross-site request forgery: the cookie is {@code SameSite=Lax}, so browsers send it on another site's requests
 * only for a top-level GET navigation (never on its POST, fetch, frame or WebSocket); on top of that a request with the
 * cookie whose {@code Origin} is not this server's own ({@code http[s]://<Host>}) is refused, and a state-changing one
 * (anything but GET/HEAD) must carry its {@code Origin} (browsers always send it on such requests, including WebSocket
 * upgrades). GET stays free of side effects on the covered paths (the portal's logout is a POST).
 */
public final class SessionCookieAccess {

    /** What the cookie says about a request. */
    record Outcome(Caller caller, String sessionId, int status, String refusal) {
        static final Outcome NONE = new Outcome(null, null, 0, null);

        boolean present() {
            return sessionId != null;
        }
    }

    private static final Set<String> SAFE_METHODS = Set.of("GET", "HEAD");

    private final BrowserSessions sessions;
    private final List<String> paths;

    /**
     * @param paths the paths the cookie counts on: exact, or ending in {@code /**} for everything under a prefix
     */
    SessionCookieAccess(BrowserSessions sessions, List<String> paths) {
        this.sessions = sessions;
        this.paths = List.copyOf(paths);
    }

    BrowserSessions sessions() {
        return sessions;
    }

    /** Whether the cookie counts on this path. */
    boolean covers(String path) {
        for (String p : paths) {
            if (p.endsWith("/**") ? path.startsWith(p.substring(0, p.length() - 2))
                    || path.equals(p.substring(0, p.length() - 3)) : path.equals(p)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The cookie's caller, or the refusal (401 unknown or expired session; 403 forged cross-origin use), or
     * {@link Outcome#NONE} when the request carries no cookie, a bearer token, or is on a path the cookie does not
     * cover.
     */
    Outcome check(RoutingContext ctx, String method, String path) {
        String authorization = ctx.request().getHeader("Authorization");
        if (authorization != null && !authorization.isBlank() || !covers(path)) {
            return Outcome.NONE;
        }
        Cookie cookie = ctx.request().getCookie(BrowserSessions.COOKIE);
        if (cookie == null || cookie.getValue() == null || cookie.getValue().isEmpty()) {
            return Outcome.NONE;
        }
        String id = cookie.getValue();
        String origin = ctx.request().getHeader("Origin");
        if (origin != null && !origin.equalsIgnoreCase(ownOrigin(ctx))) {
            return new Outcome(null, id, 403, "session cookie sent from another origin");
        }
        if (origin == null && !SAFE_METHODS.contains(method)) {
            return new Outcome(null, id, 403, "state-changing request with a session cookie but no Origin");
        }
        Caller caller = sessions.caller(id);
        if (caller == null) {
            return new Outcome(null, id, 401, "unknown or expired session");
        }
        return new Outcome(caller, id, 200, null);
    }

    /** {@code http[s]://<host[:port]>} of the request as this server received it (Host, or HTTP/2's :authority). */
    public static String ownOrigin(RoutingContext ctx) {
        io.vertx.core.net.HostAndPort authority = ctx.request().authority();
        String host = authority == null ? ctx.request().getHeader("Host")
                : authority.host() + (authority.port() >= 0 ? ":" + authority.port() : "");
        return (ctx.request().isSSL() ? "https://" : "http://") + (host == null ? "" : host);
    }
}
