package org.cmm.eventbroker.eventapi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

import org.apache.camel.impl.DefaultCamelContext;
import org.cmm.eventbroker.runtime.ConfigurationFiles;
import org.junit.jupiter.api.Test;

/**
 * The declaration of the topic families written by Java code (eventapi/topic-families.yaml) is true to the code and
 * the configuration, and the AsyncAPI document built from the runtime's configuration has each public family as a
 * channel and each internal one listed with its reason.
 */
class TopicFamiliesTest {

    private static final List<String> PUBLIC = List.of("analytics.realtime.{metric}", "security.audit.{eventType}",
            "analytics.api.usage", "notifications.push.status", "fhir.bulk.export-completions",
            "fhir.bulk.import-completions", "patient.portal.{updateType}");
    private static final List<String> INTERNAL = List.of("cds.state", "engagement.push.devices",
            "eventapi.subscriptions", "fhir.subscriptions", "fhir.bulk.export-jobs", "fhir.bulk.import-jobs",
            "engagement.portal.held", "fhir.history.cursor");

    @Test
    void everyFamilyNamesAnExistingWriterFlowsAndSchemaFilesAndJsonMessagesHaveASchema() throws Exception {
        List<TopicFamilies.Family> families = TopicFamilies.load();
        Set<String> channels = new TreeSet<>();
        for (TopicFamilies.Family f : families) {
            assertNotNull(f.writer(), f.address() + " names its writer");
            assertNotNull(Class.forName(f.writer()), f.writer());
            if (f.isInternal()) {
                assertTrue(f.messages().isEmpty(), f.address() + ": an internal family is no channel");
                continue;
            }
            assertTrue(channels.add(f.channel()), "channel ids are unique: " + f.channel());
            assertFalse(f.messages().isEmpty(), f.channel() + " has messages");
            for (String flow : f.flows()) {
                try (var files = Files.walk(Path.of("routes"))) {
                    assertTrue(files.anyMatch(p -> p.getFileName().toString().equals(flow + ".camel.yaml")),
                            f.channel() + ": flow " + flow + " exists");
                }
            }
            for (TopicFamilies.Message m : f.messages()) {
                if (m.contentType().endsWith("json") && !m.contentType().equals("application/fhir+json")) {
                    assertNotNull(m.subject(), f.channel() + "." + m.name() + ": a JSON message has a schema file");
                }
                if (m.subject() != null) {
                    assertNotNull(getClass().getClassLoader().getResource("schemas/" + m.subject() + ".json"),
                            m.subject() + " is a file of schemas/");
                }
            }
        }
    }

    @Test
    void theAsyncApiDocumentHasEveryPublicFamilyAsAChannelAndListsTheInternalOnes() throws Exception {
        DefaultCamelContext context = new DefaultCamelContext();
        context.getPropertiesComponent().setLocation(ConfigurationFiles.locations());
        AsyncApiDocument document = new AsyncApiDocument();
        document.setCamelContext(context);
        Map<String, Object> doc = document.document();
        @SuppressWarnings("unchecked")
        Map<String, Map<String, Object>> channels = (Map<String, Map<String, Object>>) doc.get("channels");
        List<String> addresses = new ArrayList<>();
        channels.values().forEach(c -> addresses.add((String) c.get("address")));
        for (String address : PUBLIC) {
            assertTrue(addresses.contains(address), address + " is a channel: " + addresses);
        }
        for (TopicFamilies.Family f : TopicFamilies.load()) {
            if (f.isInternal()) {
                continue;
            }
            Map<String, Object> channel = channels.get(f.channel());
            // the configured topics of the family match its address (a parameter is one dot-free part)
            Pattern pattern = Pattern.compile(Pattern.quote((String) channel.get("address"))
                    .replaceAll("\\{[A-Za-z]+}", "\\\\E[^.]+\\\\Q"));
            @SuppressWarnings("unchecked")
            List<String> topics = (List<String>) channel.getOrDefault("x-cmm-topics", List.of());
            assertEquals(f.topics().size(), topics.size(), f.channel() + ": every configured topic is listed");
            for (String topic : topics) {
                assertTrue(pattern.matcher(topic).matches(), f.channel() + ": " + topic + " matches " + pattern);
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> parameters = (Map<String, Object>) channel.getOrDefault("parameters", Map.of());
            assertEquals(f.parameters().keySet(), parameters.keySet(), f.channel() + " parameters");
        }
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> internal = (List<Map<String, Object>>) doc.get("x-cmm-internal-topics");
        assertEquals(INTERNAL, internal.stream().map(i -> (String) i.get("topic")).toList());
        internal.forEach(i -> assertFalse(String.valueOf(i.get("reason")).isBlank(), i.toString()));
        for (String topic : INTERNAL) {
            assertFalse(addresses.contains(topic), topic + " is internal, not a channel");
            // nor under the fixed prefix of a channel narrower than a whole domain (patient.portal.{updateType}, not
            // fhir.{resourceType}.{operation}), where a role binding on that prefix would grant it
            for (String address : addresses) {
                String prefix = address.contains("{") ? address.substring(0, address.indexOf('{')) : address + ".";
                if (prefix.chars().filter(c -> c == '.').count() >= 2) {
                    assertFalse(topic.startsWith(prefix), topic + " is internal but under the channel " + address);
                }
            }
        }
    }
}
