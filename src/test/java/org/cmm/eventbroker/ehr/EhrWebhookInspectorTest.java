package org.cmm.eventbroker.ehr;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Set;

import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.Test;

class EhrWebhookInspectorTest {

    private final EhrWebhookInspector inspector = new EhrWebhookInspector();
    private final DefaultCamelContext context = new DefaultCamelContext();

    private Exchange request(String path, String contentType, String body, String... headers) {
        Exchange exchange = new DefaultExchange(context);
        exchange.getMessage().setHeader(Exchange.HTTP_PATH, path);
        if (contentType != null) {
            exchange.getMessage().setHeader("Content-Type", contentType);
        }
        for (int i = 0; i < headers.length; i += 2) {
            exchange.getMessage().setHeader(headers[i], headers[i + 1]);
        }
        exchange.getMessage().setBody(body.getBytes(StandardCharsets.UTF_8));
        return exchange;
    }

    private Exchange inspect(String path, String contentType, String body, String... headers) throws Exception {
        Exchange exchange = request(path, contentType, body, headers);
        inspector.process(exchange);
        return exchange;
    }

    private EhrRequestRejectedException rejected(String path, String contentType, String body) {
        return assertThrows(EhrRequestRejectedException.class, () -> inspect(path, contentType, body));
    }

    @Test
    void onlyTheEventHeadersAreLeftAndTheBodyIsTheBytesReceived() throws Exception {
        String body = "{\"id\":\"p-1\",\"name\":\"Zoë\"}";
        Exchange e = inspect("/ehr/Epic/Patient/updated", "application/json", body, "Authorization", "Bearer x",
                "Cookie", "c=1", "Host", "h", "kafka.KEY", "forged", "ce_id", "forged", "Idempotency-Key", "k1");
        Set<String> names = e.getMessage().getHeaders().keySet();
        assertEquals(Set.of("ehr_vendor", "ehr_resource_type", "ehr_operation", "content-type", "ce_specversion",
                "ce_id", "ce_source", "ce_time", "ce_subject", "CamelHttpPath", "CamelEhrDeduplicationKey"), names);
        assertEquals("epic", e.getMessage().getHeader("ehr_vendor"));
        assertEquals("p-1", e.getMessage().getHeader("ce_subject"));
        assertNotEquals("forged", e.getMessage().getHeader("ce_id"));
        assertArrayEquals(body.getBytes(StandardCharsets.UTF_8), e.getMessage().getBody(byte[].class));
    }

    @Test
    void theEventIdIsTheSameForAResendAndTheKeyDependsOnTheIdempotencyKeyOrElseTheBody() throws Exception {
        String a = (String) inspect("/ehr/epic/Patient/updated", "application/json", "{\"a\":1}", "Idempotency-Key", "k")
                .getMessage().getHeader("ce_id");
        String sameKeyOtherBody = (String) inspect("/ehr/epic/Patient/updated", "application/json", "{\"a\":2}",
                "Idempotency-Key", "k").getMessage().getHeader("ce_id");
        String otherVendor = (String) inspect("/ehr/cerner/Patient/updated", "application/json", "{\"a\":1}",
                "Idempotency-Key", "k").getMessage().getHeader("ce_id");
        String noKey1 = (String) inspect("/ehr/epic/Patient/updated", "application/json", "{\"a\":1}").getMessage().getHeader("ce_id");
        String noKey2 = (String) inspect("/ehr/epic/Patient/updated", "application/json", "{\"a\":1}", "X-Request-Id", " ")
                .getMessage().getHeader("ce_id");
        String noKeyOtherPath = (String) inspect("/ehr/epic/Patient/created", "application/json", "{\"a\":1}")
                .getMessage().getHeader("ce_id");
        assertEquals(a, sameKeyOtherBody);
        assertNotEquals(a, otherVendor);
        assertEquals(noKey1, noKey2);
        assertNotEquals(noKey1, noKeyOtherPath);
    }

