package org.cmm.eventbroker.fuzz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.cmm.eventbroker.device.DeviceReadingInspector;
import org.cmm.eventbroker.ehr.EhrHeaders;
import org.cmm.eventbroker.ehr.EhrWebhookInspector;
import org.cmm.eventbroker.fhir.change.FhirChangeIntake;
import org.cmm.eventbroker.platform.http.RequestRejectedException;
import org.cmm.eventbroker.workflow.WorkflowCallbackInspector;

/**
 * Coverage-guided fuzzing (Jazzer) of the JSON/XML HTTP intakes' readers, as their routes call them: the EHR webhooks
 * ({@code /ehr/...}, JSON and XML), FHIR change events ({@code /fhir/changes}), device readings over HTTP and workflow
 * callbacks (issue 17, docs/reliability.md#fuzzing). Every request is either accepted (the route then publishes and
 * answers 2xx) or rejected with a {@link RequestRejectedException} of a 4xx status, which the HTTP error handling
 * answers with its reason and dead-letters with the exchange's body: that body must then still be the bytes received
 * (or, for a 413 of the EHR intake, their head, marked as cut). Any other exception would be a 500 and no dead letter.
 */
class HttpIntakesFuzzTest {

    private static final DefaultCamelContext CONTEXT = new DefaultCamelContext();

