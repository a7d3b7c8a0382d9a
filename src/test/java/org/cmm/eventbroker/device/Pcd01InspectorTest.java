package org.cmm.eventbroker.device;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;

import org.cmm.eventbroker.hl7.Er7Message;
import org.cmm.eventbroker.hl7.Hl7RejectedException;
import org.junit.jupiter.api.Test;

class Pcd01InspectorTest {

    /** The samples' timestamps are 2026-01-01T12:00:00Z; the clock is set a minute later. */
    private static final Instant NOW = Instant.parse("2026-01-01T12:01:00Z");

    static String sample(String name) throws Exception {
        try (InputStream in = Pcd01InspectorTest.class.getResourceAsStream("/messages/hl7v2/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static Pcd01Inspector inspector() {
        Pcd01Inspector inspector = new Pcd01Inspector();
        inspector.useChecks(new ReadingChecks(MeasurementCatalogue.load("classpath:device/measurements.properties"),
                Duration.ofMinutes(5), Duration.ofHours(24), Clock.fixed(NOW, ZoneOffset.UTC)));
        return inspector;
    }

    @Test
    void deviceTypeComesFromTheMdsObservationDataTypeFromTheMetricsAndDeviceIdFromObx18() throws Exception {
        assertArrayEquals(new String[] {"patient-monitor", "vitals", "080019FFFE3B1A01"},
                inspector().file(Er7Message.parse(sample("pcd-01-patient-monitor-vitals.hl7"))));
        assertArrayEquals(new String[] {"infusion-pump", "status", "00A0B1FFFE5C2D02"},
                inspector().file(Er7Message.parse(sample("pcd-01-infusion-pump-status.hl7"))));
        assertArrayEquals(new String[] {"ventilator", "settings", "00C0D1FFFE6E3F03"},
                inspector().file(Er7Message.parse(sample("pcd-01-ventilator-settings.hl7"))));
    }

    @Test
    void withoutAnMdsObservationTheFirstKnownMetricGivesTheDeviceTypeAndMsh3TheDeviceId() throws Exception {
        String noMds = String.join("\r",
                "MSH|^~\\&|GW^0011223344556677^EUI-64|ICU|||20260101120000+0000||ORU^R01|X1|P|2.6",
                "OBR|1|||^unknown",
                "OBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.0.1.1|95|262688^MDC_DIM_PERCENT^MDC|||||R");
        assertArrayEquals(new String[] {"patient-monitor", "vitals", "0011223344556677"},
                inspector().file(Er7Message.parse(noMds)));
    }

    @Test
    void impossibleValuesUnknownDevicesAndSkewedTimesAreRejected() throws Exception {
        String spo2 = assertThrows(Hl7RejectedException.class,
                () -> inspector().file(Er7Message.parse(sample("pcd-01-impossible-spo2.hl7")))).getMessage();
        assertTrue(spo2.contains("MDC_PULS_OXIM_SAT_O2") && spo2.contains("0..100"), spo2);
        String unknown = assertThrows(Hl7RejectedException.class,
                () -> inspector().file(Er7Message.parse(sample("pcd-01-unknown-device-type.hl7")))).getMessage();
        assertTrue(unknown.startsWith("unknown device type"), unknown);
        String future = sample("pcd-01-patient-monitor-vitals.hl7").replace("20260101120000+0000", "20260101123000+0000");
        String skew = assertThrows(Hl7RejectedException.class, () -> inspector().file(Er7Message.parse(future))).getMessage();
        assertTrue(skew.contains("in the future"), skew);
        String wrongUnit = sample("pcd-01-patient-monitor-vitals.hl7").replace("262688^MDC_DIM_PERCENT", "266016^MDC_DIM_MMHG");
        assertTrue(assertThrows(Hl7RejectedException.class, () -> inspector().file(Er7Message.parse(wrongUnit)))
                .getMessage().contains("has unit"));
    }

    @Test
    void hl7TimestampsWithoutOffsetUseTheConfiguredZone() {
        Pcd01Inspector inspector = inspector();
        inspector.setDefaultZone("Europe/Berlin");
        assertTrue(inspector.time("20260101130000").equals(Instant.parse("2026-01-01T12:00:00Z")));
        assertTrue(inspector.time("20260101120000.5+0000").equals(Instant.parse("2026-01-01T12:00:00.5Z")));
        assertTrue(inspector.time("garbage") == null);
    }
}
