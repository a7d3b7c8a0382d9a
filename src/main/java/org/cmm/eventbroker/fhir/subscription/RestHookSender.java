package org.cmm.eventbroker.fhir.subscription;

import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.URLEncoder;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;

import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.component.kafka.KafkaConstants;
import org.apache.camel.http.base.HttpOperationFailedException;
import org.apache.camel.support.DefaultExchange;
import org.cmm.eventbroker.platform.delivery.DeliveryFailedException;

/**
 * Posts a notification record to its subscriber with the camel-http component ({@code throwExceptionOnFailure}: only
 * 2xx counts as delivered; another status, a refused connection or a timeout throws) on an exchange of its own, so
 * the record's exchange stays untouched: the shared error handling retries, records and dead-letters the record as
 * it was, and the request carries no header of the record.
 *
 * <p>One http endpoint per distinct timeout (the Subscription's {@code backport-timeout} or the default), the URL
 * given per request ({@code CamelHttpUri}).
 */
public class RestHookSender {

    private RestHookRequestBuilder requestBuilder;
    private ProducerTemplate template;

    public void setRequestBuilder(RestHookRequestBuilder requestBuilder) {
        this.requestBuilder = requestBuilder;
    }

    /** Builds and sends the request for the exchange's record; throws when the endpoint did not answer 2xx. */
    public void post(Exchange record) throws Exception {
        RestHookRequest request = requestBuilder.build(record.getMessage().getBody(byte[].class),
                record.getMessage().getHeader(KafkaConstants.OFFSET, Long.class));
        CamelContext camel = record.getContext();
        Exchange post = new DefaultExchange(camel);
        request.headers().forEach(post.getMessage()::setHeader);
        post.getMessage().setHeader(Exchange.HTTP_URI, request.url());
        // camel-http's enum, not the String: Camel converts a String to it by scanning every type converter
        post.getMessage().setHeader(Exchange.HTTP_METHOD, org.apache.camel.component.http.HttpMethods.valueOf(
                request.method().toUpperCase(java.util.Locale.ROOT)));
        if (request.contentType() != null) {
            post.getMessage().setHeader(Exchange.CONTENT_TYPE, request.contentType());
        }
        post.getMessage().setBody(request.body());
        Exchange answered = template(camel).send(endpointUri(request.timeoutMs()), post);
        if (answered.getException() != null) {
            throw failure(answered.getException(), request.timeoutMs());
        }
    }

    /**
     * The failure as a reason without the endpoint URL (it may carry a token): it goes to the log and to
     * {@code Subscription.error}.
     */
    static DeliveryFailedException failure(Exception e, long timeoutMs) {
        Throwable cause = e;
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof HttpOperationFailedException
                    || t instanceof InterruptedIOException || t instanceof ConnectException
                    || t instanceof UnknownHostException) {
                cause = t;
                break;
            }
        }
        String reason;
        if (cause instanceof HttpOperationFailedException h) {
            reason = "rest-hook endpoint answered HTTP " + h.getStatusCode();
        } else if (cause instanceof InterruptedIOException) {
            reason = "rest-hook endpoint did not answer within " + timeoutMs + " ms (timeout)";
        } else if (cause instanceof ConnectException) {
            reason = "rest-hook endpoint refused the connection or could not be reached (" + cause.getClass().getSimpleName() + ")";
        } else if (cause instanceof UnknownHostException) {
            reason = "rest-hook endpoint host is unknown";
        } else {
            reason = "rest-hook request failed (" + e.getClass().getSimpleName() + ")";
        }
        return new DeliveryFailedException(reason, e);
    }

    static String endpointUri(long timeoutMs) {
        String t = URLEncoder.encode(String.valueOf(timeoutMs), StandardCharsets.UTF_8);
        return "http://subscriber-endpoint?throwExceptionOnFailure=true&okStatusCodeRange=200-299"
                + "&followRedirects=false&connectTimeout=" + t + "&connectionRequestTimeout=" + t
                + "&responseTimeout=" + t + "&soTimeout=" + t;
    }

    private ProducerTemplate template(CamelContext camel) {
        ProducerTemplate t = template;
        if (t == null) {
            synchronized (this) {
                if (template == null) {
                    template = camel.createProducerTemplate();
                }
                t = template;
            }
        }
        return t;
    }
}
