package org.cmm.eventbroker.device;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Properties;
import java.util.Set;

import org.junit.jupiter.api.Test;

class MeasurementCatalogueTest {

    private static final MeasurementCatalogue CATALOGUE = MeasurementCatalogue.load("classpath:device/measurements.properties");

    @Test
    void theShippedCatalogueNamesTheIssuesDeviceAndDataTypesAndMatchesReferenceIdsOrNumericCodes() {
        assertEquals(Set.of("patient-monitor", "infusion-pump", "ventilator"), CATALOGUE.deviceTypes());
        assertEquals(Set.of("vitals", "status", "settings"), CATALOGUE.dataTypes());
        assertEquals(CATALOGUE.measurement("MDC_PULS_OXIM_SAT_O2"), CATALOGUE.measurement("150456"));
        assertEquals(CATALOGUE.measurement("MDC_ECG_HEART_RATE"), CATALOGUE.measurement("147842"));
        assertEquals(CATALOGUE.measurement("mdc_press_bld_noninv_sys"), CATALOGUE.measurement("150021"));
        assertEquals("patient-monitor", CATALOGUE.deviceTypeOfSystem("69965"));
        assertEquals("infusion-pump", CATALOGUE.deviceTypeOfSystem("MDC_DEV_PUMP_INFUS_MDS"));
        MeasurementCatalogue.Measurement temp = CATALOGUE.measurement("MDC_TEMP_BODY");
        assertTrue(temp.isPlausible(25) && temp.isPlausible(45) && !temp.isPlausible(24.9) && !temp.isPlausible(Double.NaN));
        assertTrue(temp.acceptsUnit("Cel") && temp.acceptsUnit("MDC_DIM_DEGC") && !temp.acceptsUnit("[degF]"));
        assertFalse(CATALOGUE.measurement("MDC_PUMP_MODE").isNumeric());
    }

    @Test
    void aBrokenLineFailsAtStartNamingTheKey() {
        Properties p = new Properties();
        p.setProperty("measurement.MDC_X", "1 | Patient Monitor | vitals | % | 0 | 100");
        String reason = assertThrows(IllegalArgumentException.class, () -> MeasurementCatalogue.parse(p, "test")).getMessage();
        assertTrue(reason.contains("measurement.MDC_X") && reason.contains("device type"), reason);
        assertThrows(IllegalArgumentException.class, () -> MeasurementCatalogue.load("classpath:nothing-here.properties"));
    }
}
