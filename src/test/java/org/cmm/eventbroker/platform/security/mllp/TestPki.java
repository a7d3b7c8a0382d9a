package org.cmm.eventbroker.platform.security.mllp;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLContext;

import org.cmm.eventbroker.platform.security.TlsMaterial;

/**
 * A throw-away certificate authority for tests, made with the JDK's {@code keytool} (as an operator would): a CA, a
 * truststore holding it, and PKCS12 keystores of leaf certificates it signed (server and client use). Short-lived, EC
 * keys (fast to generate). Until the first-start generator is merged this is how TLS tests get their material.
 */
public final class TestPki {

    public static final String PASSWORD = "test-only-password";

    private final Path dir;
    private final Path caStore;
    private final Path caPem;
    private final Path truststore;

    private TestPki(Path dir) {
        this.dir = dir;
        this.caStore = dir.resolve("ca.p12");
        this.caPem = dir.resolve("ca.pem");
        this.truststore = dir.resolve("truststore.p12");
    }

    /** A new CA under {@code dir} (its own sub-folder per name) and a truststore that trusts it. */
    public static TestPki create(Path dir, String name) throws Exception {
        Path folder = Files.createDirectories(dir.resolve(name));
        TestPki pki = new TestPki(folder);
        pki.keytool("-genkeypair", "-alias", "ca", "-keyalg", "EC", "-groupname", "secp256r1", "-dname",
                "CN=" + name + " Test CA,O=CMM Tests", "-ext", "bc:c", "-validity", "2", "-keystore", pki.caStore.toString());
        pki.keytool("-exportcert", "-rfc", "-alias", "ca", "-keystore", pki.caStore.toString(), "-file", pki.caPem.toString());
        pki.keytool("-importcert", "-noprompt", "-alias", "ca", "-file", pki.caPem.toString(), "-keystore",
                pki.truststore.toString());
        return pki;
    }

    public Path truststore() {
        return truststore;
    }

    /**
     * A PKCS12 keystore with a key and its chain (leaf, CA) for {@code subject}, valid for server and client use.
     *
     * @param san e.g. {@code ip:127.0.0.1,dns:localhost}; null for none
     */
    public Path issue(String name, String subject, String san) throws Exception {
        Path store = dir.resolve(name + ".p12");
        Path csr = dir.resolve(name + ".csr");
        Path pem = dir.resolve(name + ".pem");
        keytool("-genkeypair", "-alias", name, "-keyalg", "EC", "-groupname", "secp256r1", "-dname", subject,
                "-validity", "2", "-keystore", store.toString());
        keytool("-certreq", "-alias", name, "-keystore", store.toString(), "-file", csr.toString());
        List<String> gencert = new ArrayList<>(List.of("-gencert", "-rfc", "-alias", "ca", "-keystore",
                caStore.toString(), "-infile", csr.toString(), "-outfile", pem.toString(), "-validity", "2",
                "-ext", "eku=serverAuth,clientAuth"));
        if (san != null) {
            gencert.addAll(List.of("-ext", "san=" + san));
        }
        keytool(gencert.toArray(String[]::new));
        keytool("-importcert", "-noprompt", "-alias", "ca", "-file", caPem.toString(), "-keystore", store.toString());
        keytool("-importcert", "-alias", name, "-file", pem.toString(), "-keystore", store.toString());
        return store;
    }

    /** The material as the runtime would read it from cmm.security.tls.*. */
    public TlsMaterial material(Path keystore) {
        return new TlsMaterial(keystore, PASSWORD, truststore, PASSWORD);
    }

    /** A client context presenting {@code keystore} (may be null) and trusting this CA. */
    public SSLContext clientContext(Path keystore) {
        return new TlsMaterial(keystore, PASSWORD, truststore, PASSWORD).clientContext();
    }

    private void keytool(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
        command.addAll(List.of(args));
        command.addAll(List.of("-storetype", "PKCS12", "-storepass", PASSWORD));
        if (List.of(args).contains("-genkeypair") || List.of(args).contains("-certreq")) {
            command.addAll(List.of("-keypass", PASSWORD));
        }
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        byte[] output = process.getInputStream().readAllBytes();
        if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
            throw new IllegalStateException("keytool " + args[0] + " failed: " + new String(output, StandardCharsets.UTF_8));
        }
    }
}
