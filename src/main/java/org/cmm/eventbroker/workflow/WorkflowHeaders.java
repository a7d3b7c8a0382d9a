package org.cmm.eventbroker.workflow;

/** Headers of the workflow flows' records (besides the CloudEvents ones) and of their exchanges. */
public final class WorkflowHeaders {

    /** The workflow type, the last part of workflow.triggers.* and workflow.states.* topic names. */
    public static final String WORKFLOW_TYPE = "workflow_type";
    /** start, resume or cancel, on trigger records. */
    public static final String ACTION = "workflow_action";
    /** The state an engine callback reported, on state records. */
    public static final String STATE = "workflow_state";
    /** The task type, the last part of workflow.tasks.* topic names. */
    public static final String TASK_TYPE = "task_type";
    /** completed or failed, on task result records. */
    public static final String TASK_STATUS = "task_status";
    /** The notification type, the last part of notifications.push.* topic names. */
    public static final String NOTIFICATION_TYPE = "notification_type";
    /** The engine's idempotency header: the trigger id, so a retried call never starts a second instance. */
    public static final String IDEMPOTENCY_KEY = "Idempotency-Key";

    private WorkflowHeaders() {
    }
}
