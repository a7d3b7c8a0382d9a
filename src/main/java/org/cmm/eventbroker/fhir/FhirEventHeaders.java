package org.cmm.eventbroker.fhir;

/**
 * Header names of the FHIR change events ({@code fhir.<type>.<operation>}, {@code fhir.resource.changed}) and of the
 * subscription notifications ({@code fhir.subscription.<channel>}); the records are described in
 * docs/fhir/events-and-subscriptions.md. Kafka headers and Camel headers use the same names.
 */
public final class FhirEventHeaders {

    /** Resource type as FHIR spells it: {@code Observation}. */
    public static final String RESOURCE_TYPE = "fhir_resource_type";
    /** Logical id: {@code 123}. */
    public static final String RESOURCE_ID = "fhir_resource_id";
    /** {@code meta.versionId}, when known. */
    public static final String VERSION_ID = "fhir_version_id";
    /** {@code created}, {@code updated} or {@code deleted}. */
    public static final String OPERATION = "fhir_operation";

    /** {@code Subscription/<id>} of a notification. */
    public static final String SUBSCRIPTION_ID = "fhir_subscription_id";
    /** {@code event-notification}, {@code handshake} or {@code heartbeat}. */
    public static final String NOTIFICATION_TYPE = "fhir_notification_type";
    /** {@code rest-hook}, {@code websocket}, {@code email} or {@code sms}. */
    public static final String CHANNEL_TYPE = "fhir_channel_type";

    /** Extension on Subscription counting the failed delivery attempts. */
    public static final String ERROR_COUNT_EXTENSION = "http://cmm.org/fhir/StructureDefinition/subscription-error-count";

    private FhirEventHeaders() {
    }
}
