package org.cmm.eventbroker.workflow;

/**
 * A state callback the engine sent that cannot be accepted as sent: answered 4xx with a JSON reason once its body is
 * on the dead-letter topic. The reason names what is wrong and never quotes the request.
 */
public class WorkflowCallbackRejectedException extends Exception {

    private final int status;

    public WorkflowCallbackRejectedException(int status, String reason) {
        super(reason);
        if (status < 400 || status > 499) {
            throw new IllegalArgumentException("a rejection is a 4xx status, not " + status);
        }
        this.status = status;
    }

    /** 400, 413 or 415. */
    public int getStatus() {
        return status;
    }

    public String getReason() {
        return getMessage();
    }

    /** The answer's body: {@code {"status":400,"error":"<reason>"}}. */
    public String getJson() {
        return new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode().put("status", status)
                .put("error", getMessage()).toString();
    }
}
