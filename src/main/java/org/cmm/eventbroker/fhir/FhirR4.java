package org.cmm.eventbroker.fhir;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.client.api.IGenericClient;
import ca.uhn.fhir.rest.client.api.ServerValidationModeEnum;

/**
 * The one FHIR R4 context of the runtime: building a {@link FhirContext} scans the whole model (seconds, tens of MB),
 * so every parser, client and the fhir component share this one (bean {@code fhirContext} in
 * routes/fhir/fhir-beans.camel.yaml, component option {@code camel.component.fhir.fhir-context}).
 */
public final class FhirR4 {

    private FhirR4() {
    }

    public static FhirContext context() {
        return FhirContext.forR4Cached();
    }

    /**
     * A client of the FHIR server at {@code baseUrl} that does not fetch the server's CapabilityStatement first, with
     * the given connect and socket timeouts.
     */
    public static IGenericClient client(String baseUrl, int connectTimeoutMs, int socketTimeoutMs) {
        FhirContext fhir = context();
        fhir.getRestfulClientFactory().setServerValidationMode(ServerValidationModeEnum.NEVER);
        fhir.getRestfulClientFactory().setConnectTimeout(connectTimeoutMs);
        fhir.getRestfulClientFactory().setSocketTimeout(socketTimeoutMs);
        return fhir.newRestfulGenericClient(baseUrl);
    }
}
