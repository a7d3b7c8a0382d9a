package org.cmm.eventbroker.fhir.subscription;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.cmm.eventbroker.fhir.FhirR4;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;

/**
 * The SubscriptionTopics this broker serves to topic-based (backport) Subscriptions, from a YAML file
 * (routes/fhir/subscription-topics.yaml): canonical URL, the resource type it is about and the operations that
 * trigger it ({@code create}, {@code update}, {@code delete}). R4 has no SubscriptionTopic resource, so the list is
 * configuration; a backport Subscription naming an URL not listed is invalid.
 */
public final class SubscriptionTopics {

    /** One topic: canonical URL, resource type, triggering operations as change-event operations (created...). */
    public record Topic(String url, String resourceType, Set<String> operations) {
    }

    private static final Map<String, String> TRIGGERS = Map.of("create", "created", "update", "updated", "delete", "deleted");

    private final Map<String, Topic> topics;

    private SubscriptionTopics(Map<String, Topic> topics) {
        this.topics = topics;
    }

    public static SubscriptionTopics of(List<Topic> topics) {
        Map<String, Topic> byUrl = new ConcurrentHashMap<>();
        topics.forEach(t -> byUrl.put(t.url(), t));
        return new SubscriptionTopics(byUrl);
    }

    /**
     * Reads the file ({@code classpath:...}, {@code file:...} or a path); throws {@link IllegalArgumentException}
     * naming the file and what is wrong.
     */
    public static SubscriptionTopics load(String location) {
        Object yaml;
        try {
            yaml = new Load(LoadSettings.builder().setLabel(location).build()).loadFromString(read(location));
        } catch (IOException e) {
            throw new IllegalArgumentException("subscription topics " + location + " cannot be read: " + e.getMessage());
        } catch (YamlEngineException e) {
            throw new IllegalArgumentException("subscription topics " + location + " is not valid YAML: " + e.getMessage());
        }
        if (!(yaml instanceof Map<?, ?> root) || !(root.get("topics") instanceof List<?> list)) {
            throw new IllegalArgumentException("subscription topics " + location + ": expected a list 'topics'");
        }
        Map<String, Topic> byUrl = new ConcurrentHashMap<>();
        int n = 0;
        for (Object o : list) {
            n++;
            String where = "subscription topics " + location + ", topic " + n + ": ";
            if (!(o instanceof Map<?, ?> m) || !(m.get("url") instanceof String url) || url.isBlank()) {
                throw new IllegalArgumentException(where + "needs url");
            }
            if (!(m.get("resourceType") instanceof String type)) {
                throw new IllegalArgumentException(where + "needs resourceType");
            }
            try {
                FhirR4.context().getResourceDefinition(type);
            } catch (RuntimeException e) {
                throw new IllegalArgumentException(where + type + " is not an R4 resource type");
            }
            if (!(m.get("triggers") instanceof List<?> triggers) || triggers.isEmpty()) {
                throw new IllegalArgumentException(where + "needs triggers (create, update, delete)");
            }
            Set<String> operations = new LinkedHashSet<>();
            for (Object t : triggers) {
                String op = TRIGGERS.get(String.valueOf(t));
                if (op == null) {
                    throw new IllegalArgumentException(where + "unknown trigger '" + t + "' (create, update, delete)");
                }
                operations.add(op);
            }
            byUrl.put(url, new Topic(url, type, Set.copyOf(operations)));
        }
        return new SubscriptionTopics(byUrl);
    }

    public Optional<Topic> topic(String canonicalUrl) {
        return canonicalUrl == null ? Optional.empty() : Optional.ofNullable(topics.get(canonicalUrl));
    }

    private static String read(String location) throws IOException {
        if (location == null || location.isBlank()) {
            throw new IOException("no location given");
        }
        if (location.startsWith("classpath:")) {
            String name = location.substring("classpath:".length()).replaceFirst("^/", "");
            try (InputStream in = SubscriptionTopics.class.getClassLoader().getResourceAsStream(name)) {
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
