package org.cmm.eventbroker.eventapi;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * The OpenAPI 3.1 document of the event API's REST endpoints ({@code /v3}, {@code /streams}, {@code /portal/api}),
 * kept beside the code as {@code eventapi/openapi.json} on the classpath and served at {@code /openapi.json};
 * EventApiDocumentsTest checks that it lists every path {@link EventApiGateway} serves.
 */
public class OpenApiDocument {

    static final String RESOURCE = "eventapi/openapi.json";

    private volatile String json;

    /** The document. */
    public String json() {
        String d = json;
        if (d == null) {
            try (InputStream in = OpenApiDocument.class.getClassLoader().getResourceAsStream(RESOURCE)) {
                if (in == null) {
                    throw new IllegalStateException(RESOURCE + " is missing from the classpath");
                }
                d = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            json = d;
        }
        return d;
    }
}
