package org.cmm.eventbroker.platform.security.http;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.util.List;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * A server key and self-signed certificate for 127.0.0.1 in a PKCS12 keystore, made with the JDK's keytool (until
 * (K)'s generator of data/security is merged), and an SSLContext of a client that trusts exactly that certificate.
 * The password is a throwaway of this test run.
 */
final class TestCertificates {

    static final String PASSWORD = "test-keystore-password";

    private final Path keystore;

    private TestCertificates(Path keystore) {
        this.keystore = keystore;
    }

    static TestCertificates create(Path folder) throws Exception {
        Path keystore = folder.resolve("server.p12");
        Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
        Process process = new ProcessBuilder(List.of(keytool.toString(), "-genkeypair", "-alias", "server",
                "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=127.0.0.1", "-ext",
                "SAN=ip:127.0.0.1,dns:localhost", "-validity", "2", "-storetype", "PKCS12", "-keystore",
                keystore.toString(), "-storepass", PASSWORD, "-keypass", PASSWORD))
                .redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0 || !Files.isRegularFile(keystore)) {
            throw new IllegalStateException("keytool failed: " + output);
        }
        return new TestCertificates(keystore);
    }

    Path keystore() {
        return keystore;
    }

    /** A client SSLContext trusting only the server certificate. */
    SSLContext clientContext() throws Exception {
        KeyStore server = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(keystore)) {
            server.load(in, PASSWORD.toCharArray());
        }
        Certificate certificate = server.getCertificate("server");
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("server", certificate);
        TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        factory.init(trust);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, factory.getTrustManagers(), null);
        return context;
    }
}
