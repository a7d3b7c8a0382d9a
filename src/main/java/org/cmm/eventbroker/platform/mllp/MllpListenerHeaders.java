package org.cmm.eventbroker.platform.mllp;

/** Exchange headers the {@code mllp-listener} consumer sets and reads. All start with "Camel" so none reach Kafka. */
public final class MllpListenerHeaders {

    /** Set by the route: AA, AE or AR. Anything else, or nothing, is answered AE. */
    public static final String ACKNOWLEDGEMENT_CODE = "CamelMllpAcknowledgementCode";
    /** Set by the route for AE/AR: the reason, sent back in MSA-3/ERR. Never message content. */
    public static final String ACKNOWLEDGEMENT_TEXT = "CamelMllpAcknowledgementText";
    /** Set by the route for AE/AR: the HL7 error code (table 0357) as a number, e.g. 101. */
    public static final String ACKNOWLEDGEMENT_ERROR_CODE = "CamelMllpAcknowledgementErrorCode";
    /** Set by the route: the Java charset name the message was read with; the ACK is encoded in it. */
    public static final String CHARSET = "CamelMllpCharset";

    /** Set by the consumer when the bytes are not a clean frame: why (no content). */
    public static final String FRAMING_ERROR = "CamelMllpFramingError";
    /** Set by the consumer: whether the sender waits for an acknowledgement of these bytes. */
    public static final String ACKNOWLEDGEMENT_EXPECTED = "CamelMllpAcknowledgementExpected";
    /**
     * Set by the consumer when the sender may not send this message (a client certificate restricted to other
     * MSH-3/MSH-4 values): why. The route must dead-letter the message untouched and answer AR; the consumer never
     * answers such a message AA, whatever the route decided.
     */
    public static final String SENDER_REFUSED = "CamelMllpSenderRefused";
    /** Set by the consumer on TLS connections with a verified client certificate: its subject (X.500 name). */
    public static final String CLIENT_PRINCIPAL = "CamelMllpClientPrincipal";
    /** Set by the consumer: the sender's address, host:port. */
    public static final String REMOTE_ADDRESS = "CamelMllpRemoteAddress";
    /** Set by the consumer: the listener's address, host:port. */
    public static final String LOCAL_ADDRESS = "CamelMllpLocalAddress";

    private MllpListenerHeaders() {
    }
}
