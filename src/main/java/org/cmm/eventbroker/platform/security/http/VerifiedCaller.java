package org.cmm.eventbroker.platform.security.http;

import java.util.LinkedHashSet;
import java.util.Optional;
import java.util.Set;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.User;
import org.apache.camel.Message;
import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpConstants;

/**
 * The caller {@link HttpAccessGuard} verified, as a route sees it: the guard hands the verified name (token subject or
 * client-certificate subject) to the platform HTTP server as its authenticated user, which Camel puts on the exchange
 * as {@value VertxPlatformHttpConstants#AUTHENTICATED_USER}. Only the server's {@link User} object counts, so a request
 * header of the same name (a string) is never taken for a verified caller. Routes use this where a request names who
 * acted (an alert acknowledgement) instead of trusting the body, and {@link #caller} where a request is bound to the
 * caller's identity (a patient registers push devices only for the patient of its token).
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

    /** The server's user for a verified caller: its name, roles and patient context (never the token). */
    static User user(Caller caller) {
        JsonObject principal = new JsonObject().put("username", caller.name())
                .put("roles", new JsonArray(java.util.List.copyOf(caller.roles())));
        if (caller.patient() != null) {
            principal.put("patient", caller.patient());
        }
        return User.create(principal);
    }

    /**
     * The whole verified caller (name, roles, patient context), or empty when access control is off or the path is
     * open. As {@link #name}, only the server's {@link User} object counts, never a header.
     */
    public static Optional<Caller> caller(Message message) {
        Object user = message.getHeader(VertxPlatformHttpConstants.AUTHENTICATED_USER);
        if (!(user instanceof User verified)) {
            return Optional.empty();
        }
        Optional<String> name = name(message);
        if (name.isEmpty()) {
            return Optional.empty();
        }
        JsonObject principal = verified.principal() == null ? new JsonObject() : verified.principal();
        Set<String> roles = new LinkedHashSet<>();
        JsonArray listed = principal.getJsonArray("roles");
        if (listed != null) {
            listed.forEach(r -> {
                if (r instanceof String s) {
                    roles.add(s);
                }
            });
        }
        return Optional.of(new Caller(name.get(), roles, principal.getString("patient")));
    }
}
