package org.cmm.eventbroker.eventapi;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

/**
 * The topic families written by Java code rather than by a sink Kamelet, declared as data in
 * {@code eventapi/topic-families.yaml} (the Kamelets declare their own topics): public ones become AsyncAPI channels
 * ({@link AsyncApiDocument}), internal ones are listed with the reason they are not an event API.
 */
public final class TopicFamilies {

    /** Where the declaration lives on the class path. */
    public static final String RESOURCE = "eventapi/topic-families.yaml";

    /** One message of a family: its payload is the registered schema {@code subject} (JSON) or its content type's. */
    public record Message(String name, String contentType, String subject, String description) {
    }

    /**
     * One family. A public one has a channel id, an address and messages; an internal one has {@code internal} (the
     * reason) and no channel.
     */
    public record Family(String channel, String title, String description, String address, List<String> topics,
            Map<String, Map<String, Object>> parameters, String key, Map<String, String> headers, String writer,
            List<String> flows, List<Message> messages, String internal) {

        public boolean isInternal() {
            return internal != null && !internal.isBlank();
        }
    }

    private TopicFamilies() {
    }

    /** The declared families, in file order. */
    public static List<Family> load() {
        try (InputStream in = TopicFamilies.class.getClassLoader().getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(RESOURCE + " is not on the class path");
            }
            Map<String, Object> root = map(new Load(LoadSettings.builder().build()).loadFromInputStream(in));
            List<Family> families = new ArrayList<>();
            for (Object o : list(root.get("families"))) {
                Map<String, Object> f = map(o);
                List<Message> messages = new ArrayList<>();
                for (Object m : list(f.get("messages"))) {
                    Map<String, Object> msg = map(m);
                    messages.add(new Message(text(msg.get("name")), text(msg.get("contentType")),
                            text(msg.get("subject")), text(msg.get("description"))));
                }
                Map<String, Map<String, Object>> parameters = new LinkedHashMap<>();
                map(f.get("parameters")).forEach((k, v) -> parameters.put(k, map(v)));
                Map<String, String> headers = new LinkedHashMap<>();
                map(f.get("headers")).forEach((k, v) -> headers.put(k, text(v)));
                String address = f.containsKey("address") ? text(f.get("address")) : text(f.get("topic"));
                families.add(new Family(text(f.get("channel")), text(f.get("title")), text(f.get("description")),
                        address, list(f.get("topics")).stream().map(TopicFamilies::text).toList(), parameters,
                        text(f.get("key")), headers, text(f.get("writer")),
                        list(f.get("flows")).stream().map(TopicFamilies::text).toList(), messages,
                        text(f.get("internal"))));
            }
            return families;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The subjects the public families' JSON messages name. */
    public static List<String> subjects() {
        return load().stream().filter(f -> !f.isInternal()).flatMap(f -> f.messages().stream())
                .map(Message::subject).filter(s -> s != null && !s.isBlank()).distinct().toList();
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object o) {
        return o instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of();
    }

    private static List<Object> list(Object o) {
        return o instanceof List<?> l ? new ArrayList<>(l) : List.of();
    }

    private static String text(Object o) {
        return o == null ? null : String.valueOf(o).strip();
    }
}
