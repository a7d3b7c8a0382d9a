package org.cmm.eventbroker.platform.security.kafka;

import java.io.IOException;

import javax.security.auth.callback.Callback;
import javax.security.auth.callback.UnsupportedCallbackException;

import org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallback;
import org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler;
import org.cmm.eventbroker.platform.security.audit.AuditEvent;

/**
 * Kafka 3.9's own {@link OAuthBearerValidatorCallbackHandler} (JWT signature against the issuer's JWKS, issuer,
 * audience, expiry), recording refused tokens on {@code security.audit.authentication}: the subject the token claims
 * (unverified, as the audit of a failure records what was claimed) and Kafka's error status, never the token.
 */
public class AuditingOAuthBearerValidator extends OAuthBearerValidatorCallbackHandler {

    @Override
    public void handle(Callback[] callbacks) throws IOException, UnsupportedCallbackException {
        super.handle(callbacks);
        for (Callback callback : callbacks) {
            if (callback instanceof OAuthBearerValidatorCallback validation && validation.token() == null) {
                String claimed = CmmKafkaPrincipalBuilder.claims(validation.tokenValue()).path("sub").asText("");
                KafkaAudit.sink().record(AuditEvent.authentication(KafkaAudit.SOURCE, "User:" + claimed,
                        "OAUTHBEARER", false, null, "token refused: " + validation.errorStatus()));
            }
        }
    }
}