    @Test
    void jsonAndXmlMediaTypesAreRecognisedWithParametersAndSuffixes() {
        assertEquals("application/json", EhrWebhookInspector.mediaType("Application/JSON; charset=UTF-8"));
        assertEquals("application/fhir+json", EhrWebhookInspector.mediaType("application/fhir+json"));
        assertEquals("text/xml", EhrWebhookInspector.mediaType("text/xml;charset=iso-8859-1"));
        assertEquals("application/fhir+xml", EhrWebhookInspector.mediaType("application/fhir+xml"));
        assertNull(EhrWebhookInspector.mediaType("text/plain"));
        assertNull(EhrWebhookInspector.mediaType("multipart/form-data; boundary=x"));
        assertNull(EhrWebhookInspector.mediaType("text/json+xml-ish"));
        assertNull(EhrWebhookInspector.mediaType(null));
    }

    @Test
    void theXmlResourceIdIsTheRootsIdChildAsFhirOrAsText() throws Exception {
        assertEquals("o-1", inspect("/ehr/a/Observation/created", "application/fhir+xml",
                "<Observation xmlns=\"http://hl7.org/fhir\"><id value=\"o-1\"/><code><id value=\"nested\"/></code></Observation>")
                .getMessage().getHeader("ce_subject"));
        assertEquals("42", inspect("/ehr/a/Order/created", "application/xml", "<order><id> 42 </id></order>")
                .getMessage().getHeader("ce_subject"));
        assertNull(inspect("/ehr/a/Order/created", "application/xml", "<order><item><id>7</id></item></order>")
                .getMessage().getHeader("ce_subject"));
    }

    @Test
    void aJsonIdThatIsNotAScalarIsNoKey() throws Exception {
        assertNull(inspect("/ehr/a/b/c", "application/json", "{\"id\":{\"x\":1}}").getMessage().getHeader("ce_subject"));
        assertEquals("12", inspect("/ehr/a/b/c", "application/json", "{\"id\":12}").getMessage().getHeader("ce_subject"));
    }

    @Test
    void eachBadRequestGetsItsStatusAndAReasonThatQuotesNoContent() {
        assertEquals(400, rejected("/ehr/a.b/c/d", "application/json", "{}").getStatus());
        assertEquals(400, rejected("/ehr/a/" + "c".repeat(65) + "/d", "application/json", "{}").getStatus());
        assertEquals(415, rejected("/ehr/a/b/c", "text/plain", "{}").getStatus());
        assertEquals(400, rejected("/ehr/a/b/c", "application/json", "").getStatus());
        EhrRequestRejectedException json = rejected("/ehr/a/b/c", "application/json", "{\"name\": SECRETNAME}");
        assertEquals(400, json.getStatus());
        assertFalse(json.getMessage().contains("SECRETNAME"), json.getMessage());
        EhrRequestRejectedException xml = rejected("/ehr/a/b/c", "application/xml", "<a><SECRETNAME></a>");
        assertFalse(xml.getMessage().contains("SECRETNAME"), xml.getMessage());
        assertTrue(rejected("/ehr/a/b/c", "application/xml",
                "<!DOCTYPE a [<!ENTITY e SYSTEM \"file:///etc/hostname\">]><a>&e;</a>").getMessage().contains("DOCTYPE"));
        inspector.setMaxBodyBytes(4);
        assertEquals(413, rejected("/ehr/a/b/c", "application/json", "{\"a\":1}").getStatus());
    }

    @Test
    void anOversizeBodyIsCutToTheLimitForTheDeadLetterAndMarked() {
        inspector.setMaxBodyBytes(4);
        Exchange e = request("/ehr/a/b/c", "application/json", "{\"a\":12345}");
        assertThrows(EhrRequestRejectedException.class, () -> inspector.process(e));
        assertEquals("{\"a\"", new String(e.getMessage().getBody(byte[].class), StandardCharsets.UTF_8));
        assertEquals("true", e.getMessage().getHeader(EhrHeaders.DLQ_TRUNCATED));
        assertEquals("11", e.getMessage().getHeader(EhrHeaders.DLQ_ORIGINAL_BYTES));
    }

    @Test
    void theRejectionAnswerIsValidJson() throws Exception {
        EhrRequestRejectedException e = new EhrRequestRejectedException(400, "a \"quoted\" \\ reason\n");
        assertEquals(400, new com.fasterxml.jackson.databind.ObjectMapper().readTree(e.getJson()).path("status").asInt());
        assertThrows(IllegalArgumentException.class, () -> new EhrRequestRejectedException(503, "not a rejection"));
    }
}
