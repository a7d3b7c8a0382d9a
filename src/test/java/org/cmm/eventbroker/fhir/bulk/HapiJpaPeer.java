package org.cmm.eventbroker.fhir.bulk;

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.cmm.eventbroker.testsupport.FreePorts;

/**
 * HAPI FHIR's JPA server (8.6.1 on in-memory H2, with its own {@code $export}; {@code src/test/hapi-jpa}) in a JVM of
 * its own: its Spring/Hibernate tree (243 jars) stays off the test's class path. Its class path is built once by a
 * Maven run on that project ({@code mvn -B -q compile dependency:build-classpath}; offline when the build itself is
 * offline, {@code -Dcmm.test.maven-offline=true}), then the server is started on a free port and waited for (it
 * prints {@code STARTED} once it answers).
 */
final class HapiJpaPeer implements AutoCloseable {

    private static final Path PROJECT = Path.of("src/test/hapi-jpa").toAbsolutePath();

    private final Process process;
    private final String baseUrl;

    private HapiJpaPeer(Process process, String baseUrl) {
        this.process = process;
        this.baseUrl = baseUrl;
    }

    /** Builds the peer's class path and starts it; fails when either does not happen within {@code startTimeout}. */
    static HapiJpaPeer start(boolean offline, long startTimeoutSeconds) throws Exception {
        List<String> build = new ArrayList<>(List.of("mvn", "-B", "-q"));
        if (offline) {
            build.add("-o");
        }
        build.addAll(List.of("compile", "dependency:build-classpath", "-Dmdep.outputFile=target/cp.txt"));
        Files.createDirectories(PROJECT.resolve("target"));
        Process maven = new ProcessBuilder(build).directory(PROJECT.toFile()).redirectErrorStream(true)
                .redirectOutput(PROJECT.resolve("target/build.log").toFile()).start();
        if (!maven.waitFor(startTimeoutSeconds, TimeUnit.SECONDS) || maven.exitValue() != 0) {
            maven.destroyForcibly();
            throw new IllegalStateException("the HAPI JPA peer did not build (" + String.join(" ", build) + " in "
                    + PROJECT + "; see target/build.log there)");
        }
        String classPath = PROJECT.resolve("target/classes") + File.pathSeparator
                + Files.readString(PROJECT.resolve("target/cp.txt")).trim();
        String java = ProcessHandle.current().info().command().orElse("java");
        Process server = new ProcessBuilder(java, "-Xmx512m", "-cp", classPath,
                "org.cmm.eventbroker.peers.HapiJpaBulkExportServer", String.valueOf(FreePorts.next()))
                .redirectErrorStream(true).start();
        // a test JVM that ends without closing the peer (killed, timed out) does not leave it running
        Runtime.getRuntime().addShutdownHook(new Thread(server::destroyForcibly, "hapi-jpa-peer-stop"));
        try {
            return new HapiJpaPeer(server, awaitStarted(server, startTimeoutSeconds));
        } catch (Exception e) {
            server.destroyForcibly();
            throw e;
        }
    }

    String baseUrl() {
        return baseUrl;
    }

    private static String awaitStarted(Process server, long timeoutSeconds) throws Exception {
        BufferedReader out = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8));
        java.util.concurrent.atomic.AtomicBoolean started = new java.util.concurrent.atomic.AtomicBoolean();
        // the server prints little (no logging provider): one that has not started in time is ended, which ends the read
        java.util.concurrent.CompletableFuture.runAsync(() -> {
            if (!started.get()) {
                server.destroyForcibly();
            }
        }, java.util.concurrent.CompletableFuture.delayedExecutor(timeoutSeconds, TimeUnit.SECONDS));
        for (String line = out.readLine(); line != null; line = out.readLine()) {
            if (line.startsWith("STARTED ")) {
                started.set(true);
                Thread drain = new Thread(() -> {
                    try {
                        out.transferTo(java.io.Writer.nullWriter());
                    } catch (Exception e) {
                        // the server stopped
                    }
                }, "hapi-jpa-output");
                drain.setDaemon(true);
                drain.start();
                return line.split(" ")[1];
            }
        }
        throw new IllegalStateException("the HAPI JPA peer did not start (exited: " + !server.isAlive() + ")");
    }

    @Override
    public void close() throws Exception {
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
    }
}
