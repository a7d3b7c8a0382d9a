package org.cmm.eventbroker.fhir.subscription;

import java.util.List;
import java.util.Optional;

import ca.uhn.fhir.rest.client.api.IGenericClient;
import ca.uhn.fhir.rest.server.exceptions.ResourceGoneException;
import ca.uhn.fhir.rest.server.exceptions.ResourceNotFoundException;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.cmm.eventbroker.fhir.FhirR4;
import org.cmm.eventbroker.platform.delivery.DeliveryRejectedException;
import org.hl7.fhir.r4.model.IdType;
import org.hl7.fhir.r4.model.Subscription;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Registers the Subscriptions created, changed and deleted on the FHIR server (their change events on
 * {@code fhir.resource.changed}) in the {@link SubscriptionRegistry}; routes/fhir/fhir-subscription-registration.camel.yaml.
 *
 * <ul>
 *   <li>Deleted: removed (tombstone).</li>
 *   <li>Invalid ({@link SubscriptionValidator}, or criteria the FHIR server rejects): set to {@code error} with the
 *   reason on the server, unless it already is error with that reason, and registered as error (never matched).</li>
 *   <li>Valid and {@code requested}: {@link #register} queues a handshake for rest-hook (the route writes it), then
 *   {@link #activate} sets it {@code active} on the server and registers it.</li>
 *   <li>Valid otherwise ({@code active}, {@code off}, {@code error}): registered as it is.</li>
 * </ul>
 * The server is written only on such a status change, so the change events of its own writes end here without
 * another write. Logs name subscription ids only.
 *
 * <p>A change event is only a hint that a Subscription changed: anyone who can post to {@code /fhir/changes} or write
 * {@code fhir.resource.changed} can make one up. So the Subscription is always read back from the FHIR server
 * ({@code cmm.fhir.server.base-url}) and only the server's copy is validated, registered and activated; the status,
 * channel and endpoint the event carries are ignored. A Subscription the server does not have (never created, or
 * deleted since) is not registered (and unregistered if it was).
 */
public class SubscriptionRegistration {

    /** Exchange property: the Subscription (valid, requested) that {@link #activate} sets active. */
    public static final String TO_ACTIVATE = "CmmSubscriptionToActivate";

    private static final Logger LOG = LoggerFactory.getLogger(SubscriptionRegistration.class);
    private static final int MAX_REASON = 500;

    private SubscriptionRegistry registry;
    private SubscriptionStatusWriter statusWriter;
    private SubscriptionValidator validator;
    private ServerCriteriaQuery server;
    private String serverBaseUrl;
    private int connectTimeoutMs = -1;
    private int socketTimeoutMs = -1;
    private volatile IGenericClient client;

    public void setRegistry(SubscriptionRegistry registry) {
        this.registry = registry;
    }

    public void setStatusWriter(SubscriptionStatusWriter statusWriter) {
        this.statusWriter = statusWriter;
    }

    /** The FHIR server's answer to criteria evaluated there (bean {@code fhirCriteriaQuery}, looked up when not set). */
    public void setServer(ServerCriteriaQuery server) {
        this.server = server;
    }

    /** The FHIR server the Subscriptions are read back from; {@code cmm.fhir.server.base-url} when not set. */
    public void setServerBaseUrl(String serverBaseUrl) {
        this.serverBaseUrl = serverBaseUrl;
    }

    /** Connect timeout of the read-back; {@code cmm.fhir.server.connect-timeout-ms} when not set. */
    public void setConnectTimeoutMs(int connectTimeoutMs) {
        this.connectTimeoutMs = connectTimeoutMs;
    }

    /** Read timeout of the read-back; {@code cmm.fhir.server.socket-timeout-ms} when not set. */
    public void setSocketTimeoutMs(int socketTimeoutMs) {
        this.socketTimeoutMs = socketTimeoutMs;
    }

    /** The SubscriptionTopics file (cmm.fhir.subscription.topics-file); read now, failing with its name. */
    public void setTopicsFile(String topicsFile) {
        this.validator = new SubscriptionValidator(SubscriptionTopics.load(topicsFile));
    }

    /**
     * Handles one Subscription change event; returns the handshake to queue first (rest-hook, requested) or nothing.
     */
    public List<Message> register(Exchange exchange) throws Exception {
        resolveSharedBeans(exchange.getContext());
        if (registry == null || statusWriter == null || validator == null) {
            throw new IllegalStateException("subscriptionRegistration needs the beans subscriptionRegistry and subscriptionStatusWriter (routes/fhir/fhir-beans.camel.yaml) and topicsFile");
        }
        ChangeEvent change = ChangeEvent.of(exchange.getMessage());
        String key = "Subscription/" + change.id();
        if (change.operation().equals("deleted")) {
            registry.remove(key);
            LOG.info("{} deleted: unregistered", key);
            return List.of();
        }
        // trust only the FHIR server: the event's own copy may claim any status, channel and endpoint
        Optional<Subscription> confirmed = readFromServer(exchange.getContext(), change.id());
        if (confirmed.isEmpty()) {
            registry.remove(key);
            LOG.warn("{}: change event for a Subscription the FHIR server does not have: not registered", key);
            return List.of();
        }
        Subscription s = confirmed.get();
        Optional<String> problem = problem(s);
        if (problem.isPresent()) {
            String reason = cut(problem.get());
            if (s.getStatus() != Subscription.SubscriptionStatus.ERROR || !reason.equals(s.getError())) {
                LOG.info("{} is invalid: setting status error on the FHIR server", key);
                statusWriter.setStatus(key, Subscription.SubscriptionStatus.ERROR, reason);
            }
            registry.put(s.copy().setStatus(Subscription.SubscriptionStatus.ERROR).setError(reason));
            return List.of();
        }
        if (s.getStatus() != Subscription.SubscriptionStatus.REQUESTED) {
            registry.put(s);
            LOG.info("{} registered ({})", key, s.getStatus() == null ? "no status" : s.getStatus().toCode());
            return List.of();
        }
        exchange.setProperty(TO_ACTIVATE, s);
        String channel = s.getChannel().getTypeElement().getValueAsString();
        if (!"rest-hook".equals(channel)) {
            return List.of();
        }
        Subscription active = s.copy().setStatus(Subscription.SubscriptionStatus.ACTIVE);
        SubscriptionNotification handshake = new SubscriptionNotification(SubscriptionNotification.HANDSHAKE, key,
                NotificationRecords.json(active), null, null, null, null, null);
        return List.of(NotificationRecords.message(exchange.getContext(), channel, handshake,
                exchange.getMessage().getHeader("ce_id", String.class)));
    }

    /**
     * The Subscription as the FHIR server has it now, or empty when it has none with that id (404/410). Connection
     * failures and other errors throw, so the change is retried.
     */
    private Optional<Subscription> readFromServer(CamelContext context, String id) {
        try {
            Subscription s = client(context).read().resource(Subscription.class).withId(id).execute();
            // as a parsed change event has it: Subscription/<id>/_history/<version>, without the server's base
            s.setIdElement(new IdType("Subscription", s.getIdElement().getIdPart(), s.getIdElement().getVersionIdPart()));
            return Optional.of(s);
        } catch (ResourceNotFoundException | ResourceGoneException e) {
            return Optional.empty();
        }
    }

    private IGenericClient client(CamelContext context) {
        IGenericClient c = client;
        if (c == null) {
            String base = serverBaseUrl != null ? serverBaseUrl : property(context, "cmm.fhir.server.base-url", null);
            if (base == null || base.isBlank()) {
                throw new IllegalStateException("subscriptionRegistration reads Subscriptions back from the FHIR server: "
                        + "cmm.fhir.server.base-url is not set");
            }
            int connect = connectTimeoutMs >= 0 ? connectTimeoutMs
                    : Integer.parseInt(property(context, "cmm.fhir.server.connect-timeout-ms", "5000"));
            int socket = socketTimeoutMs >= 0 ? socketTimeoutMs
                    : Integer.parseInt(property(context, "cmm.fhir.server.socket-timeout-ms", "15000"));
            c = FhirR4.client(base, connect, socket);
            client = c;
        }
        return c;
    }

    private static String property(CamelContext context, String key, String fallback) {
        return context.getPropertiesComponent().resolveProperty(key).map(String::trim).orElse(fallback);
    }

    /** The shared beans of routes/fhir/fhir-beans.camel.yaml, looked up on first use (bean files load in any order). */
    private void resolveSharedBeans(org.apache.camel.CamelContext context) {
        if (registry == null) {
            registry = context.getRegistry().lookupByNameAndType("subscriptionRegistry", SubscriptionRegistry.class);
        }
        if (statusWriter == null) {
            statusWriter = context.getRegistry().lookupByNameAndType("subscriptionStatusWriter", SubscriptionStatusWriter.class);
        }
        if (server == null) {
            server = context.getRegistry().lookupByNameAndType("fhirCriteriaQuery", ServerCriteriaQuery.class);
        }
    }

    /** Sets the requested Subscription of {@link #register} active on the FHIR server, then registers it. */
    public void activate(Exchange exchange) throws Exception {
        Subscription s = exchange.getProperty(TO_ACTIVATE, Subscription.class);
        if (s == null) {
            return;
        }
        String key = SubscriptionRegistry.keyOf(s);
        statusWriter.setStatus(key, Subscription.SubscriptionStatus.ACTIVE, null);
        Subscription active = s.copy().setStatus(Subscription.SubscriptionStatus.ACTIVE);
        active.setErrorElement(null);
        registry.put(active);
        LOG.info("{} activated", key);
    }

    private Optional<String> problem(Subscription s) {
        SubscriptionRule rule;
        try {
            rule = validator.validate(s);
        } catch (InvalidSubscriptionException e) {
            return Optional.of(e.getMessage());
        }
        if (s.getStatus() == Subscription.SubscriptionStatus.ERROR || s.getStatus() == Subscription.SubscriptionStatus.OFF) {
            // not matched anyway; the server is asked again when the client requests it
            return Optional.empty();
        }
        for (SubscriptionCriteria filter : rule.filters()) {
            if (filter.needsServer()) {
                Optional<String> rejection = server().rejection(filter);
                if (rejection.isPresent()) {
                    return rejection;
                }
            }
        }
        return Optional.empty();
    }

    private ServerCriteriaQuery server() {
        if (server == null) {
            throw new IllegalStateException("the bean fhirCriteriaQuery (routes/fhir/fhir-beans.camel.yaml) is missing");
        }
        return server;
    }

    private static String cut(String reason) {
        return reason.length() <= MAX_REASON ? reason : reason.substring(0, MAX_REASON);
    }
}
