package org.cmm.eventbroker.eventapi.portal;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.CookieManager;
import java.net.CookiePolicy;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.cmm.eventbroker.platform.security.http.KeycloakIssuer;
import org.cmm.eventbroker.testsupport.DevToolsBrowser;
import org.cmm.eventbroker.testsupport.LogCapture;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.cmm.eventbroker.testsupport.TestPeers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The portal's login with access control on, against a real Keycloak (the realm's public client {@code cmm-portal},
 * PKCE S256): the authorization code flow driven with java.net.http the way a browser does it (following the
 * redirects by hand, Keycloak's own login form posted, cookies kept by a cookie handler), then the session cookie
 * opens the usage page for an api-admin, a Server-Sent Events stream of a topic the user's role binding lets it read
 * (the event produced by kcat), and a state-changing call only from the server's own origin. Refused: no cookie, a
 * forged cookie, the cookie after logout, a callback with a wrong state, a code redeemed without the login's PKCE
 * verifier. The guard's decisions about the cookie are audited on the event API's audit sink (read back with kcat),
 * and neither the session id nor the code reaches a log line.
 */
class PortalLoginIT {

    private static final String TOPIC = "portal.login.events";
    private static RuntimeUnderTest env;
    private static KeycloakIssuer keycloak;
    private static String base;
    private static LogCapture logs;

    @BeforeAll
    static void start() throws Exception {
        logs = LogCapture.attach();
        keycloak = KeycloakIssuer.shared();
        Path bindings = Files.createTempDirectory("portal-login").resolve("kafka-role-bindings.conf");
        Files.writeString(bindings, """
                # the portal user may read the test topic
                role portal-reader Read topic:%s
                bind user:portal.pia portal-reader
                """.formatted(TOPIC));
        env = RuntimeUnderTest.flows("event-api").with(Map.of(
                "cmm.access.enabled", "true",
                "cmm.security.oidc.issuer", keycloak.issuer(),
                "cmm.security.oidc.audience", KeycloakIssuer.AUDIENCE,
                "cmm.kafka.security.role-bindings", bindings.toString())).start();
        try (Admin admin = KafkaClients.forBootstrap(env.bootstrapServers()).admin("portal-login-it", Map.of())) {
            admin.createTopics(List.of(new NewTopic(TOPIC, 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
        }
        base = "http://127.0.0.1:" + env.httpPort();
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            if (env != null) {
                env.close();
            }
        } finally {
            if (logs != null) {
                logs.close();
            }
        }
    }

    @Test
    void theSessionCookieFromThePortalLoginOpensTheUsagePageAndAStreamUntilLogout() throws Exception {
        HttpClient browser = browser();
        String callback = loginAtKeycloak(browser, "portal.pia");
        HttpResponse<String> landed = send(browser, HttpRequest.newBuilder(URI.create(callback)).GET());
        assertEquals(200, landed.statusCode(), landed.body());
        String setCookie = landed.headers().allValues("Set-Cookie").stream()
                .filter(c -> c.startsWith("cmm_session=")).findFirst().orElseThrow();
        String attributes = setCookie.toLowerCase(java.util.Locale.ROOT);
        assertTrue(attributes.contains("; httponly") && attributes.contains("; samesite=lax")
                && attributes.contains("; path=/;"), attributes);
        assertFalse(attributes.contains("; secure"), "plain HTTP here: Secure only with HTTPS");
        String session = setCookie.substring("cmm_session=".length(), setCookie.indexOf(';'));
        assertEquals(43, session.length(), "an opaque 256-bit id");
        assertFalse(landed.body().contains(session), "the id is in the cookie only");

        // the portal and the api-admin's usage page with the cookie alone (no Authorization header)
        assertEquals(200, send(browser, HttpRequest.newBuilder(URI.create(base + "/portal/")).GET()).statusCode());
        HttpResponse<String> usage = send(browser, HttpRequest.newBuilder(URI.create(base + "/portal/usage")).GET());
        assertEquals(200, usage.statusCode(), usage.body());
        assertEquals(401, send(plain(), HttpRequest.newBuilder(URI.create(base + "/portal/usage")).GET()).statusCode(),
                "without the cookie");

        // an event produced by kcat arrives on the cookie's EventSource-like stream
        String kcat = TestPeers.require("kcat").toString();
        Process produce = new ProcessBuilder(kcat, "-b", env.bootstrapServers(), "-P", "-t", TOPIC, "-K", ":")
                .redirectErrorStream(true).start();
        produce.getOutputStream().write("pia-1:{\"reading\":\"portal-login-event\"}\n".getBytes(StandardCharsets.UTF_8));
        produce.getOutputStream().close();
        assertTrue(produce.waitFor(60, TimeUnit.SECONDS) && produce.exitValue() == 0, "kcat produced");
        HttpResponse<java.io.InputStream> stream = browser.send(HttpRequest.newBuilder(
                URI.create(base + "/streams/" + TOPIC + "?from=earliest")).header("Accept", "text/event-stream")
                .timeout(Duration.ofSeconds(60)).GET().build(), HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, stream.statusCode());
        CompletableFuture<String> data = CompletableFuture.supplyAsync(() -> {
            try (BufferedReader lines = new BufferedReader(new InputStreamReader(stream.body(), StandardCharsets.UTF_8))) {
                for (String line; (line = lines.readLine()) != null;) {
                    if (line.startsWith("data:")) {
                        return line;
                    }
                }
                return null;
            } catch (java.io.IOException e) {
                return null;
            }
        });
        String event = data.get(60, TimeUnit.SECONDS);
        assertNotNull(event);
        assertTrue(event.contains("portal-login-event"), event);

        // state-changing calls with the cookie: only from the server's own origin
        String subscribe = "{\"application\":\"pia-app\",\"channel\":\"" + TOPIC + "\"}";
        assertEquals(403, send(browser, post("/portal/api/subscriptions", subscribe).header("Origin",
                "http://evil.example.test")).statusCode(), "another origin");
        assertEquals(403, send(browser, post("/portal/api/subscriptions", subscribe)).statusCode(), "no Origin");
        HttpResponse<String> own = send(browser, post("/portal/api/subscriptions", subscribe).header("Origin", base));
        assertEquals(201, own.statusCode(), own.body());
        assertTrue(own.body().contains("\"requested_by\":\"portal.pia\"") || own.body().contains("portal.pia"),
                "the session's caller asked: " + own.body());

        // GET /portal/logout only offers the button (a Lax cookie comes along on another site's link): nothing ends
        HttpResponse<String> offered = send(browser, HttpRequest.newBuilder(URI.create(base + "/portal/logout")).GET());
        assertEquals(200, offered.statusCode());
        assertTrue(offered.body().contains("method=\"post\""), offered.body());
        assertEquals(200, send(browser, HttpRequest.newBuilder(URI.create(base + "/portal/usage")).GET()).statusCode(),
                "still logged in after a GET of the logout page");
        // a logout POST from another origin is refused by the guard and ends nothing
        HttpResponse<String> forgedLogout = send(browser, HttpRequest.newBuilder(URI.create(base + "/portal/logout"))
                .header("Origin", "http://evil.example.test").POST(HttpRequest.BodyPublishers.noBody()));
        assertEquals(403, forgedLogout.statusCode(), forgedLogout.body());
        assertTrue(forgedLogout.headers().allValues("Set-Cookie").stream().noneMatch(c -> c.startsWith("cmm_session=")),
                "the cookie is not cleared either");
        assertEquals(200, send(browser, HttpRequest.newBuilder(URI.create(base + "/portal/usage")).GET()).statusCode(),
                "still logged in after another origin's logout POST");
        // logout (POST from the portal's own page) ends the server session and clears the cookie
        HttpResponse<String> loggedOut = send(browser, HttpRequest.newBuilder(URI.create(base + "/portal/logout"))
                .header("Origin", base).POST(HttpRequest.BodyPublishers.noBody()));
        assertEquals(200, loggedOut.statusCode(), loggedOut.body());
        assertTrue(loggedOut.headers().allValues("Set-Cookie").stream().anyMatch(c -> c.startsWith("cmm_session=;")
                && c.toLowerCase(java.util.Locale.ROOT).contains("max-age=0")), loggedOut.headers().toString());
        // the same cookie value is refused afterwards
        assertEquals(401, send(plain(), HttpRequest.newBuilder(URI.create(base + "/portal/usage"))
                .header("Cookie", "cmm_session=" + session).GET()).statusCode(), "after logout");
        assertEquals(401, send(plain(), HttpRequest.newBuilder(URI.create(base + "/streams/" + TOPIC + "?from=earliest"))
                .header("Cookie", "cmm_session=" + session).GET()).statusCode(), "no stream after logout");

        // the decisions are audited (kcat reads the audit topic): the session login (PortalLogin) and the guard's
        // refusals of the cookie (after logout; from another origin)
        java.util.concurrent.atomic.AtomicReference<String> audited = new java.util.concurrent.atomic.AtomicReference<>("");
        try {
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofSeconds(1)).until(() -> {
                Process p = new ProcessBuilder(kcat, "-b", env.bootstrapServers(), "-C", "-t",
                        "security.audit.authentication", "-o", "beginning", "-e", "-q").redirectErrorStream(true).start();
                audited.set(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
                p.waitFor(20, TimeUnit.SECONDS);
                return audited.get().contains("\"methodName\":\"SESSION\"") && audited.get().contains("portal.pia")
                        && audited.get().contains("unknown or expired session")
                        && audited.get().contains("session cookie sent from another origin");
            });
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            throw new AssertionError("audit records: " + audited.get(), e);
        }
        assertFalse(audited.get().contains(session), "no session id in an audit record");
        String code = callback.replaceAll(".*[?&]code=([^&]+).*", "$1");
        List<String> leaking = logs.linesContaining(List.of(session, code));
        assertTrue(leaking.isEmpty(), "the session id or the code in a log line: " + leaking);
        assertFalse(logs.lines().isEmpty(), "the log was captured");
    }

    @Test
    void aUserWithoutTheRoleIsDeniedTheUsagePageAndAForgedCookieOrWrongStateGetsNothing() throws Exception {
        HttpClient browser = browser();
        String callback = loginAtKeycloak(browser, "dev.dan");
        assertEquals(200, send(browser, HttpRequest.newBuilder(URI.create(callback)).GET()).statusCode());
        assertEquals(403, send(browser, HttpRequest.newBuilder(URI.create(base + "/portal/usage")).GET()).statusCode(),
                "the cookie carries the token's roles: dev.dan is no api-admin");
        assertEquals(403, send(browser, HttpRequest.newBuilder(URI.create(base + "/streams/" + TOPIC + "?from=earliest"))
                .GET()).statusCode(), "no role binding lets dev.dan read the topic");

        String forged = "cmm_session=" + "A".repeat(43);
        assertEquals(401, send(plain(), HttpRequest.newBuilder(URI.create(base + "/portal/usage")).header("Cookie", forged)
                .GET()).statusCode(), "a forged cookie");
        assertEquals(401, send(plain(), HttpRequest.newBuilder(URI.create(base + "/streams/" + TOPIC))
                .header("Cookie", forged).GET()).statusCode(), "a forged cookie on a stream");

        // a callback whose state is not the one this browser's login started
        HttpClient other = browser();
        String good = loginAtKeycloak(other, "portal.pia");
        String wrong = good.replaceAll("state=[^&]+", "state=" + "B".repeat(43));
        HttpResponse<String> refused = send(other, HttpRequest.newBuilder(URI.create(wrong)).GET());
        assertEquals(401, refused.statusCode(), refused.body());
        assertTrue(refused.headers().allValues("Set-Cookie").stream().noneMatch(c -> c.startsWith("cmm_session=")
                && !c.startsWith("cmm_session=;")), "no session for a wrong state");
        // and a real state presented by another browser (without the login's state cookie)
        HttpClient thief = browser();
        String stolen = loginAtKeycloak(browser(), "portal.pia");
        assertEquals(401, send(thief, HttpRequest.newBuilder(URI.create(stolen)).GET()).statusCode(),
                "a code and state from another browser's login");
        // nor can the thief redeem the code itself: the issuer wants the login's PKCE verifier, which never left the
        // runtime
        String code = java.net.URLDecoder.decode(stolen.replaceAll(".*[?&]code=([^&]+).*", "$1"), StandardCharsets.UTF_8);
        HttpResponse<String> redeemed = send(plain(), HttpRequest.newBuilder(URI.create(keycloak.issuer()
                + "/protocol/openid-connect/token")).header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString("grant_type=authorization_code&client_id=cmm-portal&code="
                        + URLEncoder.encode(code, StandardCharsets.UTF_8) + "&redirect_uri="
                        + URLEncoder.encode(base + "/portal/callback", StandardCharsets.UTF_8)
                        + "&code_verifier=" + "C".repeat(43))));
        assertEquals(400, redeemed.statusCode(), redeemed.body());
        assertTrue(redeemed.body().contains("invalid_grant") && redeemed.body().toLowerCase(java.util.Locale.ROOT)
                .contains("pkce"), "refused for its verifier: " + redeemed.body());
    }

    /** Runs the code flow up to Keycloak's redirect back to the runtime; returns the callback URL (not yet opened). */
    /**
     * The same login in headless Chromium: the portal's login link, Keycloak's own login page filled and submitted in
     * the page, back to the portal through the callback; then the browser's cookie opens the usage page (a fetch from
     * the page, no header set by the test), the page's script cannot read the HttpOnly cookie, and the portal's logout
     * (a POST from the page, so the browser sends the Origin) ends the session. A screenshot of the logged-in portal
     * is kept as target/portal-login-chromium.png.
     */
    @Test
    void aBrowserLogsInOnKeycloaksOwnLoginPageAndOut() throws Exception {
        Path chromium = TestPeers.require("chromium");
        Path profile = Files.createTempDirectory("portal-login-chromium");
        try (DevToolsBrowser page = DevToolsBrowser.open(chromium, profile, base + "/portal/login")) {
            // Keycloak's login form, reached through the portal's redirect (PKCE, state)
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(250)).until(() ->
                    page.evaluate("location.href").startsWith(keycloak.issuer())
                            && "true".equals(page.evaluate("document.querySelector('#kc-form-login') != null")));
            assertTrue(page.evaluate("location.href").contains("code_challenge_method=S256"));
            page.evaluate("document.querySelector('#username').value = 'portal.pia';"
                    + "document.querySelector('#password').value = 'portal-test-password';"
                    + "document.querySelector('#kc-form-login').submit(); 'submitted'");
            // back at the portal: the callback's page, then its refresh to /portal/
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(250)).until(() ->
                    page.evaluate("location.href").equals(base + "/portal/")
                            && "complete".equals(page.evaluate("document.readyState")));
            assertEquals("200", page.evaluateAsync("fetch('/portal/usage').then(r => String(r.status))"),
                    "the browser's own session cookie opens the api-admin's usage page");
            assertFalse(page.evaluate("document.cookie").contains("cmm_session"), "HttpOnly: no script reads it");
            page.screenshot(Path.of("target", "portal-login-chromium.png"));
            assertEquals("200", page.evaluateAsync("fetch('/portal/logout', {method: 'POST'}).then(r => String(r.status))"),
                    "logout from the portal's own page (the browser sends its Origin)");
            assertEquals("401", page.evaluateAsync("fetch('/portal/usage').then(r => String(r.status))"),
                    "after logout");
        }
        assertTrue(Files.size(Path.of("target", "portal-login-chromium.png")) > 0);
    }

    private static String loginAtKeycloak(HttpClient browser, String user) throws Exception {
        HttpResponse<String> start = send(browser, HttpRequest.newBuilder(URI.create(base + "/portal/login")).GET());
        assertEquals(302, start.statusCode(), start.body());
        String authorize = start.headers().firstValue("Location").orElseThrow();
        assertTrue(authorize.startsWith(keycloak.issuer()) && authorize.contains("code_challenge_method=S256")
                && authorize.contains("client_id=cmm-portal"), authorize);
        HttpResponse<String> page = send(browser, HttpRequest.newBuilder(URI.create(authorize)).GET());
        assertEquals(200, page.statusCode(), page.body());
        Matcher form = Pattern.compile("<form[^>]*id=\"kc-form-login\"[^>]*action=\"([^\"]+)\"|<form[^>]*action=\"([^\"]+)\"[^>]*id=\"kc-form-login\"")
                .matcher(page.body());
        assertTrue(form.find(), "Keycloak's login form: " + page.body());
        String action = (form.group(1) != null ? form.group(1) : form.group(2)).replace("&amp;", "&");
        HttpResponse<String> posted = send(browser, HttpRequest.newBuilder(URI.create(action))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString("username=" + URLEncoder.encode(user, StandardCharsets.UTF_8)
                        + "&password=portal-test-password&credentialId=")));
        assertEquals(302, posted.statusCode(), posted.body());
        String callback = posted.headers().firstValue("Location").orElseThrow();
        assertTrue(callback.startsWith(base + "/portal/callback?") && callback.contains("code="), callback);
        return callback;
    }

    private static HttpRequest.Builder post(String path, String json) {
        return HttpRequest.newBuilder(URI.create(base + path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json));
    }

    /**
     * A client that keeps cookies like a browser (redirects followed by the test, so each hop is checked). Keycloak
     * marks its login cookies {@code Secure}, which browsers honour on http://127.0.0.1 (a loopback origin counts as
     * secure) but Java's cookie store does not: the attribute is dropped on the way in, like the browser would
     * treat it here.
     */
    private static HttpClient browser() {
        CookieManager cookies = new CookieManager(null, CookiePolicy.ACCEPT_ALL) {
            @Override
            public void put(URI uri, Map<String, List<String>> headers) throws java.io.IOException {
                Map<String, List<String>> loopback = new java.util.HashMap<>();
                headers.forEach((name, values) -> loopback.put(name, name != null && name.equalsIgnoreCase("Set-Cookie")
                        ? values.stream().map(v -> v.replaceAll("(?i);\\s*Secure(?=;|$)", "")).toList() : values));
                super.put(uri, loopback);
            }
        };
        return HttpClient.newBuilder().cookieHandler(cookies)
                .followRedirects(HttpClient.Redirect.NEVER).connectTimeout(Duration.ofSeconds(5)).build();
    }

    private static HttpClient plain() {
        return HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    }

    private static HttpResponse<String> send(HttpClient client, HttpRequest.Builder request) throws Exception {
        return client.send(request.timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofString());
    }
}
