package org.cmm.eventbroker.stack;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The local stack's warehouse database: a PostgreSQL cluster of Debian's {@code postgresql} package in the stack's data
 * folder (kept between runs), on a loopback port, trust authentication for loopback, socket in the cluster's folder.
 * The server refuses to run as root, so as root initdb and pg_ctl run as the {@code postgres} user (runuser).
 * The runtime's warehouse loader creates its schema (Flyway) in the database {@code postgres}.
 */
public final class WarehouseDatabase implements AutoCloseable {

    private final Path bin;
    private final Path folder;
    private final String host;
    private final int port;
    private final boolean asPostgresUser = "root".equals(System.getProperty("user.name"));
    private boolean started;

    public WarehouseDatabase(Path bin, Path folder, String host, int port) {
        this.bin = bin;
        this.folder = folder.toAbsolutePath();
        this.host = host;
        this.port = port;
    }

    /** The newest installed PostgreSQL's bin folder (/usr/lib/postgresql/<version>/bin), if one is installed. */
    public static Optional<Path> findInstallation() {
        Path root = Path.of("/usr/lib/postgresql");
        if (!Files.isDirectory(root)) {
            return Optional.empty();
        }
        try (Stream<Path> versions = Files.list(root)) {
            return versions.map(v -> v.resolve("bin")).filter(b -> Files.isExecutable(b.resolve("initdb")))
                    .max(Comparator.comparing(Path::toString));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    public WarehouseDatabase start() throws IOException, InterruptedException {
        Path data = folder.resolve("data");
        if (!Files.exists(data.resolve("PG_VERSION"))) {
            Files.createDirectories(folder);
            if (asPostgresUser) {
                run(List.of("chown", "postgres:postgres", folder.toString()), false);
            }
            run(List.of(bin.resolve("initdb").toString(), "-D", data.toString(), "-U", "postgres", "-A", "trust",
                    "--no-sync", "-E", "UTF8"), asPostgresUser);
        }
        try {
            run(List.of(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-w", "-t", "60", "-l",
                    folder.resolve("server.log").toString(), "-o", "-p " + port + " -k " + folder
                            + " -c listen_addresses=" + host, "start"), asPostgresUser);
        } catch (IllegalStateException e) {
            // pg_ctl only says "could not start server": the server's own log says why (a port in use, ...)
            String log = "";
            try {
                List<String> lines = Files.readAllLines(folder.resolve("server.log"));
                log = String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
            } catch (IOException | RuntimeException unreadable) {
                log = "(server.log unreadable: " + unreadable + ")";
            }
            throw new IllegalStateException(e.getMessage() + "\nserver.log:\n" + log, e);
        }
        started = true;
        return this;
    }

    public String jdbcUrl() {
        return "jdbc:postgresql://" + host + ":" + port + "/postgres";
    }

    public String user() {
        return "postgres";
    }

    private static void run(List<String> command, boolean asPostgres) throws IOException, InterruptedException {
        List<String> full = new ArrayList<>();
        if (asPostgres) {
            full.addAll(List.of("runuser", "-u", "postgres", "--"));
        }
        full.addAll(command);
        Process p = new ProcessBuilder(full).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(90, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", full) + " failed: " + out);
        }
    }

    @Override
    public void close() throws Exception {
        if (started) {
            started = false;
            run(List.of(bin.resolve("pg_ctl").toString(), "-D", folder.resolve("data").toString(), "-m", "fast",
                    "-w", "stop"), asPostgresUser);
        }
    }
}
