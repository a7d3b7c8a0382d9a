package org.cmm.eventbroker.fhir.subscription;

import java.io.IOException;
import java.io.UncheckedIOException;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.camel.CamelContext;
import org.apache.camel.Message;
import org.apache.camel.support.DefaultMessage;
import org.cmm.eventbroker.fhir.FhirEventHeaders;
import org.cmm.eventbroker.fhir.FhirR4;
import org.hl7.fhir.r4.model.Subscription;

/**
 * Builds the messages the kamelet {@code fhir-subscription-notification-sink} writes to
 * {@code fhir.subscription.<channel-type>}: the notification JSON with only the documented headers (none of the
 * change event's), so a split over a list of them yields clean records.
 */
final class NotificationRecords {

    private static final ObjectMapper JSON = new ObjectMapper();

    private NotificationRecords() {
    }

    static Message message(CamelContext context, String channelType, SubscriptionNotification n, String ceId) {
        Message m = new DefaultMessage(context);
        m.setBody(n.toJson());
        m.setHeader(FhirEventHeaders.SUBSCRIPTION_ID, n.subscriptionId());
        m.setHeader(FhirEventHeaders.NOTIFICATION_TYPE, n.type());
        m.setHeader(FhirEventHeaders.CHANNEL_TYPE, channelType);
        if (ceId != null) {
            m.setHeader("ce_id", ceId);
        }
        return m;
    }

    static JsonNode json(Subscription s) {
        return json(FhirR4.context().newJsonParser().encodeResourceToString(s).getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    static JsonNode json(byte[] resource) {
        try {
            return JSON.readTree(resource);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
