package org.cmm.eventbroker.workflow;

/**
 * A task the worker cannot execute as given (an unsupported task type, input missing a field): its result is
 * published as failed with this reason, and the task goes to the dead-letter topic. The reason names what is wrong
 * without quoting the task's data.
 */
public class WorkflowTaskFailedException extends Exception {

    public WorkflowTaskFailedException(String reason) {
        super(reason);
    }
}
