package org.cmm.eventbroker.platform.security.generation;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The production posture's TLS material and initial credentials, generated on first start under
 * {@code cmm.security.dir} (default {@code data/security}) as Elasticsearch 8 does, owner-only (folder 700, files
 * 600):
 *
 * <table>
 * <caption>Generated files</caption>
 * <tr><td>{@value #CA_KEYSTORE}</td><td>the local CA's key and certificate (PKCS12)</td></tr>
 * <tr><td>{@value #CA_PEM}</td><td>the CA certificate, PEM, for OpenSSL clients (kcat {@code ssl.ca.location})</td></tr>
 * <tr><td>{@value #SERVER_KEYSTORE}</td><td>the listeners' key and certificate chain (PKCS12), subject
 * {@code CN=cmm-event-broker}, SAN localhost, 127.0.0.1 and the configured hosts</td></tr>
 * <tr><td>{@value #TRUSTSTORE}</td><td>the CA certificate (PKCS12), for clients and for checking client certificates</td></tr>
 * <tr><td>{@value #CREDENTIALS}</td><td>the stores' passwords and the initial SCRAM credentials: {@code admin}
 * (super user, printed once on the console when generated) and {@code cmm-runtime} (the runtime's own clients)</td></tr>
 * </table>
 *
 * An existing folder is reused as it is; nothing is regenerated over it.
 */
public record SecurityMaterial(Path dir, Path keystore, String keystorePassword, Path truststore,
        String truststorePassword, Path caPem, String adminUser, String adminPassword, String runtimeUser,
        String runtimePassword, boolean generated) {

    public static final String CA_KEYSTORE = "ca.p12";
    public static final String CA_PEM = "ca.crt";
    public static final String SERVER_KEYSTORE = "server.p12";
    public static final String TRUSTSTORE = "truststore.p12";
    public static final String CREDENTIALS = "credentials.properties";
    /** The server certificate's subject; the broker's own principal (after {@code ssl.principal.mapping.rules}). */
    public static final String SERVER_COMMON_NAME = "cmm-event-broker";
    public static final String ADMIN_USER = "admin";
    public static final String RUNTIME_USER = "cmm-runtime";

    private static final Duration CA_VALIDITY = Duration.ofDays(3 * 365);
    private static final Duration CERT_VALIDITY = Duration.ofDays(365);
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Logger LOG = LoggerFactory.getLogger(SecurityMaterial.class);

    /** Reads the material in {@code dir}, generating it first when the folder holds none. */
    public static SecurityMaterial ensure(Path dir, Collection<String> hosts) throws IOException, GeneralSecurityException {
        Path credentials = dir.resolve(CREDENTIALS);
        if (Files.exists(credentials)) {
            return read(dir, false);
        }
        createPrivateDirectory(dir);
        Properties secrets = new Properties();
        secrets.setProperty("ca.password", newPassword());
        secrets.setProperty("keystore.password", newPassword());
        secrets.setProperty("truststore.password", newPassword());
        secrets.setProperty("admin.user", ADMIN_USER);
        secrets.setProperty("admin.password", newPassword());
        secrets.setProperty("runtime.user", RUNTIME_USER);
        secrets.setProperty("runtime.password", newPassword());

        LocalCertificateAuthority ca = LocalCertificateAuthority.create("CMM Event Broker local CA", CA_VALIDITY);
        ca.save(privateFile(dir.resolve(CA_KEYSTORE)), secrets.getProperty("ca.password").toCharArray());
        Files.writeString(privateFile(dir.resolve(CA_PEM)), ca.certificatePem(), StandardCharsets.US_ASCII);
        Set<String> names = new LinkedHashSet<>(List.of("localhost", "127.0.0.1"));
        names.addAll(hosts);
        char[] keystorePassword = secrets.getProperty("keystore.password").toCharArray();
        LocalCertificateAuthority.write(ca.issue("server", "CN=" + SERVER_COMMON_NAME, names, true, CERT_VALIDITY,
                keystorePassword), privateFile(dir.resolve(SERVER_KEYSTORE)), keystorePassword);
        char[] truststorePassword = secrets.getProperty("truststore.password").toCharArray();
        LocalCertificateAuthority.write(ca.truststore(), privateFile(dir.resolve(TRUSTSTORE)), truststorePassword);
        try (OutputStream out = Files.newOutputStream(privateFile(credentials))) {
            secrets.store(out, "Generated on first start: passwords of the stores in this folder and the initial "
                    + "SCRAM credentials. Owner-only; keep it secret.");
        }
        LOG.info("Generated a local CA, the server certificate for {} and a truststore in {}", names, dir);
        return read(dir, true);
    }

    private static SecurityMaterial read(Path dir, boolean generated) throws IOException {
        Properties secrets = new Properties();
        try (InputStream in = Files.newInputStream(dir.resolve(CREDENTIALS))) {
            secrets.load(in);
        }
        return new SecurityMaterial(dir, dir.resolve(SERVER_KEYSTORE), secrets.getProperty("keystore.password"),
                dir.resolve(TRUSTSTORE), secrets.getProperty("truststore.password"), dir.resolve(CA_PEM),
                secrets.getProperty("admin.user", ADMIN_USER), secrets.getProperty("admin.password"),
                secrets.getProperty("runtime.user", RUNTIME_USER), secrets.getProperty("runtime.password"), generated);
    }

    /**
     * Issues a client certificate signed by the local CA (for mTLS clients: a device gateway, a lab system) into a
     * new PKCS12 keystore at {@code target}, owner-only. Its principal is the {@code CN} after the mapping rules.
     */
    public Path issueClientCertificate(String commonName, Path target, String password)
            throws IOException, GeneralSecurityException {
        Properties secrets = new Properties();
        try (InputStream in = Files.newInputStream(dir.resolve(CREDENTIALS))) {
            secrets.load(in);
        }
        LocalCertificateAuthority ca = LocalCertificateAuthority.load(dir.resolve(CA_KEYSTORE),
                secrets.getProperty("ca.password").toCharArray());
        KeyStore store = ca.issue("client", "CN=" + commonName, List.of(), false, CERT_VALIDITY, password.toCharArray());
        LocalCertificateAuthority.write(store, privateFile(target), password.toCharArray());
        return target;
    }

    /** A random password: 24 URL-safe characters (no quoting needed in JAAS or properties). */
    public static String newPassword() {
        byte[] bytes = new byte[18];
        RANDOM.nextBytes(bytes);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes).replace('-', 'x').replace('_', 'y');
    }

    private static boolean posix() {
        return FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
    }

    private static void createPrivateDirectory(Path dir) throws IOException {
        Files.createDirectories(dir);
        if (posix()) {
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        }
    }

    /** Creates the file empty with owner-only permissions before anything is written into it. */
    private static Path privateFile(Path file) throws IOException {
        Files.deleteIfExists(file);
        if (posix()) {
            Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        } else {
            Files.createFile(file);
        }
        return file;
    }

    @Override
    public String toString() {
        // never the passwords
        return "SecurityMaterial[" + dir + ", generated=" + generated + "]";
    }
}
