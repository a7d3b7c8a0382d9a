package org.cmm.eventbroker.platform.security.http;

/**
 * A bearer token that was refused (malformed, unsigned, bad signature, wrong issuer or audience, expired). The message
 * says why, never the token itself, so it may go to logs and audit records.
 */
public class InvalidTokenException extends Exception {

    public InvalidTokenException(String reason) {
        super(reason);
    }
}
