package org.cmm.eventbroker.eventapi;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;
import java.util.TreeMap;

/**
 * Where a reader is in a topic: for each partition, the offset of the next record to read. Encoded as an opaque
 * base64url string ({@code v1|<topic>|<partition>:<offset>,...}) so any instance can continue a read from it, with no
 * session and no consumer group: the REST cursor's {@code position}, the SSE event's {@code id} and the WebSocket
 * frame's {@code id} are all such positions. A position that is not one (garbled, another topic) is refused with a
 * reason, never guessed.
 */
public record Position(String topic, Map<Integer, Long> nextOffsets) {

    private static final String VERSION = "v1";

    public Position {
        nextOffsets = Map.copyOf(new TreeMap<>(nextOffsets));
    }

    /** The opaque form. */
    public String encode() {
        StringBuilder s = new StringBuilder(VERSION).append('|').append(topic).append('|');
        boolean first = true;
        for (Map.Entry<Integer, Long> e : new TreeMap<>(nextOffsets).entrySet()) {
            if (!first) {
                s.append(',');
            }
            s.append(e.getKey()).append(':').append(e.getValue());
            first = false;
        }
        return Base64.getUrlEncoder().withoutPadding().encodeToString(s.toString().getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Reads a position of {@code expectedTopic}.
     *
     * @throws IllegalArgumentException with a reason fit to send back when it is not a position of that topic
     */
    public static Position decode(String encoded, String expectedTopic) {
        if (encoded == null || encoded.isBlank() || encoded.length() > 8192) {
            throw new IllegalArgumentException("the position is empty or too long");
        }
        String text;
        try {
            text = new String(Base64.getUrlDecoder().decode(encoded.trim()), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("the position is not base64url");
        }
        String[] parts = text.split("\\|", -1);
        if (parts.length != 3 || !VERSION.equals(parts[0])) {
            throw new IllegalArgumentException("the position is not one this API issued");
        }
        if (!parts[1].equals(expectedTopic)) {
            throw new IllegalArgumentException("the position belongs to another topic");
        }
        Map<Integer, Long> offsets = new TreeMap<>();
        if (!parts[2].isEmpty()) {
            for (String pair : parts[2].split(",")) {
                String[] po = pair.split(":");
                try {
                    int partition = Integer.parseInt(po[0]);
                    long offset = Long.parseLong(po[1]);
                    if (po.length != 2 || partition < 0 || offset < 0 || offsets.put(partition, offset) != null) {
                        throw new IllegalArgumentException("bad pair");
                    }
                } catch (RuntimeException e) {
                    throw new IllegalArgumentException("the position has an invalid partition offset");
                }
            }
        }
        return new Position(expectedTopic, offsets);
    }
}
