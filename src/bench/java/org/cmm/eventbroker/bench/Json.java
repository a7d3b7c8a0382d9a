package org.cmm.eventbroker.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

/** Writes the benchmark report with Jackson (already on the classpath through camel-kafka). */
final class Json {

    private Json() {
    }

    static String write(Object value) throws Exception {
        return new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(value);
    }
}
