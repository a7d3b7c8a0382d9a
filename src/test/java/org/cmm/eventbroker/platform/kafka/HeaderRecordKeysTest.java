package org.cmm.eventbroker.platform.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/**
 * Which topics and records the device readings' key rebuild reads: {@code device.<device-type>.<data-type>} shares its
 * prefix and its depth with the alerts ({@code device.alerts.<kind>}) and the PCD-01 de-duplication topic, and the
 * MQTT intake writes the same topics.
 */
class HeaderRecordKeysTest {

    private static HeaderRecordKeys deviceReadings() {
        HeaderRecordKeys keys = new HeaderRecordKeys();
        keys.setTopicPrefix("device");
        keys.setLevels(2);
        keys.setHeader("ce_id");
        keys.setExcludedTopics("device.http.dedup, device.dlq,device.pcd.dedup,device.dlq");
        keys.setExcludedTopicPrefixes("device.alerts.");
        keys.setRequiredHeader("device_ingest=http");
        return keys;
    }

    private static ConsumerRecord<String, byte[]> record(String... headers) {
        ConsumerRecord<String, byte[]> record = new ConsumerRecord<>("device.infusion-pump.status", 0, 0L, "k", new byte[0]);
        for (int i = 0; i < headers.length; i += 2) {
            record.headers().add(headers[i], headers[i + 1].getBytes(StandardCharsets.UTF_8));
        }
        return record;
    }

    @Test
    void onlyTheReadingTopicsAreReadNotTheAlertsTheDeadLettersOrTheDeduplicationTopics() {
        HeaderRecordKeys keys = deviceReadings();
        assertTrue(keys.covers("device.infusion-pump.status"));
        assertTrue(keys.covers("device.patient-monitor.vitals"));
        assertFalse(keys.covers("device.alerts.technical"), "alerts share the shape, not the keys");
        assertFalse(keys.covers("device.alerts.acknowledgements"));
        assertFalse(keys.covers("device.alerts.dedup"));
        assertFalse(keys.covers("device.http.dedup"));
        assertFalse(keys.covers("device.pcd.dedup"));
        assertFalse(keys.covers("device.dlq"));
        assertFalse(keys.covers("device.alerts.pcd.dedup"));
        assertFalse(keys.covers("devices.infusion-pump.status"));
    }

    @Test
    void onlyRecordsWithTheRequiredHeaderGiveTheirKey() {
        HeaderRecordKeys keys = deviceReadings();
        assertEquals("id-1", keys.keyOf(record("device_ingest", "http", "ce_id", "id-1")));
        assertNull(keys.keyOf(record("device_ingest", "mqtt", "ce_id", "id-2")), "another intake's reading");
        assertNull(keys.keyOf(record("ce_id", "id-3")), "a record without the header");
        assertNull(keys.keyOf(record("device_ingest", "http")), "a record without a key");
        keys.setRequiredHeader("");
        assertEquals("id-2", keys.keyOf(record("device_ingest", "mqtt", "ce_id", "id-2")), "unset: every record");
    }
}