    /** Seeds of the JSON/XML bodies, shared with {@link HttpIntakesFuzzIT}. */
    static final String[] JSON_SEEDS = {
        "{\"resourceType\":\"Patient\",\"id\":\"p-1\",\"name\":[{\"family\":\"Zo\u00eb\"}]}",
        "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":[{\"resource\":{\"resourceType\":\"Patient\","
            + "\"id\":\"p-1\",\"meta\":{\"versionId\":\"2\"}},\"request\":{\"method\":\"PUT\",\"url\":\"Patient/p-1\"}},"
            + "{\"request\":{\"method\":\"DELETE\",\"url\":\"Observation/o-1\"}}]}",
        "{\"resourceType\":\"Observation\",\"id\":\"o-1\",\"status\":\"final\",\"code\":{\"text\":\"x\"},"
            + "\"subject\":{\"reference\":\"Patient/p-1\"}}",
        "{\"timestamp\":\"2026-06-01T11:59:59Z\",\"patientId\":\"PAT-1\",\"seq\":7,\"readings\":[{\"code\":"
            + "\"MDC_PULS_OXIM_SAT_O2\",\"value\":97,\"unit\":\"%\"},{\"code\":\"147842\",\"value\":72,\"unit\":\"/min\"}]}",
        "{\"instanceId\":\"i-1\",\"businessKey\":\"V200\",\"state\":\"started\",\"eventId\":\"e-7\"}",
        "<Patient xmlns=\"http://hl7.org/fhir\"><id value=\"p-1\"/><name><family value=\"Zo\u00eb\"/></name></Patient>",
        "<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY x \"y\">]><a id=\"1\">&x;</a>",
        "[]", "null", "{\"a\":{\"b\":{\"c\":[1e999,-0,\"\\ud800\"]}}}",
    };
    private static final String[] CONTENT_TYPES = {"application/json", "application/fhir+json", "application/xml",
        "text/xml", "application/fhir+xml", "application/json; charset=utf-8", "text/plain", "", "application/*+json",
        "multipart/form-data; boundary=x"};
    private static final String[] PATHS = {"/ehr/epic/Patient/updated", "/ehr/cerner/Observation/created",
        "/devices/patient-monitor/PM-1/vitals", "/workflow/callbacks/admission", "/fhir/changes", "/ehr//x/",
        "/devices/../../x", "/ehr/%00/Patient/updated"};

    @FuzzTest(maxDuration = "5s")
    void everyRequestIsAcceptedOrRejectedWith4xxAndItsBodyUntouched(FuzzedDataProvider data) {
        request(data);
    }

    static void request(FuzzedDataProvider data) {
        int intake = data.consumeInt(0, 3);
        Processor processor = intake(intake, data.consumeInt(0, 64 * 1024));
        String path = data.consumeBoolean() ? data.pickValue(PATHS) : data.consumeString(64);
        String contentType = data.consumeBoolean() ? data.pickValue(CONTENT_TYPES) : data.consumeString(48);
        String operation = data.consumeBoolean() ? null : data.pickValue(new String[] {"create", "update", "delete", "x", ""});
        byte[] body = body(data);

        Exchange exchange = new DefaultExchange(CONTEXT);
        exchange.getMessage().setHeader(Exchange.HTTP_PATH, path);
        exchange.getMessage().setHeader(Exchange.CONTENT_TYPE, contentType);
        exchange.getMessage().setHeader("Content-Type", contentType);
        if (operation != null) {
            exchange.getMessage().setHeader("operation", operation);
        }
        if (data.consumeBoolean()) {
            exchange.getMessage().setHeader("Idempotency-Key", data.consumeString(32));
        }
        exchange.getMessage().setBody(body.clone());
        try {
            processor.process(exchange);
        } catch (RequestRejectedException rejected) {
            assertTrue(rejected.getStatus() >= 400 && rejected.getStatus() < 500, "status " + rejected.getStatus());
            assertNotNull(rejected.getReason());
            assertNotNull(rejected.getJson());
            byte[] dead = exchange.getMessage().getBody(byte[].class);
            if ("true".equals(exchange.getMessage().getHeader(EhrHeaders.DLQ_TRUNCATED))) {
                assertArrayEquals(Arrays.copyOf(body, dead.length), dead, "the head of an oversize body");
            } else {
                assertArrayEquals(body, dead, "a rejected request's body reaches the dead letter untouched");
            }
        } catch (Exception other) {
            throw new AssertionError("intake " + intake + " let an exception escape (a 500, no dead letter): " + other,
                    other);
        }
    }

    private static byte[] body(FuzzedDataProvider data) {
        if (data.consumeBoolean()) {
            return data.consumeBytes(data.consumeInt(0, 4096));
        }
        StringBuilder text = new StringBuilder(data.pickValue(JSON_SEEDS));
        int mutations = data.consumeInt(0, 4);
        for (int i = 0; i < mutations && text.length() > 0; i++) {
            int at = data.consumeInt(0, text.length());
            switch (data.consumeInt(0, 3)) {
                case 0 -> text.setLength(at);
                case 1 -> text.insert(at, data.consumeString(16));
                case 2 -> text.delete(at, Math.min(text.length(), at + data.consumeInt(0, 16)));
                default -> text.insert(at, data.pickValue(new String[] {"{", "}", "[", "]", "\"", ",", ":", "<", ">",
                    "&", "\\u", "1e400", "null", "<!--", "]]>"}));
            }
        }
        return text.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static final EhrWebhookInspector EHR = new EhrWebhookInspector();
    private static final FhirChangeIntake FHIR = new FhirChangeIntake();
    private static final DeviceReadingInspector DEVICE = new DeviceReadingInspector();
    private static final WorkflowCallbackInspector WORKFLOW = new WorkflowCallbackInspector();

    static {
        DEVICE.setSource("http");
    }

    /** The intake's processor (one instance each, as a route has), with this run's body limit. */
    private static Processor intake(int which, int maxBodyBytes) {
        long limit = Math.max(1, maxBodyBytes);
        switch (which) {
            case 0 -> {
                EHR.setMaxBodyBytes(limit);
                return EHR;
            }
            case 1 -> {
                FHIR.setMaxBodyBytes(limit);
                return FHIR;
            }
            case 2 -> {
                DEVICE.setMaxBodyBytes(limit);
                return DEVICE;
            }
            default -> {
                WORKFLOW.setMaxBodyBytes(limit);
                return WORKFLOW;
            }
        }
    }
}
