package org.cmm.eventbroker.eventapi.registry;

import java.io.IOException;
import java.net.URI;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystem;
import java.nio.file.FileSystemAlreadyExistsException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The event payload schemas, kept in one place: {@code src/main/resources/schemas/<subject>.json}, each a JSON
 * Schema whose file name is its registry subject (the record name, e.g. {@code cmm.cds.alert.v1}) and whose
 * {@code x-cmm-kamelets} lists the sink Kamelets whose topics carry it. They are registered in the schema registry at
 * start; the AsyncAPI document takes its JSON payloads from the registry by way of that list.
 */
public final class PayloadSchemas {

    /** One payload schema file. */
    public record PayloadSchema(String subject, String text, List<String> kamelets) {
    }

    private PayloadSchemas() {
    }

    /** The schema files on the class path under {@code schemas/}, by subject. */
    public static List<PayloadSchema> load() {
        URL url = PayloadSchemas.class.getClassLoader().getResource("schemas");
        if (url == null) {
            return List.of();
        }
        try {
            URI uri = url.toURI();
            if (uri.getScheme().equals("jar")) {
                FileSystem fs;
                try {
                    fs = FileSystems.newFileSystem(uri, Map.of());
                } catch (FileSystemAlreadyExistsException e) {
                    fs = FileSystems.getFileSystem(uri);
                }
                return read(fs.getPath("/schemas"));
            }
            return read(Path.of(uri));
        } catch (Exception e) {
            throw new IllegalStateException("The payload schemas under schemas/ cannot be read: " + e.getMessage(), e);
        }
    }

    private static List<PayloadSchema> read(Path dir) throws IOException {
        List<PayloadSchema> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path file : files.filter(f -> f.getFileName().toString().endsWith(".json")).sorted().toList()) {
                String text = Files.readString(file, StandardCharsets.UTF_8);
                JsonNode node = SchemaStore.JSON.readTree(text);
                List<String> kamelets = new ArrayList<>();
                node.path("x-cmm-kamelets").forEach(k -> kamelets.add(k.asText()));
                String name = file.getFileName().toString();
                out.add(new PayloadSchema(name.substring(0, name.length() - ".json".length()), text, kamelets));
            }
        }
        return out;
    }
}
