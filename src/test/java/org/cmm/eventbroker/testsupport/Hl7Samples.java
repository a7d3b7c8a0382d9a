package org.cmm.eventbroker.testsupport;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/** Sample messages from src/test/resources/messages/hl7v2, with CR segment separators and a given MSH-10. */
public final class Hl7Samples {

    private Hl7Samples() {
    }

    public static String load(String name, String controlId) {
        try (InputStream in = Hl7Samples.class.getResourceAsStream("/messages/hl7v2/" + name)) {
            if (in == null) {
                throw new IllegalArgumentException("no sample message " + name);
            }
            String text = new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
            return text.replace("\r\n", "\n").strip().replace('\n', '\r').replace("{{CONTROL_ID}}", controlId) + "\r";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
