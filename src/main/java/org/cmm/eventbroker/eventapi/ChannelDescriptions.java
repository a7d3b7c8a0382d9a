package org.cmm.eventbroker.eventapi;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Which AsyncAPI channel (topic family) describes a topic, with its messages' content types and payload schemas, as
 * the running AsyncAPI document says ({@link AsyncApiDocument}): a channel address {@code lab.results.{resultClass}}
 * matches {@code lab.results.critical}. The most specific address (most literal characters) wins. Read from the
 * document, so GraphQL shows exactly what /asyncapi.json does.
 */
final class ChannelDescriptions {

    private record Channel(Pattern pattern, int literal, Map<String, Object> description) {
    }

    private final Supplier<JsonNode> document;
    private volatile List<Channel> channels;

    ChannelDescriptions(Supplier<JsonNode> document) {
        this.document = document;
    }

    /** The channel describing the topic ({@code address, title, description, messages[{name, contentType,
     * payloadSchema}]}), or null. */
    Map<String, Object> of(String topic) {
        Channel best = null;
        for (Channel c : channels()) {
            if (c.pattern().matcher(topic).matches() && (best == null || c.literal() > best.literal())) {
                best = c;
            }
        }
        return best == null ? null : best.description();
    }

    private List<Channel> channels() {
        List<Channel> list = channels;
        if (list == null) {
            list = build(document.get());
            channels = list;
        }
        return list;
    }

    private static List<Channel> build(JsonNode doc) {
        List<Channel> list = new ArrayList<>();
        if (doc == null) {
            return list;
        }
        Iterator<JsonNode> it = doc.path("channels").elements();
        while (it.hasNext()) {
            JsonNode channel = it.next();
            String address = channel.path("address").asText("");
            if (address.isEmpty()) {
                continue;
            }
            StringBuilder regex = new StringBuilder();
            int literal = 0;
            int last = 0;
            java.util.regex.Matcher m = Pattern.compile("\\{[^}]+}").matcher(address);
            while (m.find()) {
                regex.append(Pattern.quote(address.substring(last, m.start()))).append("[^.]+");
                literal += m.start() - last;
                last = m.end();
            }
            regex.append(Pattern.quote(address.substring(last)));
            literal += address.length() - last;
            Map<String, Object> d = new LinkedHashMap<>();
            d.put("address", address);
            d.put("title", channel.path("title").asText(null));
            d.put("description", channel.path("description").asText(null));
            List<Map<String, Object>> messages = new ArrayList<>();
            channel.path("messages").elements().forEachRemaining(ref -> {
                JsonNode message = resolve(doc, ref);
                Map<String, Object> msg = new LinkedHashMap<>();
                msg.put("name", message.path("name").asText(null));
                msg.put("contentType", message.path("contentType").asText(""));
                msg.put("payloadSchema", resolve(doc, message.path("payload")));
                messages.add(msg);
            });
            d.put("messages", messages);
            list.add(new Channel(Pattern.compile(regex.toString()), literal, d));
        }
        return list;
    }

    private static JsonNode resolve(JsonNode doc, JsonNode node) {
        JsonNode current = node;
        for (int i = 0; i < 5 && current.has("$ref"); i++) {
            String ref = current.path("$ref").asText();
            current = ref.startsWith("#") ? doc.at(ref.substring(1)) : current;
        }
        return current;
    }
}
