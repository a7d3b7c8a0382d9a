package org.cmm.eventbroker.fhir.subscription.channel;

import org.apache.camel.AggregationStrategy;
import org.apache.camel.Exchange;

/**
 * Aggregation of the websocket, email and sms delivery routes' {@code enrich}: the channel message (mail, gateway
 * request, websocket frame) is built and sent on a copy of the notification record, and only the outcome comes back:
 * the failure, if any, and whether anything was sent ({@link ChannelNotification#SEND_PROPERTY}). The record itself
 * stays as it came, so the error handling dead-letters it untouched and the status writer finds its headers, and no
 * channel header (credentials, addresses) reaches the dead-letter topic.
 */
public class ChannelSendOutcome implements AggregationStrategy {

    @Override
    public Exchange aggregate(Exchange record, Exchange sent) {
        if (sent == null) {
            return record;
        }
        record.setProperty(ChannelNotification.SEND_PROPERTY, sent.getProperty(ChannelNotification.SEND_PROPERTY));
        if (sent.getException() != null) {
            record.setException(sent.getException());
        }
        return record;
    }
}
