package org.cmm.eventbroker.hl7;

/**
 * Names of the headers an HL7 v2 event carries on Kafka, next to the CloudEvents 1.0 binary-mode attributes
 * ({@code ce_*}). Operators filter on these without parsing the message.
 */
public final class Hl7Headers {

    public static final String MESSAGE_TYPE = "hl7_message_type";
    public static final String TRIGGER_EVENT = "hl7_trigger_event";
    public static final String CONTROL_ID = "hl7_control_id";
    public static final String VERSION = "hl7_version";
    public static final String SENDING_APPLICATION = "hl7_sending_application";
    public static final String SENDING_FACILITY = "hl7_sending_facility";
    public static final String RECEIVING_APPLICATION = "hl7_receiving_application";
    public static final String RECEIVING_FACILITY = "hl7_receiving_facility";
    public static final String CHARSET = "hl7_charset";
    public static final String PATIENT_ID = "hl7_patient_id";

    public static final String CE_SPECVERSION = "ce_specversion";
    public static final String CE_ID = "ce_id";
    public static final String CE_SOURCE = "ce_source";
    public static final String CE_TYPE = "ce_type";
    public static final String CE_TIME = "ce_time";
    public static final String CE_SUBJECT = "ce_subject";
    /** CloudEvents datacontenttype in Kafka binary mode. */
    public static final String CONTENT_TYPE = "content-type";

    /** Internal (not sent to Kafka): MSH-9-1 in lower case, as the hl7-topic-sink Kamelet puts it in topic names. */
    public static final String TOPIC_MESSAGE_TYPE = "CamelHl7TopicMessageType";
    /** Internal (not sent to Kafka): MSH-9-2 in lower case, as the hl7-topic-sink Kamelet puts it in topic names. */
    public static final String TOPIC_TRIGGER_EVENT = "CamelHl7TopicTriggerEvent";

    /** Internal (not sent to Kafka): sender, facility, control id and a content digest: what a resend repeats. */
    public static final String DEDUPLICATION_KEY = "CamelHl7DeduplicationKey";

    private Hl7Headers() {
    }
}
