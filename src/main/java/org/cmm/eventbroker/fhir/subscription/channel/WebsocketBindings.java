package org.cmm.eventbroker.fhir.subscription.channel;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.cmm.eventbroker.platform.delivery.DeliveryFailedException;
import org.cmm.eventbroker.platform.delivery.DeliveryRejectedException;
import org.cmm.eventbroker.platform.security.audit.AuditEvent;
import org.cmm.eventbroker.platform.security.audit.AuditSink;
import org.cmm.eventbroker.platform.security.http.BearerTokenVerifier;
import org.cmm.eventbroker.platform.security.http.Caller;
import org.cmm.eventbroker.platform.security.http.HttpAccess;
import org.cmm.eventbroker.platform.security.http.InvalidTokenException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The websocket clients bound to subscriptions (FHIR R4 websocket channel): a client sends {@code bind <id>} (or
 * {@code bind Subscription/<id>}) and is answered {@code bound <id>}; from then on every event notification of that
 * subscription is sent to it as {@code ping <id>}; a backport (topic-based) subscription gets the Backport IG's
 * notification bundle (JSON) instead ({@link BackportNotificationBundle}). Holds subscription id -> connection keys of the
 * camel-vertx-websocket consumer, and forgets a connection when it closes or fails.
 *
 * <p>A notification counts as delivered when it was written to at least one bound client; with none bound the
 * delivery fails and is retried with back-off, so a client that binds later gets what was queued, in order. The
 * bindings live in this instance only: with several runtime instances a client must be connected to the instance
 * that consumes its subscription's partition (or to all). Logs name connection keys and subscription ids only.
 *
 * <p>With access control on ({@link HttpAccess}, {@code cmm.access.websocket.*}) a bind must carry an access token
 * ({@code bind <id> <token>}) of the configured issuer allowed to read that Subscription ({@link SubscriptionReadGrant}), else
 * it is refused ({@code error ...}) and nothing is bound: nobody can make a notification count as delivered by
 * binding in the real client's place. Each decision is audited (source {@code websocket}). One connection binds to
 * at most {@code cmm.access.websocket.max-bindings-per-connection} Subscriptions (ids are often sequential), whether
 * access control is on or not.
 */
public class WebsocketBindings {

    /** Header of camel-vertx-websocket: the connection a message came from or goes to. */
    public static final String CONNECTION_KEY = "CamelVertxWebsocket.connectionKey";
    /** Header of camel-vertx-websocket: OPEN, MESSAGE, ERROR, CLOSE. */
    public static final String EVENT = "CamelVertxWebsocket.event";

    private static final Logger LOG = LoggerFactory.getLogger(WebsocketBindings.class);
    private static final Pattern BIND = Pattern.compile(
            "bind\\s+(?:Subscription/)?([A-Za-z0-9\\-.]{1,64})(?:\\s+(?:Bearer\\s+)?(\\S{1,8192}))?\\s*");

    private final Map<String, Set<String>> bySubscription = new ConcurrentHashMap<>();
    private final Map<String, Set<String>> byConnection = new ConcurrentHashMap<>();
    private String serverBaseUrl = "";
    private boolean resourceContent;
    private final java.util.concurrent.atomic.AtomicBoolean contentWithheldWarned = new java.util.concurrent.atomic.AtomicBoolean();

    /**
     * Whether backport {@code full-resource} subscriptions get the resource in the bundle. Off by default. Even when
     * on, resources are sent only with access control on, where every bind carried a token allowed to read that very
     * Subscription ({@link SubscriptionReadGrant}); without access control the bind has no authentication (anyone who
     * knows a subscription id could read the resources), so such subscriptions get {@code id-only} bundles and read
     * the resource from the FHIR server with their own credentials.
     */
    public void setResourceContent(boolean resourceContent) {
        this.resourceContent = resourceContent;
    }

    /** The FHIR server base URL, for the full URLs of backport notification bundles. */
    public void setServerBaseUrl(String serverBaseUrl) {
        this.serverBaseUrl = serverBaseUrl;
    }

    /**
     * Handles a client event of the websocket consumer: binds on {@code bind <id>}, forgets the connection on close
     * or error. The body becomes the answer to send back to the client, or null when there is none.
     */
    public void onClientEvent(Exchange exchange) {
        Message message = exchange.getMessage();
        String key = message.getHeader(CONNECTION_KEY, String.class);
        String event = message.getHeader(EVENT, "MESSAGE", String.class);
        if ("CLOSE".equals(event) || "ERROR".equals(event)) {
            forget(key);
            message.setBody(null);
            return;
        }
        if (!"MESSAGE".equals(event) || key == null) {
            message.setBody(null);
            return;
        }
        String text = message.getBody(String.class);
        Matcher bind = text == null ? null : BIND.matcher(text);
        if (bind != null && bind.matches()) {
            String id = bind.group(1);
            String refusal = refusal(exchange, key, id, bind.group(2));
            if (refusal != null) {
                LOG.info("Websocket connection {} refused binding to Subscription/{}: {}", key, id, refusal);
                message.setBody("error " + refusal);
                return;
            }
            bindVerified(key, id);
            LOG.info("Websocket connection {} bound to Subscription/{}", key, id);
            message.setBody("bound " + id);
        } else {
            message.setBody("error expected 'bind <subscription-id>'");
        }
    }

