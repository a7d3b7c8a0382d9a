package org.cmm.eventbroker.fhir.change;

import org.cmm.eventbroker.fhir.FhirR4;
import org.cmm.eventbroker.platform.http.RequestRejectedException;
import org.hl7.fhir.r4.model.OperationOutcome;

/**
 * FHIR change input that cannot be accepted (malformed JSON, an unknown resource type, a Bundle entry without id):
 * it goes untouched to {@code fhir.dlq} and the sender is answered with a 4xx and an OperationOutcome whose
 * diagnostics is the reason. The reason never quotes content.
 */
public class FhirChangeRejectedException extends RequestRejectedException {

    private final OperationOutcome.IssueType issueType;

    public FhirChangeRejectedException(int status, OperationOutcome.IssueType issueType, String reason) {
        super(status, reason);
        this.issueType = issueType;
    }

    public FhirChangeRejectedException(String reason) {
        this(400, OperationOutcome.IssueType.INVALID, reason);
    }

    /** The answer's body: an OperationOutcome with one error issue. */
    @Override
    public String getJson() {
        OperationOutcome outcome = new OperationOutcome();
        outcome.addIssue().setSeverity(OperationOutcome.IssueSeverity.ERROR).setCode(issueType)
                .setDiagnostics(getReason());
        return FhirR4.context().newJsonParser().encodeResourceToString(outcome);
    }
}
