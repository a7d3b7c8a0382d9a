package org.cmm.eventbroker.eventapi;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

/**
 * The OpenAPI document lists exactly the paths the gateway and the GraphQL endpoint mount, and parameter names map
 * from header names.
 */
class EventApiDocumentsTest {

    @Test
    void theOpenApiDocumentListsEveryPathTheGatewayServes() throws Exception {
        String source = Files.readString(Path.of("src/main/java/org/cmm/eventbroker/eventapi/EventApiGateway.java"))
                + Files.readString(Path.of("src/main/java/org/cmm/eventbroker/eventapi/GraphQlEndpoint.java"));
        Matcher m = Pattern.compile("(?:HttpMethod\\.[A-Z]+,|m\\.get\\()\\s*\"(/[^\"]*)\"").matcher(source);
        Set<String> served = new TreeSet<>();
        while (m.find()) {
            served.add(m.group(1).replaceAll(":([a-z_]+)", "{$1}"));
        }
        Set<String> documented = new TreeSet<>();
        new ObjectMapper().readTree(new OpenApiDocument().json()).path("paths").fieldNames()
                .forEachRemaining(documented::add);
        assertEquals(served, documented);
    }

    @Test
    void headerNamesBecomeChannelParameterNames() {
        List<String> names = new ArrayList<>();
        for (String h : List.of("CamelHl7TopicMessageType", "lab_result_class", "device_data_type", "ehr_vendor")) {
            names.add(AsyncApiDocument.parameterName(h));
        }
        assertEquals(List.of("messageType", "resultClass", "dataType", "vendor"), names);
    }
}
