package org.cmm.eventbroker.routes;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.stream.Stream;

/**
 * The runtime's configuration files as the build sees them: {@code application.properties} (the platform) and every
 * {@code config/*.properties} (the domains), in the order the runtime reads them (runtime/ConfigurationFiles).
 */
public final class ConfigurationKeys {

    public static final Path RESOURCES = Path.of("src/main/resources");

    private ConfigurationKeys() {
    }

    /** application.properties first, then config/*.properties sorted by name. */
    public static List<Path> files() {
        List<Path> files = new ArrayList<>();
        files.add(RESOURCES.resolve("application.properties"));
        try (Stream<Path> domains = Files.list(RESOURCES.resolve("config"))) {
            domains.filter(p -> p.toString().endsWith(".properties")).sorted().forEach(files::add);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return files;
    }

    /** Every key of every file, as one set of properties. */
    public static Properties load() throws IOException {
        Properties all = new Properties();
        for (Path file : files()) {
            try (InputStream in = Files.newInputStream(file)) {
                all.load(in);
            }
        }
        return all;
    }
}
