package org.cmm.eventbroker.platform.mllp;

import java.util.Locale;

/** Whether a TLS MLLP listener asks senders for a client certificate ({@code cmm.mllp.tls.client-auth}). */
public enum ClientAuthentication {
    /** Not asked for. */
    NONE,
    /** Asked for and verified when presented; a sender without one is still served (unrestricted, audited as such). */
    WANT,
    /** Required: a sender without a certificate the truststore verifies fails the handshake. */
    NEED;

    public static ClientAuthentication parse(String value) {
        try {
            return valueOf(value.trim().toUpperCase(Locale.ROOT));
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("cmm.mllp.tls.client-auth must be none, want or need, got '" + value + "'");
        }
    }
}
