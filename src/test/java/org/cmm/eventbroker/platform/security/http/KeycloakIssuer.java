package org.cmm.eventbroker.platform.security.http;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Map;
import java.util.stream.Collectors;

import com.nimbusds.jose.util.JSONObjectUtils;
import org.cmm.eventbroker.testsupport.FreePorts;

/**
 * A real Keycloak (the keycloak-quarkus-dist the build unpacks into {@code target/keycloak} before the ITs) started
 * in its own process on 127.0.0.1 with the test realm {@code src/test/resources/keycloak/cmm-realm.json}: roles
 * ehr-publisher, device-gateway, clinician, fhir-publisher, workflow-engine, monitoring, operator,
 * subscription-reader:1001..1004 (the {@code subscriber} client may read those four Subscriptions); one confidential client per caller (client credentials, audience {@code cmm-event-broker}),
 * {@code no-audience} (valid but without that audience), {@code short-lived} (2 s tokens) and the public
 * {@code alert-console} with the users nurse.ada (clinician) and porter.bob (no role), and the public {@code hawtio}
 * (Hawtio's login) with ops.olga (operator, monitoring). In-memory database, so every
 * start is fresh. For the Kafka OAUTHBEARER matrix: the confidential clients {@code clinical-dashboard} (its service
 * account in the group {@code /clinicians}, a {@code groups} claim with full paths), {@code audit-viewer} (realm role
 * {@code kafka-auditor}) and {@code kafka-no-role}. Start-up takes ~30 s (minutes on a loaded machine): ITs take the
 * one Keycloak of their JVM with {@link #shared()} (each reused failsafe fork starts at most one), stopped when the
 * JVM exits. The client secrets and passwords are test values of that realm file and of nothing else.
 */
public final class KeycloakIssuer implements AutoCloseable {

    public static final String REALM = "cmm";
    public static final String AUDIENCE = "cmm-event-broker";

    private final int port;
    private final Process process;
    private final Path log;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private KeycloakIssuer(int port, Process process, Path log) {
        this.port = port;
        this.process = process;
        this.log = log;
    }

    private static KeycloakIssuer shared;

