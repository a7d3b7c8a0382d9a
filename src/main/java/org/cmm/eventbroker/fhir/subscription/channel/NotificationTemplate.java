package org.cmm.eventbroker.fhir.subscription.channel;

import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A channel message template from application.properties: {@code {name}} is replaced by the value of that name
 * ({@link ChannelNotification#templateValues()}); unknown names stay as written, so a typo shows in the message
 * instead of silently vanishing. Kept this small on purpose: a template can quote only what the broker offers, which
 * keeps resource content out of mails and text messages.
 */
public final class NotificationTemplate {

    private static final Pattern PLACEHOLDER = Pattern.compile("\\{([A-Za-z]+)}");

    private final String template;

    public NotificationTemplate(String template) {
        this.template = template == null ? "" : template;
    }

    public String render(Map<String, String> values) {
        return render(values, false);
    }

    /** Renders with every value escaped for a JSON string (the template itself is JSON). */
    public String renderJson(Map<String, String> values) {
        return render(values, true);
    }

    private String render(Map<String, String> values, boolean json) {
        Matcher m = PLACEHOLDER.matcher(template);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String value = values.get(m.group(1));
            String replacement = value == null ? m.group() : json ? jsonEscape(value) : value;
            m.appendReplacement(out, Matcher.quoteReplacement(replacement));
        }
        m.appendTail(out);
        return out.toString();
    }

    static String jsonEscape(String s) {
        StringBuilder b = new StringBuilder(s.length() + 8);
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.toString();
    }
}
