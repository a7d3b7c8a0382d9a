package org.cmm.eventbroker.testsupport;

import java.io.File;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The runtime ({@code EventBrokerMain}) in a JVM of its own, so a test can SIGKILL it: no shutdown hook, no close of
 * a file, a consumer or a database transaction. Its properties are system properties (as the launcher reads them);
 * the test's class path (the failsafe booter jar's manifest names every jar). Output goes to a log file.
 */
public final class ChildRuntime implements AutoCloseable {

    private final Process process;

    public ChildRuntime(Map<String, String> properties, String heap, Path log) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xmx" + heap);
        command.add("-XX:TieredStopAtLevel=1");
        properties.forEach((k, v) -> command.add("-D" + k + "=" + v));
        // the AWS SDK v2 sends checksums s3proxy does not know unless these are when_required (as the local stack sets)
        command.add("-Daws.requestChecksumCalculation=when_required");
        command.add("-Daws.responseChecksumValidation=when_required");
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add("org.cmm.eventbroker.runtime.EventBrokerMain");
        process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile())
                .directory(new File(System.getProperty("user.dir"))).start();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** SIGKILL, and wait until the process is gone. */
    public void kill() throws InterruptedException {
        process.toHandle().destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws Exception {
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(30, TimeUnit.SECONDS);
        }
    }
}
