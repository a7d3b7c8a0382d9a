package org.cmm.eventbroker.fhir.subscription;

import java.util.Optional;

import ca.uhn.fhir.rest.client.api.IGenericClient;
import ca.uhn.fhir.rest.client.exceptions.FhirClientConnectionException;
import ca.uhn.fhir.rest.server.exceptions.BaseServerResponseException;
import org.cmm.eventbroker.fhir.FhirR4;
import org.hl7.fhir.r4.model.Bundle;

/**
 * Asks the FHIR server whether a resource matches criteria the matcher cannot evaluate itself:
 * {@code GET [base]/<criteria>&_id=<id>}; it matches when the resource is in the result. The server answers for the
 * resource's current version, which for a change that was superseded meanwhile is the newer one. The search is sent
 * with {@code Prefer: handling=strict}: a server that honours it rejects parameters it does not support instead of
 * ignoring them (which would match every resource of the type). Connection failures,
 * timeouts and 5xx throw (the change is retried); a 4xx means the server does not support the criteria.
 */
public class ServerCriteriaQuery {

    /** The id asked for when probing whether the server supports criteria at all (no resource has it). */
    static final String PROBE_ID = "cmm-criteria-probe";

    private String serverBaseUrl;
    private int connectTimeoutMs = 5_000;
    private int socketTimeoutMs = 15_000;
    private volatile IGenericClient client;

    /** As the bean {@code fhirCriteriaQuery} (routes/fhir/fhir-beans.camel.yaml), shared by registration and matcher. */
    public ServerCriteriaQuery() {
    }

    public ServerCriteriaQuery(String serverBaseUrl, int connectTimeoutMs, int socketTimeoutMs) {
        this.serverBaseUrl = serverBaseUrl;
        this.connectTimeoutMs = connectTimeoutMs;
        this.socketTimeoutMs = socketTimeoutMs;
    }

    public void setServerBaseUrl(String serverBaseUrl) {
        this.serverBaseUrl = serverBaseUrl;
    }

    public void setConnectTimeoutMs(int connectTimeoutMs) {
        this.connectTimeoutMs = connectTimeoutMs;
    }

    public void setSocketTimeoutMs(int socketTimeoutMs) {
        this.socketTimeoutMs = socketTimeoutMs;
    }

    /** Whether the server's answer to the criteria restricted to the id holds the resource. */
    public boolean matches(SubscriptionCriteria criteria, String id) throws CriteriaRejectedException {
        Bundle result = search(criteria, id);
        return result.getEntry().stream().anyMatch(e -> e.getResource() != null
                && criteria.resourceType().equals(e.getResource().fhirType())
                && id.equals(e.getResource().getIdElement().getIdPart()));
    }

    /** Empty when the server accepts the criteria; the reason when it rejects them (4xx). */
    public Optional<String> rejection(SubscriptionCriteria criteria) {
        try {
            search(criteria, PROBE_ID);
            return Optional.empty();
        } catch (CriteriaRejectedException e) {
            return Optional.of(e.getMessage());
        }
    }

    private Bundle search(SubscriptionCriteria criteria, String id) throws CriteriaRejectedException {
        try {
            return client().search().byUrl(criteria.serverQuery(id)).returnBundle(Bundle.class)
                    // a lenient server would ignore parameters it does not know and match too much
                    .withAdditionalHeader("Prefer", "handling=strict").execute();
        } catch (FhirClientConnectionException e) {
            throw e;
        } catch (BaseServerResponseException e) {
            int status = e.getStatusCode();
            if (status >= 400 && status < 500 && status != 408 && status != 429) {
                throw new CriteriaRejectedException("criteria not supported by the FHIR server (HTTP " + status
                        + " for the parameters " + criteria.serverParameters() + ")");
            }
            throw e;
        }
    }

    private IGenericClient client() {
        IGenericClient c = client;
        if (c == null) {
            if (serverBaseUrl == null || serverBaseUrl.isBlank()) {
                throw new IllegalStateException("the subscription processor needs cmm.fhir.server.base-url");
            }
            c = FhirR4.client(serverBaseUrl, connectTimeoutMs, socketTimeoutMs);
            client = c;
        }
        return c;
    }

    /** The FHIR server answered 4xx to the criteria: they will not work for this subscription. */
    public static class CriteriaRejectedException extends Exception {

        public CriteriaRejectedException(String reason) {
            super(reason);
        }
    }
}
