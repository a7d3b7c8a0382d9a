package org.cmm.eventbroker.workflow;

import org.cmm.eventbroker.platform.http.RequestRejectedException;

/**
 * A state callback the engine sent that cannot be accepted as sent: answered 4xx with a JSON reason once its body is
 * on the dead-letter topic. The reason names what is wrong and never quotes the request.
 */
public class WorkflowCallbackRejectedException extends RequestRejectedException {

    public WorkflowCallbackRejectedException(int status, String reason) {
        super(status, reason);
    }
}
