package org.cmm.eventbroker.ehr;

/**
 * Names of the headers an EHR API event carries on Kafka, next to the CloudEvents 1.0 binary-mode attributes
 * ({@code ce_*}, the same names as the HL7 flow's). Nothing else from the HTTP request reaches Kafka.
 */
public final class EhrHeaders {

    /** The vendor path segment in lower case (topic part). */
    public static final String VENDOR = "ehr_vendor";
    /** The resource type path segment in lower case (topic part). */
    public static final String RESOURCE_TYPE = "ehr_resource_type";
    /** The operation path segment in lower case (topic part). */
    public static final String OPERATION = "ehr_operation";

    /** Internal (not sent to Kafka): what a resend of the same event repeats, for the duplicate check. */
    public static final String DEDUPLICATION_KEY = "CamelEhrDeduplicationKey";

    /** On a dead letter of an oversize body: "true", the record holds only the first max-body-bytes bytes. */
    public static final String DLQ_TRUNCATED = "dlq_truncated";
    /** On a dead letter of an oversize body: how many bytes the request body had. */
    public static final String DLQ_ORIGINAL_BYTES = "dlq_original_bytes";

    private EhrHeaders() {
    }
}
