package org.cmm.eventbroker.platform.security.kafka;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiFunction;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSession;

import org.apache.kafka.common.security.ssl.DefaultSslEngineFactory;
import org.cmm.eventbroker.platform.security.audit.AuditEvent;

/**
 * Kafka's own {@link DefaultSslEngineFactory} ({@code ssl.engine.factory.class}), recording every failed TLS handshake
 * on a broker listener on {@code security.audit.authentication}: a client without the required certificate, an
 * untrusted one, a plain-text client or garbage on a TLS port. Kafka reports these only in its log ("Failed
 * authentication with /address (SSL handshake failed)") and never calls the principal builder for them, so the server
 * engines are wrapped and the first {@link SSLException} of a connection's handshake is audited (principal
 * {@code ANONYMOUS}, mechanism {@code SSL}, the client's address, the JDK's reason; never key material). Successful
 * handshakes are audited by {@link CmmKafkaPrincipalBuilder}. Client engines (the broker's own connections) are not
 * wrapped.
 */
public class AuditingSslEngineFactory extends DefaultSslEngineFactory {

    @Override
    public SSLEngine createServerSslEngine(String peerHost, int peerPort) {
        return new AuditedServerEngine(super.createServerSslEngine(peerHost, peerPort), peerHost);
    }

    /** A server engine that audits the first failure of its handshake; everything else is the JDK's engine. */
    static final class AuditedServerEngine extends SSLEngine {

        private final SSLEngine engine;
        private final String peerHost;
        private final AtomicBoolean audited = new AtomicBoolean();

        AuditedServerEngine(SSLEngine engine, String peerHost) {
            super(engine.getPeerHost(), engine.getPeerPort());
            this.engine = engine;
            this.peerHost = peerHost;
        }

        private SSLException audit(SSLException e) {
            if (audited.compareAndSet(false, true)) {
                String reason = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
                KafkaAudit.sink().record(AuditEvent.authentication(KafkaAudit.SOURCE, null, "SSL", false, peerHost,
                        "TLS handshake failed: " + reason));
            }
            return e;
        }

        @Override
        public SSLEngineResult wrap(ByteBuffer[] srcs, int offset, int length, ByteBuffer dst) throws SSLException {
            try {
                return engine.wrap(srcs, offset, length, dst);
            } catch (SSLException e) {
                throw audit(e);
            }
        }

        @Override
        public SSLEngineResult unwrap(ByteBuffer src, ByteBuffer[] dsts, int offset, int length) throws SSLException {
            try {
                return engine.unwrap(src, dsts, offset, length);
            } catch (SSLException e) {
                throw audit(e);
            }
        }

        @Override
        public Runnable getDelegatedTask() {
            return engine.getDelegatedTask();
        }

        @Override
        public void closeInbound() throws SSLException {
            engine.closeInbound();
        }

        @Override
        public boolean isInboundDone() {
            return engine.isInboundDone();
        }

        @Override
        public void closeOutbound() {
            engine.closeOutbound();
        }

        @Override
        public boolean isOutboundDone() {
            return engine.isOutboundDone();
        }

        @Override
        public String[] getSupportedCipherSuites() {
            return engine.getSupportedCipherSuites();
        }

        @Override
        public String[] getEnabledCipherSuites() {
            return engine.getEnabledCipherSuites();
        }

        @Override
        public void setEnabledCipherSuites(String[] suites) {
            engine.setEnabledCipherSuites(suites);
        }

        @Override
        public String[] getSupportedProtocols() {
            return engine.getSupportedProtocols();
        }

        @Override
        public String[] getEnabledProtocols() {
            return engine.getEnabledProtocols();
        }

        @Override
        public void setEnabledProtocols(String[] protocols) {
            engine.setEnabledProtocols(protocols);
        }

        @Override
        public SSLSession getSession() {
            return engine.getSession();
        }

        @Override
        public SSLSession getHandshakeSession() {
            return engine.getHandshakeSession();
        }

        @Override
        public void beginHandshake() throws SSLException {
            try {
                engine.beginHandshake();
            } catch (SSLException e) {
                throw audit(e);
            }
        }

        @Override
        public SSLEngineResult.HandshakeStatus getHandshakeStatus() {
            return engine.getHandshakeStatus();
        }

        @Override
        public void setUseClientMode(boolean mode) {
            engine.setUseClientMode(mode);
        }

        @Override
        public boolean getUseClientMode() {
            return engine.getUseClientMode();
        }

        @Override
        public void setNeedClientAuth(boolean need) {
            engine.setNeedClientAuth(need);
        }

        @Override
        public boolean getNeedClientAuth() {
            return engine.getNeedClientAuth();
        }

        @Override
        public void setWantClientAuth(boolean want) {
            engine.setWantClientAuth(want);
        }

        @Override
        public boolean getWantClientAuth() {
            return engine.getWantClientAuth();
        }

        @Override
        public void setEnableSessionCreation(boolean flag) {
            engine.setEnableSessionCreation(flag);
        }

        @Override
        public boolean getEnableSessionCreation() {
            return engine.getEnableSessionCreation();
        }

        @Override
        public SSLParameters getSSLParameters() {
            return engine.getSSLParameters();
        }

        @Override
        public void setSSLParameters(SSLParameters params) {
            engine.setSSLParameters(params);
        }

        @Override
        public String getApplicationProtocol() {
            return engine.getApplicationProtocol();
        }

        @Override
        public String getHandshakeApplicationProtocol() {
            return engine.getHandshakeApplicationProtocol();
        }

        @Override
        public void setHandshakeApplicationProtocolSelector(BiFunction<SSLEngine, List<String>, String> selector) {
            engine.setHandshakeApplicationProtocolSelector(selector);
        }

        @Override
        public BiFunction<SSLEngine, List<String>, String> getHandshakeApplicationProtocolSelector() {
            return engine.getHandshakeApplicationProtocolSelector();
        }
    }
}