    /**
     * Why a bind is refused, or null when it may go ahead ({@link #bindVerified} then counts it): too many
     * bindings on one connection; with access control on, no token, an invalid one, or one not allowed to read this
     * Subscription ({@link SubscriptionReadGrant}: {@code subscription-reader:<id>}, or a role reading every one).
     */
    private String refusal(Exchange exchange, String key, String id, String token) {
        HttpAccess access = HttpAccess.of(exchange.getContext());
        Set<String> ids = byConnection.computeIfAbsent(key, k -> ConcurrentHashMap.newKeySet());
        if (!ids.contains(id) && ids.size() >= access.maxBindingsPerConnection()) {
            return "too many bindings on this connection (at most " + access.maxBindingsPerConnection() + ")";
        }
        if (access.enabled()) {
            AuditSink audit = AuditSink.of(exchange.getContext());
            if (token == null) {
                audit.record(AuditEvent.authentication("websocket", null, "BEARER", false, null, "no token"));
                return "authentication required: bind <subscription-id> <access-token>";
            }
            Caller caller;
            try {
                caller = access.verifier().verify(token);
            } catch (InvalidTokenException e) {
                audit.record(AuditEvent.authentication("websocket", BearerTokenVerifier.claimedName(token), "BEARER",
                        false, null, e.getMessage()));
                return "invalid token";
            }
            boolean granted = SubscriptionReadGrant.allows(caller, id, access.websocketBindRoles());
            if (!granted || access.auditGranted()) {
                audit.record(AuditEvent.authorization("websocket", caller.name(), "bind", "Subscription", id, granted,
                        null, granted ? null : "needs " + SubscriptionReadGrant.roleFor(id) + " or one of "
                                + access.websocketBindRoles()));
            }
            if (!granted) {
                return "forbidden: the token may not read Subscription/" + id;
            }
        }
        return null;
    }

    /** Records a binding that passed {@link #refusal}: the connection gets the Subscription's notifications. */
    void bindVerified(String key, String id) {
        byConnection.computeIfAbsent(key, k -> ConcurrentHashMap.newKeySet()).add(id);
        bySubscription.computeIfAbsent(id, k -> ConcurrentHashMap.newKeySet()).add(key);
    }

    /** Forgets a connection (closed or failed). */
    public void forget(String connectionKey) {
        if (connectionKey == null) {
            return;
        }
        byConnection.remove(connectionKey);
        bySubscription.values().forEach(keys -> keys.remove(connectionKey));
        bySubscription.entrySet().removeIf(e -> e.getValue().isEmpty());
    }

    /** Connection keys bound to a subscription (logical id). */
    public Set<String> bound(String subscriptionLogicalId) {
        Set<String> keys = bySubscription.get(subscriptionLogicalId);
        return keys == null ? Set.of() : Set.copyOf(keys);
    }

    /**
     * Prepares the frame ({@code ping <id>}, or the notification bundle of a backport subscription) for the connections bound to the notification's subscription; fails when
     * none is bound. Handshakes and heartbeats send nothing ({@link ChannelNotification#SEND_PROPERTY} false).
     */
    public void prepare(Exchange exchange) throws DeliveryRejectedException, DeliveryFailedException {
        ChannelNotification n = ChannelNotification.read(exchange, "websocket");
        String endpoint = n.endpoint();
        if (!endpoint.isEmpty() && !List.of("ws", "wss").contains(EmailNotificationComposer.scheme(endpoint).toLowerCase())) {
            throw new DeliveryRejectedException(n.notification().subscriptionId()
                    + ": a websocket channel's endpoint must be empty or ws:/wss:, got scheme '"
                    + EmailNotificationComposer.scheme(endpoint) + "'");
        }
        exchange.setProperty(ChannelNotification.SEND_PROPERTY, n.isEvent());
        if (!n.isEvent()) {
            return;
        }
        String id = n.subscriptionLogicalId();
        Set<String> keys = new LinkedHashSet<>(bound(id));
        if (keys.isEmpty()) {
            throw new DeliveryFailedException("no websocket client bound to " + n.notification().subscriptionId());
        }
        Message message = exchange.getMessage();
        message.getHeaders().clear();
        message.setHeader(CONNECTION_KEY, String.join(",", keys));
        // resource content only to clients that proved they may read this Subscription (every bind with access on)
        boolean content = resourceContent && HttpAccess.of(exchange.getContext()).enabled();
        if (resourceContent && !content && contentWithheldWarned.compareAndSet(false, true)) {
            LOG.warn("cmm.fhir.subscription.websocket.resource-content is on but access control is off: websocket "
                    + "clients are not authenticated, so notification bundles carry no resource content (id-only)");
        }
        message.setBody(n.isBackport() ? BackportNotificationBundle.json(n, serverBaseUrl, content) : "ping " + id);
    }

}
