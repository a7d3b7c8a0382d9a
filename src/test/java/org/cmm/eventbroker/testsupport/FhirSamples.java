package org.cmm.eventbroker.testsupport;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.function.Consumer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** Sample FHIR resources from src/test/resources/messages/fhir, as bytes or changed for a bad-input case. */
public final class FhirSamples {

    private static final ObjectMapper JSON = new ObjectMapper();

    private FhirSamples() {
    }

    public static byte[] load(String name) {
        try (InputStream in = FhirSamples.class.getResourceAsStream("/messages/fhir/" + name)) {
            if (in == null) {
                throw new IllegalArgumentException("no sample resource " + name);
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The sample with a change applied to its JSON tree (remove an element, set a value...), re-serialised. */
    public static byte[] changed(String name, Consumer<ObjectNode> change) {
        try {
            ObjectNode resource = (ObjectNode) JSON.readTree(load(name));
            change.accept(resource);
            return JSON.writeValueAsBytes(resource);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
