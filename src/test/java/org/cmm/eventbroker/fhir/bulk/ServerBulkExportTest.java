package org.cmm.eventbroker.fhir.bulk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

/**
 * How the exporter reads a FHIR server's CapabilityStatement for its own {@code $export} (auto mode) and a status
 * answer's {@code Retry-After}. The CapabilityStatements are written as the servers publish them: HAPI FHIR's JPA
 * server names the operation {@code export} (with the IG's canonicals on system and Group, its own on Patient) beside
 * {@code export-poll-status}, which is not an export; others name only the IG's canonicals, or only instantiate the
 * IG's bulk-data CapabilityStatement. The project's own FHIR server without {@code $export} is read
 * in {@code FhirServerBulkExportIT}.
 */
class ServerBulkExportTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void theExportOperationIsFoundAtTheLevelsWhereTheServerDeclaresIt() throws Exception {
        // as HAPI FHIR 8.6.1's JPA server publishes it (read from a running one; other operations left out)
        JsonNode hapiLike = JSON.readTree("""
                {"resourceType":"CapabilityStatement","rest":[{"mode":"server",
                  "resource":[
                    {"type":"Patient","operation":[{"name":"export",
                      "definition":"http://127.0.0.1:8095/fhir/OperationDefinition/GroupPatient-its-export"}]},
                    {"type":"Group","operation":[{"name":"export",
                      "definition":"http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export"}]},
                    {"type":"Observation","operation":[{"name":"validate"}]}],
                  "operation":[{"name":"export-poll-status",
                      "definition":"http://127.0.0.1:8095/fhir/OperationDefinition/-s-export-poll-status"},
                    {"name":"export","definition":"http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"}]}]}
                """);
        assertEquals(Set.of("system", "patient", "group"), ServerBulkExport.exportLevels(hapiLike));

        JsonNode patientOnly = JSON.readTree("""
                {"resourceType":"CapabilityStatement","rest":[{"mode":"server","resource":[{"type":"Patient",
                  "operation":[{"name":"bulk","definition":"http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export|2.0.0"}]}]}]}
                """);
        assertEquals(Set.of("patient"), ServerBulkExport.exportLevels(patientOnly));

        JsonNode instantiates = JSON.readTree("""
                {"resourceType":"CapabilityStatement",
                 "instantiates":["http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data|2.0.0"],"rest":[]}
                """);
        assertEquals(Set.of("system", "patient", "group"), ServerBulkExport.exportLevels(instantiates));
    }

    @Test
    void aServerWithoutTheOperationOrWithoutACapabilityStatementHasNoExport() throws Exception {
        assertEquals(Set.of(), ServerBulkExport.exportLevels(JSON.readTree("""
                {"resourceType":"CapabilityStatement","rest":[{"mode":"server","resource":[{"type":"Patient",
                  "operation":[{"name":"everything"}]}],"operation":[{"name":"process-message"}]}]}
                """)));
        // a client-mode rest entry says what the server calls, not what it offers
        assertEquals(Set.of(), ServerBulkExport.exportLevels(JSON.readTree("""
                {"resourceType":"CapabilityStatement","rest":[{"mode":"client","operation":[{"name":"export"}]}]}
                """)));
        assertEquals(Set.of(), ServerBulkExport.exportLevels(JSON.readTree("{\"resourceType\":\"OperationOutcome\"}")));
        assertEquals(Set.of(), ServerBulkExport.exportLevels(null));
    }

    @Test
    void retryAfterIsReadAsSecondsOrAsAnHttpDate() {
        assertEquals(5000, ServerBulkExport.retryAfterMs("5"));
        assertEquals(0, ServerBulkExport.retryAfterMs("0"));
        assertEquals(-1, ServerBulkExport.retryAfterMs(null));
        assertEquals(-1, ServerBulkExport.retryAfterMs("soon"));
        String inTenSeconds = DateTimeFormatter.RFC_1123_DATE_TIME.format(ZonedDateTime.now(ZoneOffset.UTC).plusSeconds(10));
        long ms = ServerBulkExport.retryAfterMs(inTenSeconds);
        assertTrue(ms > 5000 && ms <= 10_000, String.valueOf(ms));
    }

    @Test
    void theModeIsAutoAlwaysOrNever() {
        assertEquals(ServerBulkExport.Mode.ALWAYS, ServerBulkExport.Mode.of(" Always "));
        IllegalArgumentException wrong = assertThrows(IllegalArgumentException.class,
                () -> ServerBulkExport.Mode.of("sometimes"));
        assertTrue(wrong.getMessage().contains("cmm.bulk.export.server-export"));
    }
}
