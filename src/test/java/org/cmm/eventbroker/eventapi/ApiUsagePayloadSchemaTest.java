package org.cmm.eventbroker.eventapi;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.cmm.eventbroker.testsupport.PayloadSchemaCheck;
import org.junit.jupiter.api.Test;

/**
 * The payload schema registered for the usage events (schemas/cmm.eventapi.usage.v1.json, channel apiUsage of
 * eventapi/topic-families.yaml) describes what ApiUsage publishes for a window of requests (the records it hands to
 * the producer). A field always written, left out, is refused.
 */
class ApiUsagePayloadSchemaTest {

    @Test
    void aUsageEventIsValidUnderCmmEventapiUsageV1() {
        ApiUsage usage = new ApiUsage(null);
        usage.window("lab-portal", "POST /v3/clusters/:cluster_id/topics/:topic/records", "lab.orders", 200, 3, 0, 512,
                180, 4_000_000L);
        usage.window("lab-portal", "POST /v3/clusters/:cluster_id/topics/:topic/records", "lab.orders", 400, 0, 0, 20,
                90, 1_000_000L);
        usage.window("anonymous", "GET /v3/clusters", "", 200, 0, 0, 0, 300, 500_000L);
        List<ProducerRecord<String, byte[]>> sent = usage.drain("analytics.api.usage",
                Instant.parse("2026-12-07T15:00:00Z"), Instant.parse("2026-12-07T15:01:00Z"));
        assertEquals(2, sent.size(), "one event per client, API and topic");
        PayloadSchemaCheck schema = PayloadSchemaCheck.of("cmm.eventapi.usage.v1");
        for (ProducerRecord<String, byte[]> record : sent) {
            assertEquals("analytics.api.usage", record.topic());
            assertEquals("application/json", new String(record.headers().lastHeader("content-type").value(),
                    StandardCharsets.UTF_8));
            ObjectNode event = PayloadSchemaCheck.parse(record.value());
            assertEquals(record.key(), event.get("client").asText(), "keyed by client");
            schema.valid(event);
        }
        ObjectNode lab = sent.stream().map(r -> PayloadSchemaCheck.parse(r.value()))
                .filter(e -> e.get("client").asText().equals("lab-portal")).findFirst().orElseThrow();
        assertEquals(2, lab.get("requests").asInt());
        assertEquals(1, lab.get("errors").asInt());
        schema.invalidAfter(lab, e -> e.remove("requests"), "requests is always written")
                .invalidAfter(lab, e -> e.put("to", "yesterday"), "to is a date-time");
    }
}
