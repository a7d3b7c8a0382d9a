package org.cmm.eventbroker.fhir.bulk;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.cmm.eventbroker.testsupport.PayloadSchemaCheck;
import org.junit.jupiter.api.Test;

/**
 * The payload schemas registered for the bulk jobs' completion events (schemas/cmm.fhir.bulk.*.v1.json, channels
 * fhirBulkExportCompletions and fhirBulkImportCompletions of eventapi/topic-families.yaml) describe what BulkExports and
 * BulkImports publish: an export's manifest from a job's state, an import's completion with a refused line, and a
 * failed import. A field always written, left out, is refused.
 */
class BulkPayloadSchemasTest {

    @Test
    void anExportsManifestIsValidUnderCmmFhirBulkExportManifestV1() throws Exception {
        BulkExports exports = new BulkExports();
        exports.setOutputBaseUrl("http://127.0.0.1:8081/fhir/bulk/files");
        BulkExportRequest request = BulkExportRequest.of("system", null, BulkExports.queryParameters(
                "_type=Patient,Observation"), List.of("Patient", "Observation", "Encounter"),
                "http://127.0.0.1:8081/fhir/bulk/$export?_type=Patient,Observation");
        ObjectNode job = JsonNodeFactory.instance.objectNode();
        job.put("jobId", "job-1");
        job.put("status", "in-progress");
        job.put("transactionTime", "2026-12-07T15:00:00.123Z");
        job.set("request", request.toJson());
        ObjectNode types = job.putObject("types");
        types.putObject("Patient").put("done", true).putArray("files").add(3);
        types.putObject("Observation").put("done", true).putArray("files").add(1000).add(12);
        ObjectNode manifest = exports.manifest(job, request);
        assertEquals(3, manifest.get("output").size());
        PayloadSchemaCheck.of("cmm.fhir.bulk.export.manifest.v1")
                .valid(manifest)
                .invalidAfter(manifest, m -> m.remove("transactionTime"), "transactionTime is always written")
                .invalidAfter(manifest, m -> ((ObjectNode) m.get("output").get(0)).remove("url"),
                        "every output file has its url");
    }

    @Test
    void anImportsCompletionIsValidUnderCmmFhirBulkImportCompletionV1() {
        ObjectNode job = JsonNodeFactory.instance.objectNode();
        job.put("jobId", "import-1");
        job.put("status", "in-progress");
        job.put("requestTime", "2026-12-07T15:00:00Z");
        ArrayNode files = job.putArray("files");
        ObjectNode file = files.addObject().put("type", "Patient").put("url", "s3://bulk/in/Patient.ndjson")
                .put("loaded", 9).put("failed", 1).put("done", true);
        job.put("loaded", 9);
        job.put("failed", 1);
        job.putArray("failures").add(BulkImports.failure(file, 4, "line 4 is not a Patient"));
        PayloadSchemaCheck schema = PayloadSchemaCheck.of("cmm.fhir.bulk.import.completion.v1");
        ObjectNode completion = BulkImports.completion(job);
        assertEquals("completed", completion.get("status").asText());
        schema.valid(completion)
                .invalidAfter(completion, c -> c.remove("loaded"), "loaded is always written")
                .invalidAfter(completion, c -> c.put("status", "in-progress"), "a completion is completed or failed");

        job.put("status", "failed");
        job.put("error", "IllegalStateException: the bulk store is unreachable");
        ObjectNode failed = BulkImports.completion(job);
        schema.valid(failed);
        assertEquals("failed", failed.get("status").asText());
    }
}
