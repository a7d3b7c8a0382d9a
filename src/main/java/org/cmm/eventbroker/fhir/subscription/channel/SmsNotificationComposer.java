package org.cmm.eventbroker.fhir.subscription.channel;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;

import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.cmm.eventbroker.platform.delivery.DeliveryRejectedException;

/**
 * Turns a notification of {@code fhir.subscription.sms} into the HTTP POST to the SMS gateway: the body template of
 * application.properties (JSON by default) with {@code {to}}, the number of the {@code tel:} endpoint, and
 * {@code {text}}, the text template, which can quote only the subscription id, the resource reference (Type/id), the
 * operation, the event time and number; never resource content, whatever {@code channel.payload} says (a text message
 * is no place for it). Credentials: basic auth when a username is set, else a token in a header when a token is set.
 * No header of the record reaches the gateway.
 */
public class SmsNotificationComposer {

    private static final Pattern NUMBER = Pattern.compile("\\+?[0-9]{3,20}");
    private static final Pattern VISUAL_SEPARATORS = Pattern.compile("[\\s.()\\-]");

    private NotificationTemplate text = new NotificationTemplate("FHIR {reference} {operation} ({subscriptionId})");
    private NotificationTemplate body = new NotificationTemplate("{\"to\":\"{to}\",\"text\":\"{text}\"}");
    private String contentType = "application/json";
    private String username = "";
    private String password = "";
    private String tokenHeader = "Authorization";
    private String token = "";

    public void setTextTemplate(String template) {
        this.text = new NotificationTemplate(template);
    }

    public void setBodyTemplate(String template) {
        this.body = new NotificationTemplate(template);
    }

    public void setContentType(String contentType) {
        this.contentType = contentType;
    }

    public void setUsername(String username) {
        this.username = username == null ? "" : username;
    }

    public void setPassword(String password) {
        this.password = password == null ? "" : password;
    }

    public void setTokenHeader(String tokenHeader) {
        this.tokenHeader = tokenHeader;
    }

    public void setToken(String token) {
        this.token = token == null ? "" : token;
    }

    /** Sets the request body and headers; {@link ChannelNotification#SEND_PROPERTY}. */
    public void compose(Exchange exchange) throws DeliveryRejectedException {
        ChannelNotification n = ChannelNotification.read(exchange, "sms");
        String to = number(n);
        exchange.setProperty(ChannelNotification.SEND_PROPERTY, n.isEvent());
        if (!n.isEvent()) {
            return;
        }
        Map<String, String> values = new LinkedHashMap<>(n.templateValues());
        values.put("to", to);
        values.put("text", text.render(n.templateValues()));
        Message message = exchange.getMessage();
        message.getHeaders().clear();
        message.setHeader(Exchange.HTTP_METHOD, org.apache.camel.component.http.HttpMethods.POST); // camel-http's enum: no conversion
        message.setHeader(Exchange.CONTENT_TYPE, contentType);
        if (!username.isBlank()) {
            String basic = Base64.getEncoder().encodeToString((username + ':' + password).getBytes(StandardCharsets.UTF_8));
            message.setHeader("Authorization", "Basic " + basic);
        } else if (!token.isBlank()) {
            message.setHeader(tokenHeader, token);
        }
        message.setBody(body.renderJson(values).getBytes(StandardCharsets.UTF_8));
    }

    static String number(ChannelNotification n) throws DeliveryRejectedException {
        String endpoint = n.endpoint();
        if (!endpoint.regionMatches(true, 0, "tel:", 0, 4)) {
            throw new DeliveryRejectedException(n.notification().subscriptionId()
                    + ": an sms channel needs a tel: endpoint, got scheme '" + EmailNotificationComposer.scheme(endpoint) + "'");
        }
        String number = endpoint.substring(4);
        int params = number.indexOf(';');
        if (params >= 0) {
            number = number.substring(0, params);
        }
        number = VISUAL_SEPARATORS.matcher(number).replaceAll("");
        if (!NUMBER.matcher(number).matches()) {
            throw new DeliveryRejectedException(n.notification().subscriptionId()
                    + ": the tel: endpoint is not a phone number");
        }
        return number;
    }
}
