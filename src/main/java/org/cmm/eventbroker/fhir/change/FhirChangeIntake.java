package org.cmm.eventbroker.fhir.change;

import java.util.List;

import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;
import org.hl7.fhir.r4.model.OperationOutcome.IssueType;

/**
 * The HTTP intake of FHIR changes ({@code POST /fhir/changes}, routes/fhir/fhir-change-intake.camel.yaml): reads the
 * request (a resource or a change Bundle, {@link FhirChangeReader}) into the list of {@link FhirChange}s the route
 * publishes one by one, and makes each of them a record ({@link #describe}). The request body stays as received, so
 * a rejected one goes untouched to the dead-letter topic.
 *
 * <p>The operation of a single resource can be named by the header or query parameter {@code operation}
 * ({@code create}, {@code update}, {@code delete}); without it the version decides (1 is a create).
 */
public class FhirChangeIntake implements Processor {

    /** Exchange property holding the request's changes. */
    public static final String CHANGES = "fhirChanges";

    private final FhirChangeReader reader = new FhirChangeReader();
    private long maxBodyBytes = 16L * 1024 * 1024;
    private String topicPrefix = "fhir";
    private String source = "cmm-event-broker/fhir-changes";

    public void setMaxBodyBytes(long maxBodyBytes) {
        this.maxBodyBytes = maxBodyBytes;
    }

    public void setTopicPrefix(String topicPrefix) {
        this.topicPrefix = topicPrefix;
    }

    public void setSource(String source) {
        this.source = source;
    }

    @Override
    public void process(Exchange exchange) throws FhirChangeRejectedException {
        Message in = exchange.getMessage();
        String named = in.getHeader("operation", String.class);
        byte[] body = in.getBody(byte[].class);
        in.setBody(body == null ? new byte[0] : body);
        body = in.getBody(byte[].class);
        for (String name : List.copyOf(in.getHeaders().keySet())) {
            if (!name.startsWith("Camel")) {
                in.removeHeader(name);
            }
        }
        FhirOperation operation = FhirOperation.named(named);
        if (named != null && !named.isBlank() && operation == null) {
            throw new FhirChangeRejectedException("operation must be create, update or delete");
        }
        if (body.length > maxBodyBytes) {
            throw new FhirChangeRejectedException(413, IssueType.TOOLONG, "body of " + body.length
                    + " bytes is larger than the limit of " + maxBodyBytes + " bytes");
        }
        exchange.setProperty(CHANGES, reader.read(body, operation));
    }

    /** Makes the exchange the record of the change in its body. */
    public void describe(Exchange exchange) throws org.apache.camel.InvalidPayloadException {
        exchange.getMessage().getMandatoryBody(FhirChange.class).applyTo(exchange.getMessage(), source, topicPrefix);
    }

    /** The 200 answer: the event ids of the request's changes. */
    @SuppressWarnings("unchecked")
    public String answer(Exchange exchange) {
        List<FhirChange> changes = exchange.getProperty(CHANGES, List.class);
        var node = FhirChangeReader.JSON.createObjectNode();
        var events = node.putArray("events");
        for (FhirChange change : changes) {
            events.addObject().put("eventId", change.eventId()).put("topic", change.topic(topicPrefix));
        }
        return node.toString();
    }
}
