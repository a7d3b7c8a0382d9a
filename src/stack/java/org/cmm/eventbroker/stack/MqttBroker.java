package org.cmm.eventbroker.stack;

import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The Eclipse Mosquitto MQTT broker (the Debian package {@code mosquitto}) as a child process on a loopback port,
 * anonymous, without persistence. Where the binary is not installed there is no MQTT broker in the stack.
 */
public final class MqttBroker implements AutoCloseable {

    private final Path executable;
    private final String host;
    private final int port;
    private final Path workDir;
    private String extraConfig = "";
    private Process process;

    public MqttBroker(Path executable, String host, int port, Path workDir) {
        this.executable = executable;
        this.host = host;
        this.port = port;
        this.workDir = workDir;
    }

    /** The mosquitto binary on PATH (or in /usr/sbin, where Debian installs it), if any. */
    public static Optional<Path> findExecutable() {
        List<String> dirs = new ArrayList<>(List.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)));
        dirs.addAll(List.of("/usr/sbin", "/usr/local/sbin"));
        return dirs.stream().filter(d -> !d.isBlank()).map(d -> Path.of(d, "mosquitto"))
                .filter(Files::isExecutable).findFirst();
    }

    /** More mosquitto.conf lines (e.g. the benchmark's unlimited queues), before {@link #start}. */
    public MqttBroker extraConfig(String lines) {
        this.extraConfig = lines;
        return this;
    }

    public MqttBroker start(long timeoutMs) throws IOException, InterruptedException {
        Files.createDirectories(workDir);
        Path config = workDir.resolve("mosquitto.conf");
        Files.writeString(config, """
                # written by org.cmm.eventbroker.stack.LocalStack: a development broker on loopback
                listener %d %s
                allow_anonymous true
                persistence false
                """.formatted(port, host) + extraConfig);
        process = new ProcessBuilder(executable.toString(), "-c", config.toString())
                .redirectErrorStream(true)
                .redirectOutput(workDir.resolve("mosquitto.log").toFile())
                .start();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        while (!accepts()) {
            if (!process.isAlive()) {
                throw new IllegalStateException("mosquitto exited with " + process.exitValue() + " (is port " + port
                        + " taken?), see " + workDir.resolve("mosquitto.log"));
            }
            if (System.nanoTime() > deadline) {
                close();
                throw new IllegalStateException("mosquitto did not listen on " + host + ":" + port + " within "
                        + timeoutMs + " ms");
            }
            process.waitFor(50, TimeUnit.MILLISECONDS);
        }
        return this;
    }

    private boolean accepts() {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(host, port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    public String url() {
        return "tcp://" + host + ":" + port;
    }

    @Override
    public void close() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroy();
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }
    }
}
