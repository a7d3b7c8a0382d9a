package org.cmm.eventbroker.fhir.bulk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

class BulkExportRequestTest {

    private static final List<String> EXPORTABLE = List.of("Patient", "Observation", "Encounter");

    @Test
    void aKickOffWithoutTypeExportsEveryExportableTypeAndKeepsItsFilters() throws Exception {
        var request = BulkExportRequest.of("system", null, BulkExports.queryParameters(
                "_since=2026-12-01T00%3A00%3A00Z&_typeFilter=Observation%3Fcode%3D8867-4"), EXPORTABLE, "u");
        assertEquals(EXPORTABLE, request.types());
        assertEquals(Instant.parse("2026-12-01T00:00:00Z"), request.since());
        assertEquals(Map.of("Observation", List.of("code=8867-4")), request.typeFilters());
        assertEquals(request, BulkExportRequest.fromJson(request.toJson()));
    }

    @Test
    void unknownTypesInvalidSinceAndOtherFormatsAreRefusedWith400() {
        for (String query : List.of("_type=Foo", "_type=Practitioner", "_since=2026-13-01", "_outputFormat=text%2Fcsv",
                "_typeFilter=Encounter", "_typeFilter=Practitioner%3Factive%3Dtrue", "patient=Patient%2F1")) {
            var refused = assertThrows(BulkRequestRejectedException.class, () -> BulkExportRequest.of("system", null,
                    BulkExports.queryParameters(query), EXPORTABLE, "u"), query);
            assertEquals(400, refused.getStatus());
            assertTrue(refused.getOperationOutcome().contains("\"resourceType\":\"OperationOutcome\""));
        }
    }

    @Test
    void theParametersOfAPostKickOffAreReadLikeTheQuery() throws Exception {
        var parameters = BulkExportRequest.parametersOf(new ObjectMapper().readTree("""
                {"resourceType":"Parameters","parameter":[{"name":"_type","valueString":"Patient"},
                 {"name":"_since","valueInstant":"2026-12-01T00:00:00Z"}]}"""));
        assertEquals(Map.of("_type", List.of("Patient"), "_since", List.of("2026-12-01T00:00:00Z")), parameters);
    }

    @Test
    void compartmentMembershipFollowsThePatientReferences() throws Exception {
        ObjectMapper json = new ObjectMapper();
        var observation = json.readTree("""
                {"resourceType":"Observation","id":"o1","status":"final","code":{"text":"x"},
                 "subject":{"reference":"Patient/p1"}}""");
        assertTrue(BulkExports.inCompartment(observation, Set.of("Patient/p1")));
        assertFalse(BulkExports.inCompartment(observation, Set.of("Patient/p2")));
        assertTrue(BulkExports.inCompartment(observation, null), "Patient level: any patient");
        var unattached = json.readTree("{\"resourceType\":\"Encounter\",\"id\":\"e1\",\"status\":\"finished\"}");
        assertFalse(BulkExports.inCompartment(unattached, null));
    }
}
