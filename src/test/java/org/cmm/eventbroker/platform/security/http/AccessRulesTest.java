package org.cmm.eventbroker.platform.security.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The path -> role table as shipped in config/access.properties. */
class AccessRulesTest {

    private static AccessRules intakes;
    private static AccessRules management;

    @BeforeAll
    static void load() throws Exception {
        Properties file = new Properties();
        try (InputStream in = AccessRulesTest.class.getResourceAsStream("/config/access.properties")) {
            file.load(in);
        }
        Map<String, String> entries = new HashMap<>();
        file.forEach((k, v) -> entries.put(String.valueOf(k), String.valueOf(v).trim()));
        intakes = AccessRules.parse(HttpAccess.HTTP_RULE_PREFIX, entries);
        management = AccessRules.parse(HttpAccess.MANAGEMENT_RULE_PREFIX, entries);
    }

    private static Caller caller(String... roles) {
        return new Caller("someone", Set.of(roles));
    }

    @Test
    void acknowledgingAnAlertNeedsAClinicianWhilePostingAlertsNeedsAGateway() {
        AccessRules.Rule ack = intakes.find("POST", "/device-alerts/A-1/ack").orElseThrow();
        assertEquals("alert-acknowledgements", ack.name());
        assertFalse(ack.allows(caller("device-gateway")));
        assertTrue(ack.allows(caller("clinician")));
        AccessRules.Rule alerts = intakes.find("POST", "/device-alerts").orElseThrow();
        assertTrue(alerts.allows(caller("device-gateway")));
        assertFalse(alerts.allows(caller("clinician")));
    }

    @Test
    void everyIntakeHasItsRoleAndUnlistedPathsOrMethodsHaveNoRule() {
        assertTrue(intakes.find("POST", "/ehr/epic/Patient/updated").orElseThrow().allows(caller("ehr-publisher")));
        assertTrue(intakes.find("POST", "/devices/patient-monitor/PM-1/vitals").orElseThrow().allows(caller("device-gateway")));
        assertTrue(intakes.find("POST", "/fhir/changes").orElseThrow().allows(caller("fhir-publisher")));
        assertTrue(intakes.find("POST", "/workflow/callbacks/admission").orElseThrow().allows(caller("workflow-engine")));
        assertTrue(intakes.find("GET", "/ehr/epic/Patient/updated").isEmpty(), "deny by default: GET has no rule");
        assertTrue(intakes.find("POST", "/ehr/epic/Patient/updated/more").isEmpty());
        assertTrue(intakes.find("POST", "/device-alerts//ack").isEmpty(), "an empty segment is no alert id");
        assertTrue(intakes.find("POST", "/somewhere-else").isEmpty());
    }

    @Test
    void probesAreOpenMetricsNeedMonitoring() {
        assertTrue(management.find("GET", "/observe/health/live").orElseThrow().open());
        assertTrue(management.find("GET", "/observe/health/ready").orElseThrow().open());
        assertFalse(management.find("GET", "/observe/health").orElseThrow().open());
        assertTrue(management.find("GET", "/observe/metrics").orElseThrow().allows(caller("monitoring")));
        assertFalse(management.find("GET", "/observe/metrics").orElseThrow().allows(caller("clinician")));
        assertTrue(management.find("POST", "/observe/jolokia").orElseThrow().allows(caller("operator")));
        assertTrue(management.find("GET", "/observe/jolokia/read/java.lang:type=Memory").isPresent());
    }

    @Test
    void aRuleThatCannotBeReadNamesItsKey() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AccessRules.parse("cmm.access.http.rule.", Map.of("cmm.access.http.rule.broken", "POST /x clinician")));
        assertTrue(e.getMessage().contains("cmm.access.http.rule.broken"), e.getMessage());
    }
}
