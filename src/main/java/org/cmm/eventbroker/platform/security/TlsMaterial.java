package org.cmm.eventbroker.platform.security;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.util.Optional;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

import org.apache.camel.CamelContext;
import org.apache.camel.spi.PropertiesComponent;

/**
 * The one place the runtime's TLS contexts come from: the PKCS12 keystore (the server's key and chain) and
 * truststore (the CAs trusted for client certificates and by the runtime's own TLS clients) of the shared contract
 * {@code cmm.security.tls.*} (config/security.properties). Listeners take {@link #serverContext()}, outbound clients
 * {@link #clientContext()}; nobody builds an {@link SSLContext} from paths of their own.
 *
 * <p>A bean of this type bound as {@value #REGISTRY_NAME} wins over the properties (the first-start generator may bind
 * the material it made). Errors name the setting and the file, never a password.
 */
public final class TlsMaterial {

    public static final String REGISTRY_NAME = "cmmTlsMaterial";
    public static final String KEYSTORE = "cmm.security.tls.keystore";
    public static final String KEYSTORE_PASSWORD = "cmm.security.tls.keystore-password";
    public static final String TRUSTSTORE = "cmm.security.tls.truststore";
    public static final String TRUSTSTORE_PASSWORD = "cmm.security.tls.truststore-password";

    private static final String PROTOCOL = "TLS";

    private final Path keystore;
    private final char[] keystorePassword;
    private final Path truststore;
    private final char[] truststorePassword;

    /**
     * @param keystore           PKCS12 with the private key and chain presented to peers; may be null for a pure client
     * @param truststore         PKCS12 with the trusted CA certificates; null: the JDK's default trust for clients, and
     *                           no client certificate can be verified by a server
     */
    public TlsMaterial(Path keystore, String keystorePassword, Path truststore, String truststorePassword) {
        this.keystore = keystore;
        this.keystorePassword = keystorePassword == null ? new char[0] : keystorePassword.toCharArray();
        this.truststore = truststore;
        this.truststorePassword = truststorePassword == null ? new char[0] : truststorePassword.toCharArray();
    }

    /** The bound {@value #REGISTRY_NAME}, or the material named by {@code cmm.security.tls.*}. */
    public static TlsMaterial of(CamelContext context) {
        TlsMaterial bound = context.getRegistry().lookupByNameAndType(REGISTRY_NAME, TlsMaterial.class);
        return bound != null ? bound : fromProperties(context.getPropertiesComponent());
    }

    /** The material named by {@code cmm.security.tls.*}; empty paths mean none. */
    public static TlsMaterial fromProperties(PropertiesComponent properties) {
        return new TlsMaterial(path(properties, KEYSTORE).orElse(null), value(properties, KEYSTORE_PASSWORD).orElse(""),
                path(properties, TRUSTSTORE).orElse(null), value(properties, TRUSTSTORE_PASSWORD).orElse(""));
    }

    public boolean hasKeystore() {
        return keystore != null;
    }

    public boolean hasTruststore() {
        return truststore != null;
    }

    /** For listeners: presents the keystore's key; verifies client certificates against the truststore if there is one. */
    public SSLContext serverContext() {
        if (keystore == null) {
            throw new IllegalStateException("TLS listeners need a server key: " + KEYSTORE + " is empty");
        }
        return context(true);
    }

    /**
     * For outbound connections: verifies the peer against the truststore (the JDK's default CAs when none is set) and
     * presents the keystore's key when the peer asks for a client certificate and a keystore is set.
     */
    public SSLContext clientContext() {
        return context(keystore != null);
    }

    /** The trust managers of the truststore (verifying client certificates on servers that ask for them). */
    public javax.net.ssl.TrustManager[] trustManagers() {
        if (truststore == null) {
            throw new IllegalStateException("verifying client certificates needs a truststore: " + TRUSTSTORE + " is empty");
        }
        try {
            TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            trust.init(load(truststore, truststorePassword, TRUSTSTORE));
            return trust.getTrustManagers();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("TLS material unusable (" + TRUSTSTORE + "): " + e.getClass().getSimpleName()
                    + ": " + e.getMessage(), e);
        }
    }

    private SSLContext context(boolean withKey) {
        try {
            KeyManagerFactory keys = null;
            if (withKey) {
                keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                keys.init(load(keystore, keystorePassword, KEYSTORE), keystorePassword);
            }
            TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            trust.init(truststore == null ? null : load(truststore, truststorePassword, TRUSTSTORE));
            SSLContext ssl = SSLContext.getInstance(PROTOCOL);
            ssl.init(keys == null ? null : keys.getKeyManagers(), trust.getTrustManagers(), null);
            return ssl;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("TLS material unusable (" + KEYSTORE + ", " + TRUSTSTORE + "): "
                    + e.getClass().getSimpleName() + ": " + e.getMessage(), e);
        }
    }

    private static KeyStore load(Path file, char[] password, String key) throws GeneralSecurityException {
        if (!Files.isReadable(file)) {
            throw new IllegalStateException(key + ": cannot read " + file.toAbsolutePath());
        }
        KeyStore store = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(file)) {
            store.load(in, password);
        } catch (IOException e) {
            // a wrong password shows up as an IOException from PKCS12: say which file, not the password
            throw new IllegalStateException(key + ": cannot open " + file.toAbsolutePath() + " as PKCS12 ("
                    + e.getMessage() + ")", e);
        }
        return store;
    }

    private static Optional<Path> path(PropertiesComponent properties, String key) {
        return value(properties, key).map(Path::of);
    }

    private static Optional<String> value(PropertiesComponent properties, String key) {
        return properties.resolveProperty(key).map(String::trim).filter(v -> !v.isEmpty());
    }
}
