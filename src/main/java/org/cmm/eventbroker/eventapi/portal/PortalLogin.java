package org.cmm.eventbroker.eventapi.portal;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jose.util.JSONObjectUtils;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.JWTParser;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import io.vertx.core.http.Cookie;
import io.vertx.core.http.CookieSameSite;
import io.vertx.ext.web.RoutingContext;
import org.cmm.eventbroker.platform.security.audit.AuditEvent;
import org.cmm.eventbroker.platform.security.audit.AuditSink;
import org.cmm.eventbroker.platform.security.http.BrowserSessions;
import org.cmm.eventbroker.platform.security.http.Caller;
import org.cmm.eventbroker.platform.security.http.HttpAccess;
import org.cmm.eventbroker.platform.security.http.HttpAccessGuard;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The portal's login: the OpenID Connect authorization code flow with PKCE (S256) against the issuer the bearer tokens
 * come from ({@code cmm.security.oidc.issuer}), ending in the session cookie the access guard accepts where browsers
 * cannot send a header ({@code EventSource}, the portal's pages). {@code GET /portal/login} sends the browser to the
 * issuer with a random {@code state}, {@code nonce} and code challenge (kept here, and the state also in a short
 * cookie of the callback's path, so a callback another browser was tricked into is refused);
 * {@code GET /portal/callback} checks the state, redeems the code with the verifier, verifies the access token exactly
 * as a bearer token is verified ({@code BearerTokenVerifier}: signature by the JWKS, issuer, audience, expiry) and the
 * ID token (signature, issuer, audience = the portal's client, nonce, expiry), and starts a server-side session until
 * the access token's expiry; {@code /portal/logout} ends it. Tokens stay in this class: neither they nor the session id
 * reach a log line, a page or a URL.
 */
public final class PortalLogin {

    /** Short-lived cookie binding a login's state to the browser that started it. */
    static final String STATE_COOKIE = "cmm_login_state";

    private static final Logger LOG = LoggerFactory.getLogger(PortalLogin.class);
    private static final long LOGIN_TTL_MS = 300_000;
    private static final int MAX_PENDING = 1000;

    private record Pending(String verifier, String nonce, long expires) {
    }

    /** endSession: the issuer's end_session_endpoint (RP-initiated logout), null when it offers none. */
    private record Endpoints(String authorization, String token, String jwks, String endSession) {
    }

    /** A session's ID token, kept only to name the session at the issuer's sign-out (id_token_hint). */
    private record SignOutHint(String idToken, Instant expires) {
    }

    private final HttpAccess access;
    private final AuditSink audit;
    private final String issuer;
    private final String configuredJwks;
    private final String clientId;
    private final String clientSecret;
    private final String redirectUri;
    private final Map<String, Pending> pending = new ConcurrentHashMap<>();
    /** By session id; removed at logout, expired ones dropped at each login (bounded by the session limit). */
    private final Map<String, SignOutHint> signOutHints = new ConcurrentHashMap<>();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private volatile Endpoints endpoints;
    private volatile DefaultJWTProcessor<SecurityContext> idTokens;

    /**
     * @param clientId     the portal's client at the issuer
     * @param clientSecret its secret when it is a confidential client; blank for a public client (PKCE alone)
     * @param redirectUri  the callback as registered at the issuer; blank: this server's
     *                     {@code http[s]://<Host>/portal/callback}
     */
    public PortalLogin(HttpAccess access, AuditSink audit, String issuer, String jwksUri, String clientId,
            String clientSecret, String redirectUri) {
        this.access = access;
        this.audit = audit;
        this.issuer = issuer == null ? "" : issuer.trim();
        this.configuredJwks = jwksUri == null ? "" : jwksUri.trim();
        this.clientId = clientId;
        this.clientSecret = clientSecret == null ? "" : clientSecret.trim();
        this.redirectUri = redirectUri == null ? "" : redirectUri.trim();
    }

    /** The login as configured ({@code cmm.eventapi.portal.*}, {@code cmm.security.oidc.*}). */
    public static PortalLogin of(org.apache.camel.CamelContext context, HttpAccess access, AuditSink audit) {
        org.apache.camel.spi.PropertiesComponent p = context.getPropertiesComponent();
        java.util.function.Function<String, String> get = k -> p.resolveProperty(k).map(String::trim).orElse("");
        String client = get.apply("cmm.eventapi.portal.client-id");
        return new PortalLogin(access, audit, get.apply("cmm.security.oidc.issuer"),
                get.apply("cmm.security.oidc.jwks-uri"), client.isEmpty() ? "cmm-portal" : client,
                get.apply("cmm.eventapi.portal.client-secret"), get.apply("cmm.eventapi.portal.redirect-uri"));
    }

    /** {@code GET /portal/login}: to the issuer's authorization endpoint. */
    public void login(RoutingContext ctx) {
        if (!access.enabled() || issuer.isEmpty()) {
            page(ctx, 404, "No login here: access control is off or no OIDC issuer is configured.");
            return;
        }
        ctx.vertx().<Endpoints>executeBlocking(this::endpoints, false).onComplete(found -> {
            if (found.failed()) {
                LOG.warn("Portal login: the issuer's discovery document could not be read ({})",
                        found.cause().getClass().getSimpleName());
                page(ctx, 503, "The identity provider cannot be reached; try again later.");
                return;
            }
            long now = System.currentTimeMillis();
            pending.values().removeIf(p -> p.expires() < now);
            if (pending.size() >= MAX_PENDING) {
                page(ctx, 429, "Too many logins in progress; try again in a few minutes.");
                return;
            }
            String state = BrowserSessions.randomId();
            String verifier = BrowserSessions.randomId();
            String nonce = BrowserSessions.randomId();
            pending.put(state, new Pending(verifier, nonce, now + LOGIN_TTL_MS));
            String location = found.result().authorization() + (found.result().authorization().contains("?") ? "&" : "?")
                    + form(Map.of("response_type", "code", "client_id", clientId, "redirect_uri", redirectUri(ctx),
                            "scope", "openid", "state", state, "nonce", nonce,
                            "code_challenge", challenge(verifier), "code_challenge_method", "S256"));
            ctx.response().addCookie(Cookie.cookie(STATE_COOKIE, state).setPath("/portal/callback").setHttpOnly(true)
                    .setSecure(ctx.request().isSSL()).setSameSite(CookieSameSite.LAX).setMaxAge(LOGIN_TTL_MS / 1000));
            ctx.response().putHeader("Cache-Control", "no-store").putHeader("Location", location).setStatusCode(302)
                    .end();
        });
    }

    /** {@code GET /portal/callback?code=&state=}: checks, redeems, verifies, and sets the session cookie. */
    public void callback(RoutingContext ctx) {
        if (!access.enabled() || issuer.isEmpty()) {
            page(ctx, 404, "No login here: access control is off or no OIDC issuer is configured.");
            return;
        }
        String state = ctx.request().getParam("state");
        String code = ctx.request().getParam("code");
        Cookie bound = ctx.request().getCookie(STATE_COOKIE);
        ctx.response().addCookie(Cookie.cookie(STATE_COOKIE, "").setPath("/portal/callback").setMaxAge(0));
        Pending login = state == null ? null : pending.remove(state);
        String address = ctx.request().remoteAddress() == null ? null : ctx.request().remoteAddress().hostAddress();
        if (login == null || login.expires() < System.currentTimeMillis() || bound == null
                || !state.equals(bound.getValue())) {
            audit(AuditEvent.authentication("http", null, "SESSION", false, address, "portal login: unknown, expired "
                    + "or foreign state"));
            page(ctx, 401, "This login is unknown or has expired. <a href=\"/portal/login\">Log in again</a>.");
            return;
        }
        if (code == null || code.isBlank()) {
            audit(AuditEvent.authentication("http", null, "SESSION", false, address, "portal login: no code ("
                    + safe(ctx.request().getParam("error")) + ")"));
            page(ctx, 401, "The identity provider did not log you in. <a href=\"/portal/login\">Try again</a>.");
            return;
        }
        String callbackUri = redirectUri(ctx);
        ctx.vertx().<Session>executeBlocking(() -> redeem(code, login, callbackUri), false).onComplete(done -> {
            if (done.failed()) {
                String reason = done.cause() instanceof LoginRefused r ? r.getMessage()
                        : "code could not be redeemed (" + done.cause().getClass().getSimpleName() + ")";
                audit(AuditEvent.authentication("http", null, "SESSION", false, address, "portal login: " + reason));
                LOG.info("Portal login refused: {}", reason);
                page(ctx, 401, "The login could not be completed. <a href=\"/portal/login\">Try again</a>.");
                return;
            }
            Session session = done.result();
            String id = access.sessions().create(session.caller(), session.expires()).orElse(null);
            if (id == null) {
                page(ctx, 503, "Too many sessions at the moment; try again later.");
                return;
            }
            Instant now = Instant.now();
            signOutHints.values().removeIf(h -> h.expires().isBefore(now));
            signOutHints.put(id, new SignOutHint(session.idToken(), session.expires()));
            audit(AuditEvent.authentication("http", session.caller().name(), "SESSION", true, address, null));
            long maxAge = Math.max(1, Duration.between(Instant.now(), session.expires()).toSeconds());
            ctx.response().addCookie(sessionCookie(id, maxAge, ctx.request().isSSL()));
            // a page of this site that continues to the portal (a plain page, so it also works with a stricter
            // SameSite policy in front of this server)
            ctx.response().putHeader("Cache-Control", "no-store").putHeader("Content-Type", "text/html; charset=utf-8")
                    .setStatusCode(200).end("<!doctype html><html><head><meta charset=\"utf-8\">"
                            + "<meta http-equiv=\"refresh\" content=\"0;url=/portal/\"><title>Logged in</title></head>"
                            + "<body><p>Logged in as " + escape(session.caller().name())
                            + ". <a href=\"/portal/\">Continue to the portal</a>.</p></body></html>");
        });
    }

    /**
     * {@code POST /portal/logout}: ends the server session and clears the cookie. {@code GET} only answers the page
     * with the logout button: a {@code SameSite=Lax} cookie comes along on a link another site offers, so a GET must
     * not end anything (a POST from another site carries no Lax cookie, and the guard refuses a foreign Origin).
     */
    public void logout(RoutingContext ctx) {
        if (!"POST".equals(ctx.request().method().name())) {
            page(ctx, 200, "<form method=\"post\" action=\"/portal/logout\"><button type=\"submit\">Log out</button>"
                    + "</form>");
            return;
        }
        String origin = ctx.request().getHeader("Origin");
        // as the guard wants of any state-changing request with the cookie: the server's own Origin (browsers send
        // it on every POST), so another site's form cannot even clear the cookie
        if (origin == null || !origin.equalsIgnoreCase(
                org.cmm.eventbroker.platform.security.http.SessionCookieAccess.ownOrigin(ctx))) {
            page(ctx, 403, "Log out from the portal's own page.");
            return;
        }
        String id = ctx.get(HttpAccessGuard.SESSION); // set by the guard only for a session it accepted
        if (id == null) {
            // a path the session cookie does not cover (cmm.access.session-cookie.paths), so the guard left it
            // alone; or one it refused as unknown or expired, which ends nothing
            Cookie cookie = ctx.request().getCookie(BrowserSessions.COOKIE);
            id = cookie == null ? null : cookie.getValue();
        }
        access.sessions().end(id);
        SignOutHint hint = id == null ? null : signOutHints.remove(id);
        ctx.response().addCookie(sessionCookie("", 0, ctx.request().isSSL()));
        Endpoints e = endpoints;
        if (hint != null && e != null && e.endSession() != null) {
            // and at the issuer too (OpenID Connect RP-Initiated Logout 1.0): the browser goes there with the
            // session's ID token as the hint, the issuer ends its single sign-on session and sends the browser back
            // to the portal (a post-logout redirect URI the portal's client must list at the issuer)
            String back = org.cmm.eventbroker.platform.security.http.SessionCookieAccess.ownOrigin(ctx) + "/portal/";
            String signOut = e.endSession() + (e.endSession().contains("?") ? "&" : "?") + "id_token_hint="
                    + enc(hint.idToken()) + "&post_logout_redirect_uri=" + enc(back) + "&client_id=" + enc(clientId);
            ctx.response().putHeader("Cache-Control", "no-store").putHeader("Location", signOut).setStatusCode(303)
                    .end();
            return;
        }
        page(ctx, 200, "Logged out. <a href=\"/portal/login\">Log in</a>.");
    }

    /**
     * The session cookie: {@code HttpOnly} (no script reads it), {@code SameSite=Lax} (sent on this site's requests
     * and on top-level GET navigations to it, never on another site's POST, fetch or frame), {@code Path=/},
     * {@code Secure} when the request came over HTTPS.
     *
     * @param maxAgeSeconds 0 clears it
     */
    static Cookie sessionCookie(String id, long maxAgeSeconds, boolean https) {
        return Cookie.cookie(BrowserSessions.COOKIE, id).setPath("/").setHttpOnly(true).setSecure(https)
                .setSameSite(CookieSameSite.LAX).setMaxAge(maxAgeSeconds);
    }

    record Session(Caller caller, Instant expires, String idToken) {
    }

    static final class LoginRefused extends Exception {
        LoginRefused(String reason) {
            super(reason);
        }
    }

    private Session redeem(String code, Pending login, String callbackUri) throws Exception {
        Endpoints e = endpoints();
        Map<String, String> fields = new java.util.LinkedHashMap<>(Map.of("grant_type", "authorization_code",
                "code", code, "redirect_uri", callbackUri, "client_id", clientId, "code_verifier", login.verifier()));
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(e.token())).timeout(Duration.ofSeconds(15))
                .header("Content-Type", "application/x-www-form-urlencoded").header("Accept", "application/json");
        if (!clientSecret.isEmpty()) {
            request.header("Authorization", "Basic " + Base64.getEncoder().encodeToString(
                    (enc(clientId) + ":" + enc(clientSecret)).getBytes(StandardCharsets.UTF_8)));
        }
        HttpResponse<String> response = http.send(request.POST(HttpRequest.BodyPublishers.ofString(form(fields)))
                .build(), HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new LoginRefused("the token endpoint answered " + response.statusCode());
        }
        Map<String, Object> tokens = JSONObjectUtils.parse(response.body());
        String accessToken = JSONObjectUtils.getString(tokens, "access_token");
        String idToken = JSONObjectUtils.getString(tokens, "id_token");
        if (accessToken == null || idToken == null) {
            throw new LoginRefused("the token response lacks an access or ID token");
        }
        Caller caller;
        try {
            caller = access.verifier().verify(accessToken); // exactly as a bearer token
        } catch (org.cmm.eventbroker.platform.security.http.InvalidTokenException ex) {
            throw new LoginRefused("access token refused: " + ex.getMessage());
        }
        JWTClaimsSet id;
        try {
            id = idTokenProcessor(e).process(idToken, null);
        } catch (Exception ex) {
            throw new LoginRefused("ID token refused: " + ex.getMessage());
        }
        if (!login.nonce().equals(id.getClaim("nonce"))) {
            throw new LoginRefused("ID token refused: nonce does not match");
        }
        java.util.Date expiry = JWTParser.parse(accessToken).getJWTClaimsSet().getExpirationTime();
        return new Session(caller, expiry.toInstant(), idToken);
    }

    private DefaultJWTProcessor<SecurityContext> idTokenProcessor(Endpoints e) throws Exception {
        DefaultJWTProcessor<SecurityContext> p = idTokens;
        if (p == null) {
            p = new DefaultJWTProcessor<>();
            p.setJWSKeySelector(new JWSVerificationKeySelector<>(Set.of(JWSAlgorithm.RS256, JWSAlgorithm.RS384,
                    JWSAlgorithm.RS512, JWSAlgorithm.PS256, JWSAlgorithm.PS384, JWSAlgorithm.PS512, JWSAlgorithm.ES256,
                    JWSAlgorithm.ES384, JWSAlgorithm.ES512),
                    JWKSourceBuilder.<SecurityContext>create(URI.create(e.jwks()).toURL()).retrying(true).build()));
            DefaultJWTClaimsVerifier<SecurityContext> claims = new DefaultJWTClaimsVerifier<>(
                    new HashSet<>(Set.of(clientId)), new JWTClaimsSet.Builder().issuer(issuer).build(),
                    new HashSet<>(Set.of("sub", "exp", "iat", "nonce")), null);
            claims.setMaxClockSkew(30);
            p.setJWTClaimsSetVerifier(claims);
            idTokens = p;
        }
        return p;
    }

    private Endpoints endpoints() throws Exception {
        Endpoints e = endpoints;
        if (e == null) {
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(
                    issuer.replaceAll("/+$", "") + "/.well-known/openid-configuration")).timeout(Duration.ofSeconds(10))
                    .build(), HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) {
                throw new IllegalStateException("discovery document: " + response.statusCode());
            }
            Map<String, Object> d = JSONObjectUtils.parse(response.body());
            e = new Endpoints(JSONObjectUtils.getString(d, "authorization_endpoint"),
                    JSONObjectUtils.getString(d, "token_endpoint"),
                    configuredJwks.isEmpty() ? JSONObjectUtils.getString(d, "jwks_uri") : configuredJwks,
                    JSONObjectUtils.getString(d, "end_session_endpoint"));
            if (e.authorization() == null || e.token() == null || e.jwks() == null) {
                throw new IllegalStateException("discovery document lacks an endpoint");
            }
            endpoints = e;
        }
        return e;
    }

    private String redirectUri(RoutingContext ctx) {
        if (!redirectUri.isEmpty()) {
            return redirectUri;
        }
        return org.cmm.eventbroker.platform.security.http.SessionCookieAccess.ownOrigin(ctx) + "/portal/callback";
    }

    static String challenge(String verifier) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(verifier.getBytes(StandardCharsets.US_ASCII));
            return Base64.getUrlEncoder().withoutPadding().encodeToString(digest);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String form(Map<String, String> fields) {
        return fields.entrySet().stream().map(f -> enc(f.getKey()) + "=" + enc(f.getValue()))
                .collect(Collectors.joining("&"));
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    private static String safe(String error) {
        String kept = error == null ? "none" : error.replaceAll("[^a-z_]", "");
        return kept.substring(0, Math.min(kept.length(), 40));
    }

    private static String escape(String s) {
        return s == null ? "" : s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }

    private static void page(RoutingContext ctx, int status, String html) {
        ctx.response().putHeader("Cache-Control", "no-store").putHeader("Content-Type", "text/html; charset=utf-8")
                .setStatusCode(status).end("<!doctype html><html><head><meta charset=\"utf-8\"><title>Portal login"
                        + "</title></head><body><p>" + html + "</p></body></html>");
    }

    private void audit(AuditEvent event) {
        try {
            audit.record(event);
        } catch (RuntimeException e) {
            LOG.warn("Audit sink failed ({})", e.getClass().getSimpleName());
        }
    }
}
