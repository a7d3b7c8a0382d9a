package org.cmm.eventbroker.fhir.bulk;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** FHIR R4 OperationOutcome resources as JSON, the answer of every refused or failed bulk request. */
final class OperationOutcomes {

    private OperationOutcomes() {
    }

    static ObjectNode error(String code, String diagnostics) {
        return issue("error", code, diagnostics);
    }

    static ObjectNode issue(String severity, String code, String diagnostics) {
        ObjectNode outcome = JsonNodeFactory.instance.objectNode();
        outcome.put("resourceType", "OperationOutcome");
        ObjectNode issue = outcome.putArray("issue").addObject();
        issue.put("severity", severity);
        issue.put("code", code);
        issue.put("diagnostics", diagnostics);
        return outcome;
    }
}
