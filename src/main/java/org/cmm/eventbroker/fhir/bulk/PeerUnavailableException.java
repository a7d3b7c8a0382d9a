package org.cmm.eventbroker.fhir.bulk;

/** A peer of a bulk job (the FHIR server, the bulk store) still failed when the retry budget was spent. */
final class PeerUnavailableException extends Exception {

    PeerUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
