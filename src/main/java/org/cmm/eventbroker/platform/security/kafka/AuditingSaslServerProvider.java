package org.cmm.eventbroker.platform.security.kafka;

import java.nio.charset.StandardCharsets;
import java.security.Provider;
import java.security.Security;
import java.util.Map;

import javax.security.auth.callback.CallbackHandler;
import javax.security.sasl.SaslException;
import javax.security.sasl.SaslServer;
import javax.security.sasl.SaslServerFactory;

import org.apache.kafka.common.security.plain.internals.PlainSaslServer;
import org.apache.kafka.common.security.plain.internals.PlainSaslServerProvider;
import org.apache.kafka.common.security.scram.internals.ScramMechanism;
import org.apache.kafka.common.security.scram.internals.ScramSaslServer;
import org.apache.kafka.common.security.scram.internals.ScramSaslServerProvider;
import org.cmm.eventbroker.platform.security.audit.AuditEvent;

/**
 * Records failed SCRAM and PLAIN authentications on {@code security.audit.authentication}. Kafka checks these
 * passwords inside its SASL servers and offers no hook for a failure, so this JCA provider, placed before Kafka's
 * own, hands out Kafka's SASL servers wrapped: a wrapped server that fails records who tried (the user name the client
 * sent, never the password) and the mechanism, then fails exactly as Kafka's would. Successful authentications are
 * recorded by {@link CmmKafkaPrincipalBuilder}. Installed by {@link RbacAuthorizer}; the client address is not known
 * at this level (the broker logs it: "Failed authentication with /address").
 */
public final class AuditingSaslServerProvider extends Provider {

    static final String NAME = "CmmAuditingSasl";

    AuditingSaslServerProvider() {
        super(NAME, "1.0", "Kafka SCRAM and PLAIN SASL servers that record failed authentications");
        for (String mechanism : ScramMechanism.mechanismNames()) {
            put("SaslServerFactory." + mechanism, Factory.class.getName());
        }
        put("SaslServerFactory.PLAIN", Factory.class.getName());
    }

    /** Installs the provider first in the JVM's list (once). */
    static synchronized void install() {
        if (Security.getProvider(NAME) == null) {
            ScramSaslServerProvider.initialize();
            PlainSaslServerProvider.initialize();
            Security.insertProviderAt(new AuditingSaslServerProvider(), 1);
        }
    }

    /** Kafka's SASL server factories, wrapped. */
    public static final class Factory implements SaslServerFactory {

        private final SaslServerFactory scram = new ScramSaslServer.ScramSaslServerFactory();
        private final SaslServerFactory plain = new PlainSaslServer.PlainSaslServerFactory();

        @Override
        public SaslServer createSaslServer(String mechanism, String protocol, String serverName, Map<String, ?> props,
                CallbackHandler handler) throws SaslException {
            SaslServer server = "PLAIN".equals(mechanism)
                    ? plain.createSaslServer(mechanism, protocol, serverName, props, handler)
                    : scram.createSaslServer(mechanism, protocol, serverName, props, handler);
            return server == null ? null : new AuditingSaslServer(server);
        }

        @Override
        public String[] getMechanismNames(Map<String, ?> props) {
            String[] scramNames = scram.getMechanismNames(props);
            String[] all = java.util.Arrays.copyOf(scramNames, scramNames.length + 1);
            all[scramNames.length] = "PLAIN";
            return all;
        }
    }

    /** Delegates everything; a failed step is recorded with the claimed user name. */
    static final class AuditingSaslServer implements SaslServer {
        private final SaslServer delegate;
        private String claimedUser;

        AuditingSaslServer(SaslServer delegate) {
            this.delegate = delegate;
        }

        @Override
        public byte[] evaluateResponse(byte[] response) throws SaslException {
            if (claimedUser == null) {
                claimedUser = claimedUser(delegate.getMechanismName(), response);
            }
            try {
                return delegate.evaluateResponse(response);
            } catch (SaslException | RuntimeException e) {
                KafkaAudit.sink().record(AuditEvent.authentication(KafkaAudit.SOURCE, "User:" + claimedUser,
                        delegate.getMechanismName(), false, null, "invalid credentials"));
                throw e;
            }
        }

        @Override
        public String getMechanismName() {
            return delegate.getMechanismName();
        }

        @Override
        public boolean isComplete() {
            return delegate.isComplete();
        }

        @Override
        public String getAuthorizationID() {
            return delegate.getAuthorizationID();
        }

        @Override
        public byte[] unwrap(byte[] incoming, int offset, int len) throws SaslException {
            return delegate.unwrap(incoming, offset, len);
        }

        @Override
        public byte[] wrap(byte[] outgoing, int offset, int len) throws SaslException {
            return delegate.wrap(outgoing, offset, len);
        }

        @Override
        public Object getNegotiatedProperty(String propName) {
            return delegate.getNegotiatedProperty(propName);
        }

        @Override
        public void dispose() throws SaslException {
            delegate.dispose();
        }
    }

    /**
     * The user name a client sent in its first message: PLAIN {@code authzid NUL authcid NUL password} (the password
     * is not read), SCRAM {@code gs2-header,n=<name>,r=<nonce>}.
     */
    static String claimedUser(String mechanism, byte[] response) {
        String text = new String(response, StandardCharsets.UTF_8);
        if ("PLAIN".equals(mechanism)) {
            int first = text.indexOf('\0');
            int second = first < 0 ? -1 : text.indexOf('\0', first + 1);
            return second < 0 ? "" : text.substring(first + 1, second);
        }
        for (String attribute : text.split(",")) {
            if (attribute.startsWith("n=")) {
                return attribute.substring(2).replace("=2C", ",").replace("=3D", "=");
            }
        }
        return "";
    }
}
