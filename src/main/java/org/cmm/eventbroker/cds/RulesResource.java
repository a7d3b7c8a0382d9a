package org.cmm.eventbroker.cds;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;

/** Reads a YAML file named {@code classpath:...}, {@code file:...} or a plain path (relative to the working folder). */
final class RulesResource {

    private RulesResource() {
    }

    static Object loadYaml(String location, String what) {
        String text;
        try {
            text = read(location);
        } catch (IOException e) {
            throw new InvalidCdsRulesException(what + " " + location + " cannot be read: " + e.getMessage());
        }
        try {
            return new Load(LoadSettings.builder().setLabel(location).build()).loadFromString(text);
        } catch (YamlEngineException e) {
            throw new InvalidCdsRulesException(what + " " + location + " is not valid YAML: " + e.getMessage());
        }
    }

    private static String read(String location) throws IOException {
        if (location == null || location.isBlank()) {
            throw new IOException("no location given");
        }
        if (location.startsWith("classpath:")) {
            String name = location.substring("classpath:".length()).replaceFirst("^/", "");
            try (InputStream in = RulesResource.class.getClassLoader().getResourceAsStream(name)) {
                if (in == null) {
                    throw new IOException("not on the classpath");
                }
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
        }
        String path = location.startsWith("file:") ? location.substring("file:".length()) : location;
        return Files.readString(Path.of(path), StandardCharsets.UTF_8);
    }
}
