package org.cmm.eventbroker.engagement;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * One registered device: how to reach it and whom it belongs to. Its id is derived from the platform and the token
 * (or Web Push endpoint), so registering the same device again replaces its registration instead of adding one.
 *
 * @param token    APNs device token or FCM registration token; null for Web Push
 * @param endpoint Web Push subscription endpoint; null otherwise
 * @param p256dh   Web Push subscription public key (base64url, uncompressed P-256 point)
 * @param auth     Web Push subscription authentication secret (base64url, 16 bytes)
 */
public record DeviceRegistration(String id, PushPlatform platform, Recipient recipient, String token, String endpoint,
        String p256dh, String auth, String registeredAt) {

    private static final ObjectMapper JSON = new ObjectMapper();

    public static String idOf(PushPlatform platform, String tokenOrEndpoint) {
        return UUID.nameUUIDFromBytes((platform.wireName() + '|' + tokenOrEndpoint).getBytes(StandardCharsets.UTF_8))
                .toString();
    }

    public byte[] toJson() {
        ObjectNode n = JSON.createObjectNode();
        n.put("id", id);
        n.put("platform", platform.wireName());
        n.put("recipient", recipient.toString());
        if (token != null) {
            n.put("token", token);
        }
        if (endpoint != null) {
            n.put("endpoint", endpoint);
            n.put("p256dh", p256dh);
            n.put("auth", auth);
        }
        n.put("registeredAt", registeredAt);
        return n.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** The stored form ({@link #toJson}); null when it is not one. */
    public static DeviceRegistration fromJson(byte[] value) {
        try {
            JsonNode n = JSON.readTree(value);
            PushPlatform platform = PushPlatform.of(n.path("platform").asText()).orElse(null);
            Recipient recipient = Recipient.parse(n.path("recipient").asText(null)).orElse(null);
            if (platform == null || recipient == null || !n.hasNonNull("id")) {
                return null;
            }
            return new DeviceRegistration(n.get("id").asText(), platform, recipient, text(n, "token"),
                    text(n, "endpoint"), text(n, "p256dh"), text(n, "auth"), text(n, "registeredAt"));
        } catch (IOException e) {
            return null;
        }
    }

    private static String text(JsonNode n, String field) {
        return n.hasNonNull(field) ? n.get(field).asText() : null;
    }
}
