package org.cmm.eventbroker.engagement.push;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The text each notification type shows, from configuration ({@code cmm.engagement.push.template.<type>} =
 * {@code title | body | deep link}). The minimum necessary: a template names the kind of news and where to read it in
 * the app, never what it is; the record's own fields are not put in.
 */
public final class PushTemplates {

    private final Map<String, String[]> templates = new HashMap<>();

    /** @param template {@code title | body | deep link} */
    public void put(String type, String template) {
        String[] parts = template.split("\\|");
        if (parts.length != 3 || parts[0].isBlank() || parts[2].isBlank()) {
            throw new IllegalArgumentException("push template of " + type + " must be 'title | body | deep link'");
        }
        templates.put(type, new String[] {parts[0].trim(), parts[1].trim(), parts[2].trim()});
    }

    public Optional<PushMessage> message(String type, String notificationId) {
        String[] t = templates.get(type);
        if (t == null) {
            return Optional.empty();
        }
        String url = t[2] + (t[2].contains("?") ? "&" : "?") + "notification=" + notificationId;
        return Optional.of(new PushMessage(notificationId, type, t[0], t[1], url));
    }
}