    /**
     * The Keycloak of this JVM, started on first use and stopped by a shutdown hook: callers must not close it. The
     * realm is the same for all, so tests that share it only use their own clients and users.
     */
    public static synchronized KeycloakIssuer shared() throws Exception {
        if (shared == null || (shared.process != null && !shared.process.isAlive())) {
            KeycloakIssuer started = start();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    started.close();
                } catch (Exception e) {
                    // the JVM is going away; the process is destroyed with it at the latest
                }
            }, "keycloak-shutdown"));
            shared = started;
        }
        return shared;
    }

    public static KeycloakIssuer start() throws Exception {
        String running = System.getProperty("cmm.test.keycloak.port", "");
        if (!running.isBlank()) {
            // a developer's Keycloak already started with this realm (kc.sh start-dev ... --import-realm): saves the
            // start-up while iterating on a test; it is neither started nor stopped here
            return new KeycloakIssuer(Integer.parseInt(running.trim()), null, null).awaitReady();
        }
        Path home = home();
        Path imports = home.resolve("data").resolve("import");
        Files.createDirectories(imports);
        Path log = Files.createTempFile("keycloak", ".log");
        int port = FreePorts.next();
        ProcessBuilder builder = new ProcessBuilder(home.resolve("bin").resolve("kc.sh").toString(), "start-dev",
                "--http-host=127.0.0.1", "--http-port=" + port, "--db=dev-mem", "--import-realm",
                "--http-management-port=" + FreePorts.next(), "--cache=local")
                .redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().put("JAVA_OPTS_KC_HEAP", "-Xms64m -Xmx384m");
        // Failsafe runs ITs in two JVMs at once: Keycloak's first start-dev of a fresh dist re-augments it in place
        // (lib/quarkus), so two starts from the same folder wait for each other until the first is ready.
        try (FileChannel lockFile = FileChannel.open(home.resolve(".cmm-test-start.lock"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE); FileLock ignored = lockFile.lock()) {
            Files.copy(Path.of("src/test/resources/keycloak/cmm-realm.json"), imports.resolve("cmm-realm.json"),
                    StandardCopyOption.REPLACE_EXISTING);
            KeycloakIssuer started = new KeycloakIssuer(port, builder.start(), log);
            try {
                return started.awaitReady();
            } catch (RuntimeException | Error e) {
                started.close();
                throw e;
            }
        }
    }

    private static Path home() throws IOException {
        Path dist = Path.of("target", "keycloak");
        try (var dirs = Files.list(dist)) {
            return dirs.filter(d -> d.getFileName().toString().startsWith("keycloak-")).findFirst()
                    .orElseThrow(() -> new IllegalStateException("no Keycloak under target/keycloak: run the build's "
                            + "pre-integration-test phase (maven-dependency-plugin keycloak-dist)"))
                    .toAbsolutePath();
        }
    }

    /** {@code http://127.0.0.1:<port>/realms/cmm}: the issuer the runtime must be given. */
    public String issuer() {
        return "http://127.0.0.1:" + port + "/realms/" + REALM;
    }

    /** The same realm reached as localhost: Keycloak (dev mode) then issues tokens with another {@code iss}. */
    public String issuerAsLocalhost() {
        return "http://localhost:" + port + "/realms/" + REALM;
    }

    public int port() {
        return port;
    }

    /** The realm's token endpoint (client credentials, as Kafka's {@code OAuthBearerLoginCallbackHandler} calls it). */
    public String tokenEndpoint() {
        return issuer() + "/protocol/openid-connect/token";
    }

    /** The realm's JWK set, as its discovery document names it. */
    public String jwksUri() {
        return issuer() + "/protocol/openid-connect/certs";
    }

    /** The test secret of one of the realm's confidential clients. */
    public static String clientSecret(String clientId) {
        return clientId + "-test-secret";
    }

    /** A client-credentials access token of one of the realm's confidential clients (secret: {@code <client>-test-secret}). */
    public String clientToken(String clientId) throws Exception {
        return token(issuer(), Map.of("grant_type", "client_credentials", "client_id", clientId,
                "client_secret", clientId + "-test-secret"));
    }

    /** As {@link #clientToken} but asked of {@code localhost}: valid signature, wrong issuer. */
    public String clientTokenWithOtherIssuer(String clientId) throws Exception {
        return token(issuerAsLocalhost(), Map.of("grant_type", "client_credentials", "client_id", clientId,
                "client_secret", clientId + "-test-secret"));
    }

    /** A password-grant token of a user of the public {@code alert-console} client. */
    public String userToken(String username, String password) throws Exception {
        return userToken("alert-console", username, password);
    }

    /** A password-grant token of a user through one of the realm's public clients ({@code alert-console}, {@code hawtio}). */
    public String userToken(String client, String username, String password) throws Exception {
        return token(issuer(), Map.of("grant_type", "password", "client_id", client, "username", username,
                "password", password, "scope", "openid"));
    }

    private String token(String issuer, Map<String, String> form) throws Exception {
        String body = form.entrySet().stream()
                .map(e -> e.getKey() + "=" + URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8))
                .collect(Collectors.joining("&"));
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(
                        URI.create(issuer + "/protocol/openid-connect/token"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(body)).timeout(Duration.ofSeconds(20)).build(),
                HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new IllegalStateException("Keycloak refused the token request: " + response.statusCode());
        }
        return JSONObjectUtils.getString(JSONObjectUtils.parse(response.body()), "access_token");
    }

    /** Waits (up to 3 minutes on a loaded machine) until the realm's discovery document is served. */
    public KeycloakIssuer awaitReady() {
        await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofSeconds(1)).until(() -> {
            if (process != null && !process.isAlive()) {
                throw new IllegalStateException("Keycloak exited: " + tail());
            }
            try {
                return http.send(HttpRequest.newBuilder(URI.create(issuer() + "/.well-known/openid-configuration"))
                        .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.discarding())
                        .statusCode() == 200;
            } catch (IOException e) {
                return false;
            }
        });
        return this;
    }

    private String tail() {
        try {
            String text = Files.readString(log);
            return text.substring(Math.max(0, text.length() - 3000));
        } catch (IOException e) {
            return "(no log)";
        }
    }

    @Override
    public void close() throws Exception {
        if (process != null) {
            process.descendants().forEach(ProcessHandle::destroy);
            process.destroy();
            if (!process.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
            }
        }
        if (log != null) {
            Files.deleteIfExists(log);
        }
    }
}
