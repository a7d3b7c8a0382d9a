package org.cmm.eventbroker.eventapi;

/**
 * A request the event API refuses, answered in the Kafka REST Proxy's error shape:
 * {@code {"error_code":<code>,"message":"<reason>"}} with HTTP status {@link #status()}. The v3 endpoints use the
 * HTTP status as {@code error_code} (as the v3 proxy does); {@code errorCode} may be a v2-style five-digit code
 * ({@code 40401} unknown topic, {@code 40403} unknown consumer instance). The message names what is wrong, never
 * quotes the content.
 */
public final class ApiException extends RuntimeException {

    private final int status;
    private final int errorCode;

    public ApiException(int status, String message) {
        this(status, status, message);
    }

    public ApiException(int status, int errorCode, String message) {
        super(message, null, false, false);
        this.status = status;
        this.errorCode = errorCode;
    }

    public int status() {
        return status;
    }

    public int errorCode() {
        return errorCode;
    }

    static ApiException unknownTopic(String topic) {
        return new ApiException(404, "This server does not host this topic: '" + topic + "'.");
    }
}
