package org.cmm.eventbroker.fhir.subscription;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.cmm.eventbroker.platform.delivery.DeliveryRejectedException;
import org.hl7.fhir.r4.model.Subscription;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides which active Subscriptions a change on {@code fhir.resource.changed} notifies, and builds one
 * {@code event-notification} per match for {@code fhir.subscription.<channel-type>}
 * (routes/fhir/fhir-subscription-matcher.camel.yaml writes them).
 *
 * <p>A subscription matches when it is {@code active}, its {@code end} is not past, the change's resource type and
 * operation are the ones it asks for ({@link SubscriptionRule}), and every filter holds: evaluated here where
 * {@link SubscriptionCriteria} can, else by the FHIR server ({@link ServerCriteriaQuery}). A delete matches only a
 * topic-based subscription whose topic triggers on delete and that has no filters beyond the type: there is no
 * resource left to test filters on, and notifying on type alone would tell a subscriber about deletes of resources
 * its criteria never selected. An R4 criteria subscription is never notified of deletes.
 *
 * <p>When the server rejects criteria (4xx) the subscription is set to {@code error} with the reason and skipped;
 * when it cannot be reached the change fails and is retried by the kafka-delivery consumer (nothing written yet).
 * Logs name subscription ids and resource ids only.
 */
public class SubscriptionMatcher {

    private static final Logger LOG = LoggerFactory.getLogger(SubscriptionMatcher.class);

    private record Compiled(Subscription subscription, SubscriptionRule rule) {
    }

    private final Map<String, Compiled> rules = new ConcurrentHashMap<>();
    private SubscriptionRegistry registry;
    private SubscriptionStatusWriter statusWriter;
    private SubscriptionValidator validator;
    private ServerCriteriaQuery server;

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

    /** The SubscriptionTopics file (cmm.fhir.subscription.topics-file); read now, failing with its name. */
    public void setTopicsFile(String topicsFile) {
        this.validator = new SubscriptionValidator(SubscriptionTopics.load(topicsFile));
    }

    public void setValidator(SubscriptionValidator validator) {
        this.validator = validator;
    }

    /** The notifications for the change in the exchange (empty when nothing matches), as messages for the sink. */
    public List<Message> match(Exchange exchange) throws Exception {
        resolveSharedBeans(exchange.getContext());
        if (registry == null || validator == null) {
            throw new IllegalStateException("subscriptionMatcher needs the bean subscriptionRegistry (routes/fhir/fhir-beans.camel.yaml) and topicsFile");
        }
        ChangeEvent change = ChangeEvent.of(exchange.getMessage());
        Instant now = Instant.now();
        Map<String, Boolean> serverAnswers = new HashMap<>();
        List<Message> notifications = new ArrayList<>();
        List<Subscription> active = registry.active();
        if (rules.size() > active.size()) {
            // forget the rules of subscriptions no longer active
            rules.keySet().retainAll(active.stream().map(SubscriptionRegistry::keyOf).toList());
        }
        for (Subscription s : active) {
            String key = SubscriptionRegistry.keyOf(s);
            if (s.getEnd() != null && !s.getEnd().toInstant().isAfter(now)) {
                continue;
            }
            SubscriptionRule rule = rule(key, s);
            if (rule == null || !rule.resourceType().equals(change.resourceType())
                    || !rule.operations().contains(change.operation())) {
                continue;
            }
            if (matches(s, rule, change, serverAnswers)) {
                SubscriptionNotification n = new SubscriptionNotification(SubscriptionNotification.EVENT_NOTIFICATION,
                        key, NotificationRecords.json(s), change.ceId(), change.ceTime(), change.focus(),
                        change.operation(), change.resource() == null ? null : NotificationRecords.json(change.body()));
                notifications.add(NotificationRecords.message(exchange.getContext(), rule.channelType(), n, change.ceId()));
            }
        }
        if (!notifications.isEmpty()) {
            LOG.debug("{} {} matched {} subscription(s)", change.focus(), change.operation(), notifications.size());
        }
        return notifications;
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

    private boolean matches(Subscription s, SubscriptionRule rule, ChangeEvent change, Map<String, Boolean> serverAnswers)
            throws Exception {
        if (change.resource() == null) {
            return !rule.filtered();
        }
        for (SubscriptionCriteria filter : rule.filters()) {
            if (!filter.needsServer()) {
                Boolean decided = filter.decideLocally(change.resource());
                if (decided != null) {
                    if (!decided) {
                        return false;
                    }
                    continue;
                }
            }
            String query = filter.serverQuery(change.id());
            Boolean answer = serverAnswers.get(query);
            if (answer == null) {
                try {
                    answer = server().matches(filter, change.id());
                } catch (ServerCriteriaQuery.CriteriaRejectedException e) {
                    rejectCriteria(s, e.getMessage());
                    return false;
                }
                serverAnswers.put(query, answer);
            }
            if (!answer) {
                return false;
            }
        }
        return true;
    }

    /** Sets the subscription to error on the server and in the registry, so later changes do not ask again. */
    private void rejectCriteria(Subscription s, String reason) throws Exception {
        String key = SubscriptionRegistry.keyOf(s);
        LOG.warn("The FHIR server rejects the criteria of {}; setting it to error", key);
        rules.remove(key);
        if (statusWriter != null) {
            statusWriter.setStatus(key, Subscription.SubscriptionStatus.ERROR, reason);
        }
        registry.put(s.copy().setStatus(Subscription.SubscriptionStatus.ERROR).setError(reason));
    }

    private SubscriptionRule rule(String key, Subscription s) {
        Compiled c = rules.get(key);
        if (c != null && c.subscription() == s) {
            return c.rule();
        }
        SubscriptionRule rule;
        try {
            rule = validator.validate(s);
        } catch (InvalidSubscriptionException e) {
            LOG.warn("Active {} is not valid here ({}); not matched", key, e.getMessage());
            rule = null;
        }
        rules.put(key, new Compiled(s, rule));
        return rule;
    }

    private ServerCriteriaQuery server() {
        if (server == null) {
            throw new IllegalStateException("the bean fhirCriteriaQuery (routes/fhir/fhir-beans.camel.yaml) is missing");
        }
        return server;
    }
}
