package org.cmm.eventbroker.device;

import static org.cmm.eventbroker.testsupport.KafkaTopicReader.header;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.cmm.eventbroker.testsupport.HapiSender;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** IHE PCD-01 device observation reports over MLLP, sent by a real HAPI client, against a real Kafka broker. */
class DevicePcd01IT {

    private static RuntimeUnderTest env;
    private static HapiSender gateway;

    @BeforeAll
    static void start() throws Exception {
        env = RuntimeUnderTest.flows("device-pcd01-mllp-inbound").start();
        gateway = new HapiSender(env.devicePcdPort());
    }

    @AfterAll
    static void stop() throws Exception {
        if (gateway != null) {
            gateway.close();
        }
        if (env != null) {
            env.close();
        }
    }

    /** A sample with its timestamps moved to now (the samples are dated 2026-01-01T12:00:00Z). */
    private static String sampleNow(String name) throws Exception {
        String now = ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ofPattern("yyyyMMddHHmmss")) + "+0000";
        return Pcd01InspectorTest.sample(name).replace("20260101120000+0000", now);
    }

    private static ConsumerRecord<String, byte[]> only(String topic, String controlId) {
        List<ConsumerRecord<String, byte[]>> found = env.topics().readAll(topic).stream()
                .filter(r -> controlId.equals(header(r, "hl7_control_id"))).toList();
        assertEquals(1, found.size(), controlId + " once on " + topic);
        return found.get(0);
    }

    @Test
    void monitorPumpAndVentilatorReportsAreAcceptedAfterTheyAreOnTheirDeviceTopics() throws Exception {
        String monitor = sampleNow("pcd-01-patient-monitor-vitals.hl7");
        assertEquals("AA", gateway.send(gateway.parse(monitor)));
        // AA promises the write happened: the record is there on the first read
        ConsumerRecord<String, byte[]> vitals = only("device.patient-monitor.vitals", "PCD-MON-0001");
        assertEquals("PAT-7001", vitals.key(), "a bound device's reports are keyed by the patient");
        assertEquals("080019FFFE3B1A01", header(vitals, "device_id"));
        assertEquals("pcd-01", header(vitals, "device_ingest"));
        assertEquals("device.patient-monitor.vitals", header(vitals, "ce_type"));
        assertEquals("/devices/patient-monitor/080019FFFE3B1A01", header(vitals, "ce_source"));
        assertTrue(new String(vitals.value(), StandardCharsets.UTF_8).contains("MDC_PULS_OXIM_SAT_O2"), "the HL7 message is the body");

        assertEquals("AA", gateway.send(gateway.parse(sampleNow("pcd-01-infusion-pump-status.hl7"))));
        assertEquals("00A0B1FFFE5C2D02", only("device.infusion-pump.status", "PCD-PUMP-0001").key(),
                "an unbound device's reports are keyed by the device");
        assertEquals("AA", gateway.send(gateway.parse(sampleNow("pcd-01-ventilator-settings.hl7"))));
        assertEquals("PAT-7003", only("device.ventilator.settings", "PCD-VENT-0001").key());
    }

    @Test
    void impossibleValuesAndUnknownDeviceTypesAreAnsweredArAndDeadLetteredOnDeviceDlq() throws Exception {
        assertEquals("AR", gateway.send(gateway.parse(sampleNow("pcd-01-impossible-spo2.hl7"))));
        assertEquals("AR", gateway.send(gateway.parse(sampleNow("pcd-01-unknown-device-type.hl7"))));
        List<ConsumerRecord<String, byte[]>> dead = env.topics().readAll("device.dlq");
        ConsumerRecord<String, byte[]> spo2 = dead.stream().filter(r -> "PCD-BAD-SPO2".equals(header(r, "hl7_control_id")))
                .findFirst().orElseThrow();
        assertTrue(header(spo2, "dlq_reason").contains("outside the plausible range 0..100"), header(spo2, "dlq_reason"));
        assertEquals("device-pcd01-mllp-inbound", header(spo2, "dlq_source"));
        ConsumerRecord<String, byte[]> unknown = dead.stream()
                .filter(r -> "PCD-BAD-TYPE".equals(header(r, "hl7_control_id"))).findFirst().orElseThrow();
        assertTrue(header(unknown, "dlq_reason").startsWith("unknown device type"), header(unknown, "dlq_reason"));
    }

    @Test
    void aResentReportIsAcknowledgedAgainButPublishedOnce() throws Exception {
        String report = sampleNow("pcd-01-ventilator-settings.hl7").replace("PCD-VENT-0001", "PCD-VENT-RESENT");
        assertEquals("AA", gateway.send(gateway.parse(report)));
        // the gateway did not get (or lost) the ACK and sends the same message again
        assertEquals("AA", gateway.send(gateway.parse(report)));
        only("device.ventilator.settings", "PCD-VENT-RESENT");
    }
}
