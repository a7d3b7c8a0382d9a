package org.cmm.eventbroker.fhir.subscription;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import ca.uhn.fhir.rest.client.api.IGenericClient;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.camel.Exchange;
import org.cmm.eventbroker.fhir.FhirEventHeaders;
import org.cmm.eventbroker.fhir.FhirR4;
import org.hl7.fhir.r4.model.Extension;
import org.hl7.fhir.r4.model.IntegerType;
import org.hl7.fhir.r4.model.Subscription;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes delivery failures visible where FHIR clients look: on the Subscription resource of the FHIR server. Each
 * failed attempt sets {@code Subscription.error} to the reason and counts it in the extension
 * {@value FhirEventHeaders#ERROR_COUNT_EXTENSION}; giving up sets the status to {@code error}; the first delivery after
 * failures, or the first one since this instance started, clears {@code Subscription.error} of an active Subscription
 * (the count stays). Registration uses {@link #setStatus} for
 * {@code requested -> active} and for invalid subscriptions.
 *
 * <p>Writing the server is best effort for failure bookkeeping: when the FHIR server cannot be reached the delivery
 * retries go on all the same (logged, without the reason, which may quote the endpoint). Reasons are cut to
 * 500 characters. Logs name subscription ids only.
 *
 * <p>Each outcome is also counted per subscription: {@code cmm_fhir_subscription_notifications_total} with the tags
 * {@code subscription}, {@code channel} and {@code outcome} ({@code delivered}, {@code failed}, {@code given-up}) on
 * /observe/metrics.
 */
public class SubscriptionStatusWriter {

    private static final Logger LOG = LoggerFactory.getLogger(SubscriptionStatusWriter.class);
    private static final int MAX_REASON = 500;

    private final Map<String, Boolean> failing = new ConcurrentHashMap<>();
    private final Map<String, Boolean> checked = new ConcurrentHashMap<>();
    private final Map<String, Counter> counters = new ConcurrentHashMap<>();
    private String serverBaseUrl;
    private int connectTimeoutMs = 5_000;
    private int socketTimeoutMs = 15_000;
    private volatile IGenericClient client;

    public void setServerBaseUrl(String serverBaseUrl) {
        this.serverBaseUrl = serverBaseUrl;
    }

    public void setConnectTimeoutMs(int connectTimeoutMs) {
        this.connectTimeoutMs = connectTimeoutMs;
    }

    public void setSocketTimeoutMs(int socketTimeoutMs) {
        this.socketTimeoutMs = socketTimeoutMs;
    }

    /** A failed delivery attempt of the exchange's subscription (header {@code fhir_subscription_id}). */
    public void recordFailure(Exchange exchange) {
        String id = exchange.getMessage().getHeader(FhirEventHeaders.SUBSCRIPTION_ID, String.class);
        count(exchange, "failed");
        update(id, null, reasonOf(exchange));
        if (id != null) {
            failing.put(id, Boolean.TRUE);
        }
    }

    /** The last allowed attempt failed: the subscription's status becomes {@code error}. */
    public void recordGivenUp(Exchange exchange) {
        String id = exchange.getMessage().getHeader(FhirEventHeaders.SUBSCRIPTION_ID, String.class);
        count(exchange, "given-up");
        update(id, Subscription.SubscriptionStatus.ERROR, "delivery given up: " + reasonOf(exchange));
        if (id != null) {
            failing.remove(id);
        }
    }

    /** A delivery succeeded: clears {@code Subscription.error} when an earlier attempt had set it. */
    public void recordDelivered(Exchange exchange) {
        String id = exchange.getMessage().getHeader(FhirEventHeaders.SUBSCRIPTION_ID, String.class);
        count(exchange, "delivered");
        if (id == null) {
            return;
        }
        // after failures here, or on the first delivery since this instance started: an error recorded before a
        // restart (or by another instance) is still on the server and is cleared by this delivery
        boolean firstSinceStart = checked.putIfAbsent(id, Boolean.TRUE) == null;
        if (failing.remove(id) != null || firstSinceStart) {
            try {
                Subscription s = client().read().resource(Subscription.class).withId(idPart(id)).execute();
                if (s.hasError() && s.getStatus() == Subscription.SubscriptionStatus.ACTIVE) {
                    s.setErrorElement(null);
                    client().update().resource(s).execute();
                }
            } catch (RuntimeException e) {
                LOG.warn("Could not clear the error of {} on the FHIR server ({})", id, e.getClass().getSimpleName());
                checked.remove(id);
            }
        }
    }

    /** Sets the status (and {@code Subscription.error} when a reason is given) on the FHIR server; throws on failure. */
    public void setStatus(String subscriptionId, Subscription.SubscriptionStatus status, String reason) {
        Subscription s = client().read().resource(Subscription.class).withId(idPart(subscriptionId)).execute();
        s.setStatus(status);
        if (reason != null) {
            s.setError(cut(reason));
        } else {
            s.setErrorElement(null);
        }
        client().update().resource(s).execute();
    }

    private void update(String subscriptionId, Subscription.SubscriptionStatus status, String reason) {
        if (subscriptionId == null) {
            return;
        }
        try {
            Subscription s = client().read().resource(Subscription.class).withId(idPart(subscriptionId)).execute();
            if (status != null) {
                s.setStatus(status);
            }
            s.setError(cut(reason));
            Extension count = s.getExtensionByUrl(FhirEventHeaders.ERROR_COUNT_EXTENSION);
            int failures = count != null && count.getValue() instanceof IntegerType i ? i.getValue() : 0;
            if (count == null) {
                count = s.addExtension().setUrl(FhirEventHeaders.ERROR_COUNT_EXTENSION);
            }
            count.setValue(new IntegerType(failures + 1));
            client().update().resource(s).execute();
        } catch (RuntimeException e) {
            LOG.warn("Could not record a delivery failure of {} on the FHIR server ({})", subscriptionId,
                    e.getClass().getSimpleName());
        }
    }

    private void count(Exchange exchange, String outcome) {
        MeterRegistry meters = exchange.getContext().getRegistry().findSingleByType(MeterRegistry.class);
        if (meters == null) {
            return;
        }
        String id = exchange.getMessage().getHeader(FhirEventHeaders.SUBSCRIPTION_ID, "unknown", String.class);
        String channel = exchange.getMessage().getHeader(FhirEventHeaders.CHANNEL_TYPE, "unknown", String.class);
        counters.computeIfAbsent(id + '|' + channel + '|' + outcome, k -> Counter.builder("cmm.fhir.subscription.notifications")
                .description("Subscription notifications per subscription, channel and outcome")
                .tag("subscription", id).tag("channel", channel).tag("outcome", outcome)
                .register(meters)).increment();
    }

    private static String reasonOf(Exchange exchange) {
        Exception e = exchange.getException() != null ? exchange.getException()
                : exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Exception.class);
        if (e == null) {
            return "delivery failed";
        }
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }

    private static String cut(String reason) {
        return reason.length() <= MAX_REASON ? reason : reason.substring(0, MAX_REASON);
    }

    private static String idPart(String subscriptionId) {
        return subscriptionId.startsWith("Subscription/") ? subscriptionId.substring("Subscription/".length()) : subscriptionId;
    }

    private IGenericClient client() {
        IGenericClient c = client;
        if (c == null) {
            if (serverBaseUrl == null || serverBaseUrl.isBlank()) {
                throw new IllegalStateException("subscriptionStatusWriter needs serverBaseUrl (cmm.fhir.server.base-url)");
            }
            c = FhirR4.client(serverBaseUrl, connectTimeoutMs, socketTimeoutMs);
            client = c;
        }
        return c;
    }
}
