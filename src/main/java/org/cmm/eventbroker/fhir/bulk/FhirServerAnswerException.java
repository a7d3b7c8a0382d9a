package org.cmm.eventbroker.fhir.bulk;

import java.io.IOException;

/** The FHIR server answered a bulk job's request with a status that is not 2xx (the status tells whether it may pass). */
final class FhirServerAnswerException extends IOException {

    private final int status;

    FhirServerAnswerException(int status, String request) {
        super("The FHIR server answered " + status + " to " + request);
        this.status = status;
    }

    int status() {
        return status;
    }
}
