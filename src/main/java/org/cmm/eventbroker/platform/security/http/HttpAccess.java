package org.cmm.eventbroker.platform.security.http;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;

import io.vertx.ext.web.handler.BodyHandler;
import org.apache.camel.CamelContext;
import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpRouter;
import org.apache.camel.spi.PropertiesComponent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Access control of the runtime's HTTP ways in, read once from configuration ({@code config/access.properties} and
 * {@code cmm.security.oidc.*}) and kept in the registry as {@value #REGISTRY_NAME}: the guard of the platform HTTP
 * server's intakes, the guard of the management server, and the token check of the FHIR Subscription websocket.
 * Off ({@code cmm.access.enabled}, which follows {@code cmm.security.enabled} when empty) nothing is checked and the
 * development posture (loopback only) applies.
 */
public final class HttpAccess {

    public static final String REGISTRY_NAME = "cmmHttpAccess";
    public static final String ENABLED = "cmm.access.enabled";
    public static final String HTTP_RULE_PREFIX = "cmm.access.http.rule.";
    public static final String MANAGEMENT_RULE_PREFIX = "cmm.access.management.rule.";

    private static final Logger LOG = LoggerFactory.getLogger(HttpAccess.class);

    private final boolean enabled;
    private final BearerTokenVerifier verifier;
    private final HttpAccessGuard intakeGuard;
    private final HttpAccessGuard managementGuard;
    private final Set<String> websocketBindRoles;
    private final int maxBindingsPerConnection;
    private final boolean auditGranted;
    private final BrowserSessions sessions;
    private final AtomicBoolean managementGuarded = new AtomicBoolean();

    private HttpAccess(CamelContext context, PropertiesComponent properties) {
        String switchValue = get(properties, ENABLED, "");
        enabled = Boolean.parseBoolean(switchValue.isBlank() ? get(properties, "cmm.security.enabled", "false") : switchValue);
        String audience = get(properties, "cmm.security.oidc.audience", "");
        Set<String> audiences = list(audience);
        String roleClients = get(properties, "cmm.access.role-clients", "");
        verifier = new BearerTokenVerifier(get(properties, "cmm.security.oidc.issuer", ""),
                get(properties, "cmm.security.oidc.jwks-uri", ""), audiences,
                Integer.parseInt(get(properties, "cmm.security.oidc.clock-skew-seconds", "30")),
                roleClients.isBlank() ? audiences : list(roleClients));
        auditGranted = Boolean.parseBoolean(get(properties, "cmm.access.audit-granted", "true"));
        Map<String, String> entries = entries(properties);
        ClientCertificateRoles certificates = ClientCertificateRoles.parse(
                Boolean.parseBoolean(get(properties, ClientCertificateRequests.ENABLED, "false")), entries);
        intakeGuard = new HttpAccessGuard(context, "http", AccessRules.parse(HTTP_RULE_PREFIX, entries), verifier,
                auditGranted, null, Set.of(), certificates);
        managementGuard = new HttpAccessGuard(context, "management",
                AccessRules.parse(MANAGEMENT_RULE_PREFIX, entries), verifier, auditGranted,
                get(properties, "cmm.access.management.jolokia-path", "/observe/jolokia"),
                list(get(properties, "cmm.access.management.jolokia-write-roles", "operator")));
        sessions = new BrowserSessions(Integer.parseInt(get(properties, "cmm.access.session-cookie.max-sessions", "10000")));
        intakeGuard.acceptSessionCookies(new SessionCookieAccess(sessions, java.util.List.copyOf(
                list(get(properties, "cmm.access.session-cookie.paths", "")))));
        websocketBindRoles = list(get(properties, "cmm.access.websocket.bind-roles", ""));
        maxBindingsPerConnection = Integer.parseInt(get(properties, "cmm.access.websocket.max-bindings-per-connection", "16"));
        if (enabled && audiences.isEmpty()) {
            throw new IllegalStateException(ENABLED + " is on but cmm.security.oidc.audience is empty: every token "
                    + "would be accepted whatever it was issued for");
        }
        if (enabled && !verifier.hasIssuer()) {
            LOG.warn("HTTP access control is on but cmm.security.oidc.issuer is empty: every request that needs a token "
                    + "is refused");
        }
    }

    /** The runtime's access control (created from configuration on first use). */
    public static HttpAccess of(CamelContext context) {
        synchronized (context) {
            HttpAccess access = context.getRegistry().lookupByNameAndType(REGISTRY_NAME, HttpAccess.class);
            if (access == null) {
                access = new HttpAccess(context, context.getPropertiesComponent());
                context.getRegistry().bind(REGISTRY_NAME, access);
            }
            return access;
        }
    }

    public boolean enabled() {
        return enabled;
    }

    public BearerTokenVerifier verifier() {
        return verifier;
    }

    /** The check in front of every platform-http route (camel.server.port). */
    public HttpAccessGuard intakeGuard() {
        return intakeGuard;
    }

    /** The portal's browser sessions, whose cookie the intake guard accepts on the paths it covers. */
    public BrowserSessions sessions() {
        return sessions;
    }

    public boolean auditGranted() {
        return auditGranted;
    }

    /** Roles or scopes of which a websocket client's token must hold one to bind to a Subscription. */
    public Set<String> websocketBindRoles() {
        return websocketBindRoles;
    }

    /** How many Subscriptions one websocket connection may bind to. */
    public int maxBindingsPerConnection() {
        return maxBindingsPerConnection;
    }

    /**
     * Puts the management guard in front of every route of the management server ({@code camel.management.port}),
     * once; the Jolokia path first gets its body read, so exec/write requests in a POST body are seen. Fails when
     * access control is on and the management server shares the platform HTTP server's port (its paths would be
     * guarded by the intake table) or cannot be found.
     */
    public void guardManagementServer(CamelContext context) {
        PropertiesComponent properties = context.getPropertiesComponent();
        if (!enabled || !Boolean.parseBoolean(get(properties, "camel.management.enabled", "false"))
                || !managementGuarded.compareAndSet(false, true)) {
            return;
        }
        String port = get(properties, "camel.management.port", "8080");
        if (port.equals(get(properties, "camel.server.port", "8080"))) {
            throw new IllegalStateException("With " + ENABLED + " on, camel.management.port must differ from "
                    + "camel.server.port (both " + port + ")");
        }
        VertxPlatformHttpRouter router = VertxPlatformHttpRouter.lookup(context,
                VertxPlatformHttpRouter.getRouterNameFromPort(Integer.parseInt(port)));
        if (router == null) {
            throw new IllegalStateException("The management server on port " + port + " was not found; it cannot be "
                    + "protected, refusing to go on");
        }
        String jolokia = get(properties, "cmm.access.management.jolokia-path", "/observe/jolokia");
        router.route(jolokia + "*").order(-1001).handler(BodyHandler.create().setBodyLimit(1024 * 1024));
        router.route().order(-1000).handler(managementGuard);
        LOG.info("Management server {}: bearer tokens required except {}", port,
                managementGuard == null ? "" : "the open probes");
    }

    private static Map<String, String> entries(PropertiesComponent properties) {
        Map<String, String> entries = new HashMap<>();
        Set<String> keys = new java.util.TreeSet<>();
        properties.loadProperties(k -> k.startsWith("cmm.access.")).keySet().forEach(k -> keys.add(String.valueOf(k)));
        System.getProperties().keySet().stream().map(String::valueOf).filter(k -> k.startsWith("cmm.access."))
                .forEach(keys::add);
        // values as resolved (an override by system property or environment wins over the file)
        keys.forEach(k -> properties.resolveProperty(k).ifPresent(v -> entries.put(k, v.trim())));
        return entries;
    }

    private static String get(PropertiesComponent properties, String key, String fallback) {
        return properties.resolveProperty(key).map(String::trim).orElse(fallback);
    }

    private static Set<String> list(String value) {
        return Arrays.stream(value.split(",")).map(String::trim).filter(s -> !s.isEmpty())
                .collect(Collectors.toUnmodifiableSet());
    }
}
