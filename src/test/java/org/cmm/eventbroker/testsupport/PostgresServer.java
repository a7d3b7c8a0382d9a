package org.cmm.eventbroker.testsupport;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A throwaway PostgreSQL cluster (Debian's {@code postgresql} package) in a temporary folder on a free loopback port,
 * removed on close. The server refuses to run as root, and CI runs as root: then initdb and pg_ctl run as the
 * {@code postgres} user (runuser), which owns the folder. Trust authentication for the {@code postgres} user on
 * loopback only; the socket lives in the folder, not /var/run.
 */
public final class PostgresServer implements AutoCloseable {

    private final Path folder;
    private final Path bin;
    private final int port;
    private final boolean asPostgresUser;

    private PostgresServer(Path folder, Path bin, int port, boolean asPostgresUser) {
        this.folder = folder;
        this.bin = bin;
        this.port = port;
        this.asPostgresUser = asPostgresUser;
    }

    /** Starts a new cluster; fails with the install hint when PostgreSQL is not installed. */
    public static PostgresServer start() throws Exception {
        TestPeers.require("postgresql");
        Path bin;
        try (Stream<Path> versions = Files.list(Path.of("/usr/lib/postgresql"))) {
            bin = versions.map(v -> v.resolve("bin")).filter(b -> Files.isExecutable(b.resolve("initdb")))
                    .max(Comparator.comparing(Path::toString))
                    .orElseThrow(() -> new IllegalStateException("no /usr/lib/postgresql/*/bin/initdb"));
        }
        boolean root = "root".equals(System.getProperty("user.name"));
        Path folder = Files.createTempDirectory("cmm-postgres");
        if (root) {
            run(List.of("chown", "postgres:postgres", folder.toString()), false);
        }
        PostgresServer server = new PostgresServer(folder, bin, FreePorts.next(), root);
        server.run(List.of(bin.resolve("initdb").toString(), "-D", folder.resolve("data").toString(), "-U", "postgres",
                "-A", "trust", "--no-sync", "-E", "UTF8"));
        server.startServer();
        return server;
    }

    /** Starts the server again on its port and data (after {@link #stopServer()}): an outage ends. */
    public void startServer() throws IOException, InterruptedException {
        run(List.of(bin.resolve("pg_ctl").toString(), "-D", folder.resolve("data").toString(), "-w", "-t", "60",
                "-l", folder.resolve("server.log").toString(), "-o",
                "-p " + port + " -k " + folder + " -c listen_addresses=127.0.0.1 -c fsync=off", "start"));
    }

    /** Stops the server at once (connections cut, data kept): an outage begins. */
    public void stopServer() throws IOException, InterruptedException {
        run(List.of(bin.resolve("pg_ctl").toString(), "-D", folder.resolve("data").toString(), "-m", "immediate",
                "-w", "stop"));
    }

    public String jdbcUrl() {
        return "jdbc:postgresql://127.0.0.1:" + port + "/postgres";
    }

    public String user() {
        return "postgres";
    }

    public int port() {
        return port;
    }

    private void run(List<String> command) throws IOException, InterruptedException {
        List<String> full = new ArrayList<>();
        if (asPostgresUser) {
            full.addAll(List.of("runuser", "-u", "postgres", "--"));
        }
        full.addAll(command);
        run(full, true);
    }

    private static void run(List<String> command, boolean quiet) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(90, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " failed: " + out);
        }
    }

    @Override
    public void close() throws Exception {
        try {
            if (Files.exists(folder.resolve("data").resolve("postmaster.pid"))) {
                stopServer();
            }
        } finally {
            try (Stream<Path> files = Files.walk(folder)) {
                files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }
}
