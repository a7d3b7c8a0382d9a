package org.cmm.eventbroker.fhir.subscription.channel;

import org.apache.camel.component.http.HttpClientConfigurer;
import org.apache.hc.client5.http.impl.classic.HttpClientBuilder;

/**
 * Turns off Apache HttpClient's own retries for the SMS gateway call: by default it repeats a request answered 429 or
 * 503 once, a second after, inside one delivery attempt. Retries belong to the kafka-delivery back-off, which records
 * each failed attempt on the Subscription and counts it against max-attempts.
 */
public class NoAutomaticHttpRetries implements HttpClientConfigurer {

    @Override
    public void configureHttpClient(HttpClientBuilder clientBuilder) {
        clientBuilder.disableAutomaticRetries();
    }
}
