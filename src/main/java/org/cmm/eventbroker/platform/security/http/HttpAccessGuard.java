package org.cmm.eventbroker.platform.security.http;

import java.util.Optional;
import java.util.Set;

import io.vertx.core.Handler;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import org.apache.camel.CamelContext;
import org.cmm.eventbroker.platform.security.audit.AuditEvent;
import org.cmm.eventbroker.platform.security.audit.AuditSink;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one check in front of an HTTP server's routes (Vert.x handler): {@code Authorization: Bearer <token>} verified,
 * then the {@link AccessRules} table decides. Missing or invalid token: 401 with {@code WWW-Authenticate: Bearer};
 * valid but not allowed, or no rule for the path: 403; allowed: the request goes on without its
 * {@code Authorization} header (so the token never reaches a route, a Kafka header or a log; it is kept aside in
 * {@link CallerCredentials} only to be passed on when the runtime forwards the request to another instance of
 * itself). Every decision is
 * recorded through {@link AuditSink#of} (grants only when {@code auditGranted}). Nothing of the token is logged.
 *
 * <p>On the management server the Jolokia path gets one more check: anything but {@code read}, {@code list},
 * {@code search} and {@code version} (i.e. {@code exec}, {@code write}) needs one of {@code jolokiaWriteRoles}; and
 * the management server also takes the token the way Hawtio 4's proxy forwards a logged-in user's OIDC token to a
 * remote Jolokia: {@code Authorization: Basic base64("token:" + <access token>)}. It is the same bearer token,
 * verified the same way; no password is ever accepted.
 */
public final class HttpAccessGuard implements Handler<RoutingContext> {

    /** Realm named in {@code WWW-Authenticate}. */
    public static final String REALM = "cmm-event-broker";

    /** The key under which an allowed request's {@link Caller} is kept in its routing context (for handlers that
     * decide more, e.g. the event API's per-topic access). */
    public static final String CALLER = "cmm.access.caller";

    /** The key under which a request's accepted portal session id is kept (for the portal's logout), never logged. */
    public static final String SESSION = "cmm.access.session";

    private static final Logger LOG = LoggerFactory.getLogger(HttpAccessGuard.class);
    private static final Set<String> JOLOKIA_READS = Set.of("read", "list", "search", "version");

    private final CamelContext camelContext;
    private final String source;
    private final AccessRules rules;
    private final BearerTokenVerifier verifier;
    private final boolean auditGranted;
    private final String jolokiaPath;
    private final Set<String> jolokiaWriteRoles;
    private final ClientCertificateRoles certificates;
    private volatile SessionCookieAccess sessionCookies;

    /**
     * @param source            the way in the audit records name: {@code http} or {@code management}
     * @param jolokiaPath       the Jolokia path on this server, or null
     * @param jolokiaWriteRoles roles that may exec/write through Jolokia
     */
    public HttpAccessGuard(CamelContext camelContext, String source, AccessRules rules, BearerTokenVerifier verifier,
            boolean auditGranted, String jolokiaPath, Set<String> jolokiaWriteRoles) {
        this(camelContext, source, rules, verifier, auditGranted, jolokiaPath, jolokiaWriteRoles,
                new ClientCertificateRoles(false, java.util.Map.of()));
    }

    /**
     * @param certificates client certificates as an alternative to bearer tokens (a request without an
     *                     {@code Authorization} header whose TLS connection presented a verified certificate)
     */
    public HttpAccessGuard(CamelContext camelContext, String source, AccessRules rules, BearerTokenVerifier verifier,
            boolean auditGranted, String jolokiaPath, Set<String> jolokiaWriteRoles, ClientCertificateRoles certificates) {
        this.certificates = certificates;
        this.camelContext = camelContext;
        this.source = source;
        this.rules = rules;
        this.verifier = verifier;
        this.auditGranted = auditGranted;
        this.jolokiaPath = jolokiaPath;
        this.jolokiaWriteRoles = Set.copyOf(jolokiaWriteRoles);
    }

    /** Accepts the portal's session cookie on the paths it covers (see {@link SessionCookieAccess}). */
    void acceptSessionCookies(SessionCookieAccess cookies) {
        this.sessionCookies = cookies;
    }

    @Override
    public void handle(RoutingContext ctx) {
        try {
            decide(ctx);
        } catch (RuntimeException e) {
            // never let a malformed request crash the server or slip through: refuse it
            LOG.warn("Access check failed on {} {} ({}); refused", ctx.request().method(), ctx.normalizedPath(),
                    e.getClass().getSimpleName());
            refuse(ctx, 400, null, "bad request");
        }
    }

    private void decide(RoutingContext ctx) {
        String method = ctx.request().method().name();
        String path = ctx.normalizedPath();
        String address = ctx.request().remoteAddress() == null ? null : ctx.request().remoteAddress().hostAddress();
        Optional<AccessRules.Rule> rule = rules.find(method, path);
        SessionCookieAccess.Outcome cookie = sessionCookies == null ? SessionCookieAccess.Outcome.NONE
                : sessionCookies.check(ctx, method, path);
        if (cookie.present()) {
            if (cookie.caller() != null) {
                ctx.put(SESSION, cookie.sessionId()); // only a session accepted here: a refused one ends nothing
            }
            ctx.request().headers().remove(HttpHeaders.COOKIE); // the session id goes no further than here
        }
        if (rule.isPresent() && rule.get().open()) {
            if (cookie.present() && cookie.caller() == null) {
                // not accepted, though the path is open (its handler decides without it): still a decision to audit
                audit(AuditEvent.authentication(source, null, "SESSION", false, address, cookie.refusal()));
            }
            if (cookie.caller() != null) {
                // an open path that serves a signed-in browser more (a stream): it gets the session's caller
                ctx.setUser(io.vertx.ext.auth.User.fromName(cookie.caller().name()));
                ctx.put(CALLER, cookie.caller());
            }
            ctx.next();
            return;
        }
        if (cookie.caller() != null) {
            authorize(ctx, cookie.caller(), "SESSION", null, rule, method, path, address);
            return;
        }
        if (cookie.present()) {
            audit(AuditEvent.authentication(source, null, "SESSION", false, address, cookie.refusal()));
            refuse(ctx, cookie.status(), cookie.status() == 401 ? "Bearer realm=\"" + REALM + "\"" : null,
                    cookie.status() == 401 ? "session expired or unknown: log in again" : "forbidden");
            return;
        }
        String authorization = ctx.request().getHeader(HttpHeaders.AUTHORIZATION);
        if ((authorization == null || authorization.isBlank()) && certificates.enabled()) {
            Optional<javax.security.auth.x500.X500Principal> subject = ClientCertificateRoles.verifiedSubject(ctx);
            if (subject.isPresent()) {
                authorize(ctx, certificates.callerFor(subject.get()), "CERTIFICATE", null, rule, method, path, address);
                return;
            }
        }
        if (authorization == null || authorization.isBlank()) {
            audit(AuditEvent.authentication(source, null, "BEARER", false, address, "no credentials"));
            refuse(ctx, 401, "Bearer realm=\"" + REALM + "\"", "authentication required");
            return;
        }
        String presented = null;
        if (authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            presented = authorization.substring(7).trim();
        } else if (jolokiaPath != null && authorization.regionMatches(true, 0, "Basic ", 0, 6)) {
            presented = hawtioForwardedToken(authorization.substring(6).trim());
        }
        if (presented == null) {
            audit(AuditEvent.authentication(source, null, "BEARER", false, address, "not a bearer token"));
            refuse(ctx, 401, "Bearer realm=\"" + REALM + "\", error=\"invalid_request\"", "bearer token required");
            return;
        }
        String token = presented;
        ctx.vertx().<Caller>executeBlocking(() -> verifier.verify(token), false).onComplete(verified -> {
            if (verified.failed()) {
                String reason = verified.cause() instanceof InvalidTokenException ? verified.cause().getMessage()
                        : "token could not be verified";
                audit(AuditEvent.authentication(source, BearerTokenVerifier.claimedName(token), "BEARER", false,
                        address, reason));
                LOG.debug("Refused {} {}: {}", method, path, reason);
                refuse(ctx, 401, "Bearer realm=\"" + REALM + "\", error=\"invalid_token\"", "invalid token");
                return;
            }
            authorize(ctx, verified.result(), "BEARER", token, rule, method, path, address);
        });
    }

    private void authorize(RoutingContext ctx, Caller caller, String mechanism, String token,
            Optional<AccessRules.Rule> rule, String method, String path, String address) {
        try {
            if (auditGranted) {
                audit(AuditEvent.authentication(source, caller.name(), mechanism, true, address, null));
            }
            String refusal = null;
            if (rule.isEmpty()) {
                refusal = "no access rule for this path";
            } else if (!rule.get().allows(caller)) {
                refusal = "needs one of " + rule.get().roles() + " (rule " + rule.get().name() + ")";
            } else if (isJolokia(path) && !caller.holdsAny(jolokiaWriteRoles) && !jolokiaReadOnly(ctx, path)) {
                refusal = "Jolokia exec/write needs one of " + jolokiaWriteRoles;
            }
            boolean granted = refusal == null;
            if (!granted || auditGranted) {
                audit(AuditEvent.authorization(source, caller.name(), method, "Endpoint", path, granted, address,
                        refusal));
            }
            if (!granted) {
                LOG.debug("Refused {} {} to {}: {}", method, path, caller.name(), refusal);
                refuse(ctx, 403, "Bearer realm=\"" + REALM + "\", error=\"insufficient_scope\"", "forbidden");
                return;
            }
            ctx.request().headers().remove(HttpHeaders.AUTHORIZATION);
            // the verified name reaches the route as the server's authenticated user (VerifiedCaller), never as a header
            ctx.setUser(VerifiedCaller.user(caller));
            // and the whole caller (name and roles) to handlers that decide more, e.g. the event API per topic
            ctx.put(CALLER, caller);
            if (token != null) {
                // kept (not as a header) only to pass the caller's credentials on to another instance of the runtime
                CallerCredentials.keep(ctx, token);
            }
            ctx.next();
        } catch (RuntimeException e) {
            LOG.warn("Access check failed on {} {} ({}); refused", method, path, e.getClass().getSimpleName());
            refuse(ctx, 400, null, "bad request");
        }
    }

    /** The access token in Hawtio's {@code Basic base64("token:" + token)}, or null when it is anything else. */
    private static String hawtioForwardedToken(String basic) {
        try {
            String decoded = new String(java.util.Base64.getDecoder().decode(basic), java.nio.charset.StandardCharsets.UTF_8);
            return decoded.startsWith("token:") && decoded.length() > 6 ? decoded.substring(6) : null;
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private boolean isJolokia(String path) {
        return jolokiaPath != null && (path.equals(jolokiaPath) || path.startsWith(jolokiaPath + "/"));
    }

    /** Whether a Jolokia request only reads (GET: the type in the path; POST: every request in the JSON body). */
    private boolean jolokiaReadOnly(RoutingContext ctx, String path) {
        if ("GET".equals(ctx.request().method().name())) {
            String rest = path.substring(jolokiaPath.length()).replaceAll("^/+", "");
            String type = rest.isEmpty() ? "version" : rest.split("/", 2)[0];
            return JOLOKIA_READS.contains(type);
        }
        if (!"POST".equals(ctx.request().method().name()) || ctx.body() == null || ctx.body().buffer() == null) {
            return false;
        }
        try {
            String json = ctx.body().asString().trim();
            if (json.startsWith("[")) {
                JsonArray requests = new JsonArray(json);
                for (Object request : requests) {
                    if (!(request instanceof JsonObject r) || !JOLOKIA_READS.contains(r.getString("type"))) {
                        return false;
                    }
                }
                return !requests.isEmpty();
            }
            return JOLOKIA_READS.contains(new JsonObject(json).getString("type"));
        } catch (RuntimeException e) {
            return false; // unreadable: treated as a write, so only an operator gets through
        }
    }

    private void audit(AuditEvent event) {
        try {
            AuditSink.of(camelContext).record(event);
        } catch (RuntimeException e) {
            LOG.warn("Audit sink failed ({})", e.getClass().getSimpleName());
        }
    }

    private static void refuse(RoutingContext ctx, int status, String challenge, String text) {
        if (ctx.response().ended()) {
            return;
        }
        if (challenge != null) {
            ctx.response().putHeader("WWW-Authenticate", challenge);
        }
        ctx.response().setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, "text/plain").end(text);
    }
}
