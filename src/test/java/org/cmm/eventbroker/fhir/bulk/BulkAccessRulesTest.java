package org.cmm.eventbroker.fhir.bulk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

import org.cmm.eventbroker.platform.security.http.AccessRules;
import org.cmm.eventbroker.platform.security.http.Caller;
import org.cmm.eventbroker.platform.security.http.HttpAccess;
import org.junit.jupiter.api.Test;

/** The shipped config/access.properties guards every bulk data path with bulk-export or system/*.read. */
class BulkAccessRulesTest {

    @Test
    void kickOffsAndStatusUrlsNeedTheBulkExportRoleOrTheSystemReadScope() throws Exception {
        Properties file = new Properties();
        try (InputStream in = BulkAccessRulesTest.class.getResourceAsStream("/config/access.properties")) {
            file.load(in);
        }
        Map<String, String> entries = new HashMap<>();
        file.forEach((k, v) -> entries.put(String.valueOf(k), String.valueOf(v).trim()));
        AccessRules rules = AccessRules.parse(HttpAccess.HTTP_RULE_PREFIX, entries);
        Caller exporter = new Caller("exporter", Set.of("bulk-export"));
        Caller backend = new Caller("backend", Set.of("system/*.read"));
        Caller clinician = new Caller("clinician", Set.of("clinician"));
        Map<String, String> paths = Map.of(
                "GET /fhir/bulk/$export", "fhir-bulk-export-kickoff",
                "POST /fhir/bulk/$export", "fhir-bulk-export-kickoff",
                "GET /fhir/bulk/Patient/$export", "fhir-bulk-patient-export-kickoff",
                "POST /fhir/bulk/Group/g1/$export", "fhir-bulk-group-export-kickoff",
                "GET /fhir/bulk/jobs/abc", "fhir-bulk-export-status",
                "DELETE /fhir/bulk/jobs/abc", "fhir-bulk-export-status");
        paths.forEach((request, name) -> {
            String[] parts = request.split(" ");
            AccessRules.Rule rule = rules.find(parts[0], parts[1]).orElseThrow(() -> new AssertionError(request));
            assertEquals(name, rule.name(), request);
            assertTrue(rule.allows(exporter), request);
            assertTrue(rule.allows(backend), request);
            assertFalse(rule.allows(clinician), request);
        });
        assertTrue(rules.find("PUT", "/fhir/bulk/jobs/abc").isEmpty(), "deny by default");
        assertTrue(rules.find("GET", "/fhir/bulk/Group/$export").isEmpty(), "a Group export names its group");
    }
}
