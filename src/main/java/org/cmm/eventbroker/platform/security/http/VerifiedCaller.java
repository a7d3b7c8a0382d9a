package org.cmm.eventbroker.platform.security.http;

import java.util.Optional;

import io.vertx.ext.auth.User;
import org.apache.camel.Message;
import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpConstants;

/**
 * The caller {@link HttpAccessGuard} verified, as a route sees it: the guard hands the verified name (token subject or
 * client-certificate subject) to the platform HTTP server as its authenticated user, which Camel puts on the exchange
 * as {@value VertxPlatformHttpConstants#AUTHENTICATED_USER}. Only the server's {@link User} object counts, so a request
 * header of the same name (a string) is never taken for a verified caller. Routes use this where a request names who
 * acted (an alert acknowledgement) instead of trusting the body.
 */
public final class VerifiedCaller {

    private VerifiedCaller() {
    }

    /** The verified caller's name, or empty when access control is off (development posture) or the path is open. */
    public static Optional<String> name(Message message) {
        Object user = message.getHeader(VertxPlatformHttpConstants.AUTHENTICATED_USER);
        if (user instanceof User verified) {
            String subject = verified.subject();
            if (subject == null || subject.isBlank()) {
                subject = verified.principal() == null ? null : verified.principal().getString("username");
            }
            return Optional.ofNullable(subject).filter(s -> !s.isBlank());
        }
        return Optional.empty();
    }
}
