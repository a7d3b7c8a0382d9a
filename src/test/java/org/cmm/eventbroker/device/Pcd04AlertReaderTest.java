package org.cmm.eventbroker.device;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;

import org.cmm.eventbroker.hl7.Er7Message;
import org.cmm.eventbroker.hl7.Hl7RejectedException;
import org.cmm.eventbroker.testsupport.Hl7Samples;
import org.junit.jupiter.api.Test;

class Pcd04AlertReaderTest {

    private static final Instant NOW = Instant.parse("2026-11-26T12:00:30Z");

    private static Pcd04AlertReader reader() {
        Pcd04AlertReader reader = new Pcd04AlertReader();
        reader.setClock(Clock.fixed(NOW, ZoneOffset.UTC));
        reader.setDefaultZone("UTC");
        return reader;
    }

    private static DeviceAlert read(String er7) throws Hl7RejectedException {
        return reader().read(Er7Message.parse(er7));
    }

    private static String sample(String name) {
        return Hl7Samples.load(name, "unused");
    }

    private static String reason(String er7) {
        return assertThrows(Hl7RejectedException.class, () -> read(er7)).getMessage();
    }

    @Test
    void aLowSpo2AlarmIsAHighPriorityPhysiologicalActiveAlertOfTheDeviceInObx18() throws Exception {
        DeviceAlert alert = read(sample("pcd-04-spo2-low-physiological-high.hl7"));
        assertEquals("ALR-SPO2-0001", alert.alertId());
        assertEquals("0012A1FFFE3B4C01", alert.deviceId());
        assertNull(alert.deviceType());
        assertEquals("PAT-4711", alert.patientId());
        assertEquals(DeviceAlert.Kind.PHYSIOLOGICAL, alert.kind());
        assertEquals(DeviceAlert.Priority.HIGH, alert.priority());
        assertEquals("MDC_EVT_LO", alert.code());
        assertEquals("SpO2 LOW 84 %", alert.text());
        assertEquals(DeviceAlert.State.ACTIVE, alert.state());
        assertEquals(OffsetDateTime.parse("2026-11-26T12:00:00Z").toInstant(), alert.timestamp().toInstant());
    }

    @Test
    void aLeadOffAlarmIsAMediumPriorityTechnicalAlert() throws Exception {
        DeviceAlert alert = read(sample("pcd-04-lead-off-technical-medium.hl7"));
        assertEquals(DeviceAlert.Kind.TECHNICAL, alert.kind());
        assertEquals(DeviceAlert.Priority.MEDIUM, alert.priority());
        assertEquals("MDC_EVT_LEAD_OFF", alert.code());
        assertEquals("0012A1FFFE3B4C02", alert.deviceId());
    }

    @Test
    void anAlertAcknowledgedAtTheDeviceHasStateAcknowledgedAndKeepsItsAlertId() throws Exception {
        DeviceAlert alert = read(sample("pcd-04-spo2-low-acknowledged.hl7"));
        assertEquals(DeviceAlert.State.ACKNOWLEDGED, alert.state());
        assertEquals("ALR-SPO2-0001", alert.alertId());
    }

    @Test
    void anEndPhaseOrAnInactiveAlarmStateMakesTheAlertInactive() throws Exception {
        String base = sample("pcd-04-spo2-low-physiological-high.hl7");
        assertEquals(DeviceAlert.State.INACTIVE, read(base.replace("|start|", "|end|")).state());
        assertEquals(DeviceAlert.State.INACTIVE, read(base.replace("|active|", "|inactive|")).state());
        assertEquals(DeviceAlert.State.ACTIVE, read(base.replace("|active|", "|latched|")).state());
    }

    @Test
    void advisoryAlertsAreOperationalAndNoPriorityIsLow() throws Exception {
        DeviceAlert alert = read(sample("pcd-04-spo2-low-physiological-high.hl7").replace("PH~SP", "PN~SA"));
        assertEquals(DeviceAlert.Kind.OPERATIONAL, alert.kind());
        assertEquals(DeviceAlert.Priority.LOW, alert.priority());
    }

    @Test
    void alertTypeAndPriorityFacetsOverrideObx8() throws Exception {
        String er7 = sample("pcd-04-lead-off-technical-medium.hl7")
                + "OBX|4|ST|68484^MDC_ATTR_ALERT_TYPE^MDC|1.1.1.0.6|SP||||||F\r"
                + "OBX|5|ST|68485^MDC_ATTR_ALARM_PRIORITY^MDC|1.1.1.0.7|PH||||||F\r";
        DeviceAlert alert = read(er7);
        assertEquals(DeviceAlert.Kind.PHYSIOLOGICAL, alert.kind());
        assertEquals(DeviceAlert.Priority.HIGH, alert.priority());
    }

    @Test
    void aMessageWithoutPriorityOrKindOrDeviceIsRejectedWithAReasonThatQuotesNoContent() {
        String base = sample("pcd-04-spo2-low-physiological-high.hl7");
        assertTrue(reason(base.replace("PH~SP", "SP")).contains("no alert priority"));
        assertTrue(reason(base.replace("PH~SP", "PH")).contains("no alert kind"));
        assertTrue(reason(base.replace("PH~SP", "PX~SP")).contains("no alert priority"));
        String noDevice = base.replace("||||0012A1FFFE3B4C01^EUI-64", "").replace("ACME_MONITOR^0012A1FFFE3B4C01^EUI-64|ICU", "ACME_MONITOR|ICU");
        String why = reason(noDevice);
        assertTrue(why.contains("device id"), why);
        assertFalse(why.contains("ZEBEDEE") || why.contains("PAT-4711"));
    }

    @Test
    void anythingButOruR40OrMoreThanOneAlertIsRejected() {
        String base = sample("pcd-04-spo2-low-physiological-high.hl7");
        assertTrue(reason(base.replace("ORU^R40^ORU_R40", "ORU^R01^ORU_R01")).contains("ORU^R40"));
        String twoAlerts = base + "OBR|2|ALR-2|ALR-2|196616^MDC_EVT_ALARM^MDC\r";
        assertTrue(reason(twoAlerts).contains("more than one alert"));
        assertTrue(reason(base.replaceAll("OBX\\|[^\r]*\r", "")).contains("no alert type OBX"));
    }

    @Test
    void clockSkewedOrMalformedAlertTimesAreRejected() {
        String base = sample("pcd-04-spo2-low-physiological-high.hl7");
        assertTrue(reason(base.replace("|20261126120000+0000||||0012", "|20261126130000+0000||||0012")).contains("in the future"));
        assertTrue(reason(base.replace("|20261126120000+0000||||0012", "|20261120120000+0000||||0012")).contains("old"));
        assertTrue(reason(base.replace("|20261126120000+0000||||0012", "|2026-11-26||||0012")).contains("HL7 date/time"));
    }
}
