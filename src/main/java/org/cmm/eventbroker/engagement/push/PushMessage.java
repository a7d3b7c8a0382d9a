package org.cmm.eventbroker.engagement.push;

import java.nio.charset.StandardCharsets;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * What a device is shown: a title, a text and a deep link into the app, from the type's template. Nothing from the
 * clinical record: no name, no value, no test or drug; the app fetches the details after the user signed in.
 */
public record PushMessage(String notificationId, String type, String title, String body, String url) {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** The Web Push payload (what the service worker receives) and the FCM data. */
    public byte[] json() {
        ObjectNode n = JSON.createObjectNode();
        n.put("notificationId", notificationId);
        n.put("type", type);
        n.put("title", title);
        n.put("body", body);
        n.put("url", url);
        return n.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** The APNs payload: an alert and the deep link beside it. */
    public String apnsJson() {
        ObjectNode n = JSON.createObjectNode();
        ObjectNode aps = n.putObject("aps");
        ObjectNode alert = aps.putObject("alert");
        alert.put("title", title);
        alert.put("body", body);
        aps.put("sound", "default");
        n.put("url", url);
        n.put("notificationId", notificationId);
        n.put("type", type);
        return n.toString();
    }
}
