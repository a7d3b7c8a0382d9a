package org.cmm.eventbroker.runtime;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.JarURLConnection;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Enumeration;
import java.util.List;
import java.util.TreeSet;
import java.util.jar.JarFile;
import java.util.stream.Stream;

/**
 * The runtime's configuration, split by domain: {@code application.properties} (the platform: Camel Main, Kafka,
 * HTTP, management, security) and one {@code config/<domain>.properties} per domain (hl7, lab, fhir, ...), all on the
 * classpath, read as one set of properties. A new capability adds its own file; nothing lists it by hand.
 */
public final class ConfigurationFiles {

    /** Where the per-domain files live on the classpath. */
    public static final String FOLDER = "config/";

    private ConfigurationFiles() {
    }

    /** The property placeholder locations for Camel Main: application.properties first, then the domains by name. */
    public static String locations() {
        StringBuilder locations = new StringBuilder("classpath:application.properties");
        for (String name : domainFiles()) {
            locations.append(",classpath:").append(FOLDER).append(name);
        }
        return locations.toString();
    }

    /** The file names ({@code hl7.properties}, ...) under {@code config/} on the classpath, sorted. */
    public static List<String> domainFiles() {
        TreeSet<String> names = new TreeSet<>();
        try {
            ClassLoader loader = ConfigurationFiles.class.getClassLoader();
            Enumeration<URL> folders = loader.getResources(FOLDER);
            while (folders.hasMoreElements()) {
                URL folder = folders.nextElement();
                if ("file".equals(folder.getProtocol())) {
                    try (Stream<Path> files = Files.list(Path.of(folder.toURI()))) {
                        files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".properties"))
                                .forEach(names::add);
                    }
                } else if ("jar".equals(folder.getProtocol())) {
                    JarURLConnection connection = (JarURLConnection) folder.openConnection();
                    connection.setUseCaches(false);
                    try (JarFile jar = connection.getJarFile()) {
                        jar.stream().map(e -> e.getName())
                                .filter(n -> n.startsWith(FOLDER) && n.endsWith(".properties")
                                        && n.indexOf('/', FOLDER.length()) < 0)
                                .forEach(n -> names.add(n.substring(FOLDER.length())));
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot list the configuration files under classpath:" + FOLDER, e);
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
        return List.copyOf(names);
    }
}
