package org.cmm.eventbroker.fhir.subscription.channel;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import jakarta.activation.DataHandler;
import jakarta.mail.util.ByteArrayDataSource;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.attachment.AttachmentMessage;
import org.cmm.eventbroker.platform.delivery.DeliveryRejectedException;

/**
 * Turns a notification of {@code fhir.subscription.email} into the mail the camel-mail SMTP producer sends to the
 * {@code mailto:} address(es) of {@code channel.endpoint}: subject and text from the templates of
 * application.properties, which can quote only the subscription id, the resource reference (Type/id), the operation,
 * the event time and number. The resource itself is attached ({@code <Type>-<id>.json}, as the MIME type of
 * {@code channel.payload}) only when the subscription asked for it (R4 {@code channel.payload} set, or backport payload
 * content {@code full-resource}). Every other header of the record is kept off the mail.
 */
public class EmailNotificationComposer {

    private static final Pattern ADDRESS = Pattern.compile("[^@\\s,;<>]+@[^@\\s,;<>]+");

    private NotificationTemplate subject = new NotificationTemplate("FHIR Subscription {subscriptionId}: {reference} {operation}");
    private NotificationTemplate body = new NotificationTemplate("{reference} was {operation} at {eventTime}.");

    public void setSubjectTemplate(String template) {
        this.subject = new NotificationTemplate(template);
    }

    public void setBodyTemplate(String template) {
        this.body = new NotificationTemplate(template);
    }

    /** Sets body, {@code To} and {@code Subject} (and the attachment); {@link ChannelNotification#SEND_PROPERTY}. */
    public void compose(Exchange exchange) throws DeliveryRejectedException {
        ChannelNotification n = ChannelNotification.read(exchange, "email");
        List<String> to = recipients(n);
        exchange.setProperty(ChannelNotification.SEND_PROPERTY, n.isEvent());
        if (!n.isEvent()) {
            return;
        }
        Map<String, String> values = n.templateValues();
        Message message = exchange.getMessage();
        message.getHeaders().clear();
        message.setHeader("To", String.join(",", to));
        message.setHeader("Subject", subject.render(values));
        message.setBody(body.render(values));
        if (n.includesResource()) {
            byte[] resource = n.notification().resource().toString().getBytes(StandardCharsets.UTF_8);
            String name = n.reference().replace('/', '-') + ".json";
            exchange.getMessage(AttachmentMessage.class).addAttachment(name,
                    new DataHandler(new ByteArrayDataSource(resource, n.payloadMimeType())));
        }
    }

    static List<String> recipients(ChannelNotification n) throws DeliveryRejectedException {
        String endpoint = n.endpoint();
        if (!endpoint.regionMatches(true, 0, "mailto:", 0, 7)) {
            throw new DeliveryRejectedException(n.notification().subscriptionId()
                    + ": an email channel needs a mailto: endpoint, got scheme '" + scheme(endpoint) + "'");
        }
        String addresses = endpoint.substring(7);
        int query = addresses.indexOf('?');
        if (query >= 0) {
            addresses = addresses.substring(0, query);
        }
        addresses = URLDecoder.decode(addresses, StandardCharsets.UTF_8);
        List<String> to = new ArrayList<>();
        for (String a : addresses.split(",")) {
            if (!a.isBlank()) {
                if (!ADDRESS.matcher(a.trim()).matches()) {
                    throw new DeliveryRejectedException(n.notification().subscriptionId()
                            + ": the mailto: endpoint holds something that is not a mail address");
                }
                to.add(a.trim());
            }
        }
        if (to.isEmpty()) {
            throw new DeliveryRejectedException(n.notification().subscriptionId() + ": the mailto: endpoint has no address");
        }
        return to;
    }

    static String scheme(String endpoint) {
        int colon = endpoint.indexOf(':');
        return colon <= 0 ? "" : endpoint.substring(0, Math.min(colon, 20));
    }
}
