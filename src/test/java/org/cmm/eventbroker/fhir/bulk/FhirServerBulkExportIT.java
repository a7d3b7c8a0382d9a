package org.cmm.eventbroker.fhir.bulk;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicReference;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.cmm.eventbroker.stack.FhirServer;
import org.cmm.eventbroker.stack.S3Store;
import org.cmm.eventbroker.testsupport.FreePorts;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.cmm.eventbroker.testsupport.TcpProxy;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Bulk export through the FHIR server's own {@code $export} ({@link ServerBulkExport}, cmm.bulk.export.server-export
 * = always) against a real bulk data server: a <b>second runtime instance</b> (the peer), which implements the server
 * side of the Bulk Data IG (kick-off, status URL with Retry-After, manifest, DELETE) over the project's lighter FHIR
 * server with paged searches, its output files on an S3 store read by plain URL (no credentials, requiresAccessToken
 * false): unlike HAPI FHIR's JPA server ({@code HapiJpaServerBulkExportIT}), its job can be held running from the test.
 * The runtime under test reaches the peer through a {@link TcpProxy} and the peer reaches its FHIR server through
 * another, so a test can hold the peer's job running (a partition) or make the peer answer 503.
 *
 * <p>Proves: the export yields the same NDJSON lines as the paged-search path on the same data, in the runtime's own
 * parts with their counts; a server job still running when the runtime restarts is polled again, not kicked off
 * twice, and one whose server job is gone meanwhile starts again cleanly; a cancelled job DELETEs the server's job; a server that answers 4xx or keeps answering 5xx ends the job with
 * the IG's OperationOutcome; the server's job is deleted once its files are copied.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FhirServerBulkExportIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final String BUCKET = "cmm-bulk-data";
    private static final String PEER_BUCKET = "peer-bulk-data";
    private static final String ACCESS = "cmm-local";
    private static final String SECRET = "cmm-local-secret";
    /** The peer's job topic: the two runtimes share one broker, each with its own bulk topics. */
    private static final String PEER_JOBS = "peer.fhir.bulk.export-jobs";

    private static Path folder;
    private static FhirServer fhir;
    private static S3Store store;
    private static S3Store peerStore;
    private static TcpProxy peerFhirLink;
    private static TcpProxy peerLink;
    private static RuntimeUnderTest peer;
    private static RuntimeUnderTest env;
    private static final Set<String> seededPatients = new TreeSet<>();
    private static final Set<String> seededObservations = new TreeSet<>();

    @BeforeAll
    static void start() throws Exception {
        System.setProperty("aws.requestChecksumCalculation", "when_required");
        System.setProperty("aws.responseChecksumValidation", "when_required");
        folder = Files.createTempDirectory("cmm-server-export-it");
        int fhirPort = FreePorts.next();
        fhir = new FhirServer("127.0.0.1", fhirPort).withPaging(5).start();
        store = new S3Store("127.0.0.1", FreePorts.next(), folder.resolve("s3"), ACCESS, SECRET, BUCKET).start();
        peerStore = S3Store.withoutAuthentication("127.0.0.1", FreePorts.next(), folder.resolve("peer-s3"), PEER_BUCKET)
                .start();
        peerFhirLink = new TcpProxy("127.0.0.1", fhirPort);
        List<ObjectNode> resources = new ArrayList<>();
        for (int i = 1; i <= 12; i++) {
            ObjectNode patient = resource("Patient", "p" + i);
            patient.putArray("name").addObject().put("family", "Test-" + i);
            resources.add(patient);
            seededPatients.add("p" + i);
        }
        for (int i = 1; i <= 9; i++) {
            ObjectNode observation = resource("Observation", "o" + i).put("status", "final");
            observation.putObject("code").put("text", "heart rate");
            observation.putObject("subject").put("reference", "Patient/p" + (i % 4 + 1));
            observation.putObject("valueQuantity").put("value", 60 + i).put("unit", "/min");
            resources.add(observation);
            seededObservations.add("o" + i);
        }
        resources.add(resource("Encounter", "e1").put("status", "finished"));
        transaction(fhir.baseUrl(), resources);

        // the peer: a bulk data server (this runtime's own server side) exporting Patient and Observation by paged
        // searches, its files 10 lines each on a store read by plain URL
        peer = RuntimeUnderTest.flows("fhir-bulk-export-api").with(Map.ofEntries(
                Map.entry("cmm.bulk.enabled", "true"),
                Map.entry("cmm.bulk.fhir-base-url", through(peerFhirLink, fhir.baseUrl())),
                Map.entry("cmm.bulk.export.server-export", "never"),
                Map.entry("cmm.bulk.export.since-search-parameter", ""),
                Map.entry("cmm.bulk.export.types", "Patient,Observation"),
                Map.entry("cmm.bulk.export.page-size", "5"),
                Map.entry("cmm.bulk.export.max-resources-per-file", "10"),
                Map.entry("cmm.bulk.export.retry-after-seconds", "1"),
                Map.entry("cmm.bulk.s3.bucket", PEER_BUCKET),
                Map.entry("cmm.lake.s3.endpoint", peerStore.endpoint()),
                Map.entry("cmm.bulk.export.output-base-url", peerStore.endpoint() + "/" + PEER_BUCKET),
                Map.entry("cmm.fhir.server.socket-timeout-ms", "2000"),
                Map.entry("cmm.bulk.retry.max-attempts", "100"),
                Map.entry("cmm.bulk.retry.budget-ms", "120000"),
                Map.entry("cmm.bulk.retry.initial-backoff-ms", "100"),
                Map.entry("cmm.bulk.retry.max-backoff-ms", "300"),
                Map.entry("cmm.bulk.export.jobs-topic", PEER_JOBS),
                Map.entry("cmm.bulk.export.completions-topic", "peer.fhir.bulk.export-completions"),
                Map.entry("cmm.bulk.export.requests-topic", "peer.fhir.bulk.export-requests"),
                Map.entry("cmm.bulk.export.requests-group-id", "peer-fhir-bulk-export-requests"),
                Map.entry("cmm.bulk.import.jobs-topic", "peer.fhir.bulk.import-jobs"),
                Map.entry("cmm.bulk.import.requests-topic", "peer.fhir.bulk.import-requests"),
                Map.entry("cmm.bulk.import.requests-group-id", "peer-fhir-bulk-import-requests"),
                Map.entry("cmm.bulk.import.completions-topic", "peer.fhir.bulk.import-completions"),
                Map.entry("cmm.bulk.dead-letter-topic", "peer.fhir.bulk.dlq"),
                Map.entry("cmm.bulk.work-dir", folder.resolve("peer-work").toString()),
                // a job's end is a Kafka transaction: the broker's first one creates its transaction log, which takes
                // longer than the production bound (half of it) on a loaded machine
                Map.entry("camel.component.kafka.delivery-timeout-ms", "30000"))).start();
        peerLink = new TcpProxy("127.0.0.1", peer.httpPort());

        // the runtime under test: every job through the peer's $export (the peer serves no CapabilityStatement, so
        // auto would choose paged searches); its own parts at most 4 lines
        env = RuntimeUnderTest.flows("fhir-bulk-export-api").broker(peer.broker()).with(Map.ofEntries(
                Map.entry("cmm.bulk.enabled", "true"),
                Map.entry("cmm.bulk.fhir-base-url", fhir.baseUrl()),
                Map.entry("cmm.bulk.export.server-export", "always"),
                Map.entry("cmm.bulk.export.server-export.base-url", "http://127.0.0.1:" + peerLink.port() + "/fhir/bulk"),
                Map.entry("cmm.bulk.export.server-export.min-poll-ms", "200"),
                Map.entry("cmm.bulk.export.server-export.max-poll-ms", "1000"),
                Map.entry("cmm.bulk.export.types", "Patient,Observation,Encounter"),
                Map.entry("cmm.bulk.export.max-resources-per-file", "4"),
                Map.entry("cmm.bulk.export.retry-after-seconds", "1"),
                Map.entry("cmm.lake.s3.endpoint", store.endpoint()),
                Map.entry("cmm.bulk.export.output-base-url", store.endpoint() + "/" + BUCKET),
                Map.entry("cmm.bulk.retry.max-attempts", "4"),
                Map.entry("cmm.bulk.retry.budget-ms", "30000"),
                Map.entry("cmm.bulk.retry.initial-backoff-ms", "100"),
                Map.entry("cmm.bulk.retry.max-backoff-ms", "300"),
                Map.entry("cmm.bulk.work-dir", folder.resolve("work").toString()),
                Map.entry("camel.component.kafka.delivery-timeout-ms", "30000"))).start();
    }

    @AfterAll
    static void stop() throws Exception {
        for (AutoCloseable closeable : new AutoCloseable[] {env, peerLink, peer, peerFhirLink, peerStore, store, fhir}) {
            if (closeable != null) {
                closeable.close();
            }
        }
    }

    @AfterEach
    void healTheLinks() {
        peerFhirLink.heal();
        peerLink.heal();
    }

    @Test
    @Order(1)
    void anExportThroughTheServersExportYieldsTheSameLinesAsThePagedSearchPath() throws Exception {
        String status = kickOff(base(env), "_type=Patient,Observation");
        JsonNode manifest = awaitManifest(status);
        assertFalse(manifest.get("requiresAccessToken").asBoolean());
        assertEquals(0, manifest.get("error").size());
        assertTrue(manifest.get("request").asText().startsWith(base(env) + "/fhir/bulk/$export"), manifest.toString());
        // the runtime's own object names and counts: 12 Patients (two server files of 10 and 2) in parts of 4
        List<String> patientFiles = new ArrayList<>();
        manifest.get("output").forEach(o -> {
            if (o.get("type").asText().equals("Patient")) {
                patientFiles.add(o.get("url").asText().replaceAll(".*/", "") + "=" + o.get("count").asInt());
            }
        });
        assertEquals(List.of("Patient.000001.ndjson=4", "Patient.000002.ndjson=4", "Patient.000003.ndjson=4"),
                patientFiles);
        Set<String> ours = linesInOurStore(manifest);

        // the paged-search path on the same data: the peer's own export (paged searches of the same FHIR server)
        JsonNode paged = awaitManifest(kickOff("http://127.0.0.1:" + peer.httpPort(), "_type=Patient,Observation"));
        Set<String> pagedLines = linesByUrl(paged);
        assertEquals(pagedLines, ours);
        assertEquals(seededPatients.size() + seededObservations.size(), ours.size());
        Set<String> ids = new TreeSet<>();
        for (String line : ours) {
            JsonNode resource = JSON.readTree(line);
            ids.add(resource.get("resourceType").asText() + "/" + resource.get("id").asText());
        }
        Set<String> expected = new TreeSet<>();
        seededPatients.forEach(p -> expected.add("Patient/" + p));
        seededObservations.forEach(o -> expected.add("Observation/" + o));
        assertEquals(expected, ids);

        // the server's job was deleted once its files were copied
        String serverStatus = serverStatusUrl(jobId(status));
        assertEquals(404, get(serverStatus).statusCode());
    }

    @Test
    @Order(2)
    void aServerJobStillRunningWhenTheRuntimeRestartsIsPolledAgainNotKickedOffTwice() throws Exception {
        peerFhirLink.partition(); // the peer's job waits on its FHIR server: it stays running
        Set<String> peerJobsBefore = peerJobIds();
        String status = kickOff(base(env), "_type=Observation");
        String jobId = jobId(status);
        await().atMost(Duration.ofSeconds(30)).until(() -> serverStatusUrl(jobId) != null);
        String serverStatus = serverStatusUrl(jobId);
        assertEquals(202, get(serverStatus).statusCode(), "the server's job still runs");

        // the restarted runtime's HTTP client is new: its first poll opens a connection through the link
        int connections = peerLink.accepted();
        env.stopRuntime();
        env.startRuntime();
        // the restarted runtime polls the same server job (through the link) while it still runs...
        await().atMost(Duration.ofSeconds(30)).until(() -> peerLink.accepted() > connections);
        assertEquals(202, get(status).statusCode());
        peerFhirLink.heal();
        // ...and copies its files once it is done
        JsonNode manifest = awaitManifest(status);
        Set<String> ids = new TreeSet<>();
        for (String line : linesInOurStore(manifest)) {
            ids.add(JSON.readTree(line).get("id").asText());
        }
        assertEquals(seededObservations, ids);
        assertEquals(serverStatus, serverStatusUrl(jobId), "the job kept its server job");
        Set<String> kickedOff = peerJobIds();
        kickedOff.removeAll(peerJobsBefore);
        assertEquals(1, kickedOff.size(), "one server job for the export, across the restart: " + kickedOff);
    }

    @Test
    @Order(3)
    void aServerJobGoneWhileTheRuntimeWasStoppedIsStartedAgainCleanly() throws Exception {
        peerFhirLink.partition();
        Set<String> peerJobsBefore = peerJobIds();
        String status = kickOff(base(env), "_type=Patient");
        String jobId = jobId(status);
        await().atMost(Duration.ofSeconds(30)).until(() -> serverStatusUrl(jobId) != null);
        String firstServerJob = serverStatusUrl(jobId);
        env.stopRuntime();
        // while the runtime is down, the server forgets the job (its DELETE; a server that expired it answers alike)
        assertEquals(202, HTTP.send(HttpRequest.newBuilder(URI.create(firstServerJob)).DELETE().build(),
                HttpResponse.BodyHandlers.ofString()).statusCode());
        peerFhirLink.heal();
        env.startRuntime();

        JsonNode manifest = awaitManifest(status);
        Set<String> ids = new TreeSet<>();
        for (String line : linesInOurStore(manifest)) {
            ids.add(JSON.readTree(line).get("id").asText());
        }
        assertEquals(seededPatients, ids);
        assertEquals(seededPatients.size(), linesInOurStore(manifest).size(), "no Patient twice");
        String secondServerJob = serverStatusUrl(jobId);
        assertFalse(firstServerJob.equals(secondServerJob), "a new server job");
        Set<String> kickedOff = peerJobIds();
        kickedOff.removeAll(peerJobsBefore);
        assertEquals(2, kickedOff.size(), "the gone job and its successor: " + kickedOff);
    }

    @Test
    @Order(4)
    void aCancelledJobDeletesTheServersJob() throws Exception {
        peerFhirLink.partition();
        String status = kickOff(base(env), "_type=Patient");
        String jobId = jobId(status);
        await().atMost(Duration.ofSeconds(30)).until(() -> serverStatusUrl(jobId) != null);
        String serverStatus = serverStatusUrl(jobId);
        assertEquals(202, get(serverStatus).statusCode());

        HttpResponse<String> cancel = HTTP.send(HttpRequest.newBuilder(URI.create(status)).DELETE().build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(202, cancel.statusCode(), cancel.body());
        assertEquals(404, get(status).statusCode());
        // the server's job is deleted: its status URL answers 404 (the IG's answer for a deleted job)
        await().atMost(Duration.ofSeconds(30)).until(() -> get(serverStatus).statusCode() == 404);
    }

    @Test
    @Order(5)
    void aServerExportAnswering4xxOr5xxEndsTheJobWithAnOperationOutcome() throws Exception {
        // 4xx: the peer does not export Encounter, and refuses the kick-off (400 with its OperationOutcome)
        HttpResponse<String> refused = awaitEnd(kickOff(base(env), "_type=Encounter"));
        assertEquals(500, refused.statusCode(), refused.body());
        JsonNode outcome = JSON.readTree(refused.body());
        assertEquals("OperationOutcome", outcome.get("resourceType").asText());
        assertTrue(outcome.at("/issue/0/diagnostics").asText().contains("answered 400 to the $export kick-off"),
                refused.body());

        // 5xx: the peer answers 503 to every attempt the retry budget allows (4)
        peerLink.answerNext(4, 503);
        HttpResponse<String> unavailable = awaitEnd(kickOff(base(env), "_type=Patient"));
        assertEquals(500, unavailable.statusCode(), unavailable.body());
        JsonNode failure = JSON.readTree(unavailable.body());
        assertEquals("OperationOutcome", failure.get("resourceType").asText());
        assertTrue(failure.at("/issue/0/diagnostics").asText().contains("4 attempts"), unavailable.body());
        assertTrue(peerLink.faultsServed() >= 3, "the 503s were met");
    }

    @Test
    @Order(6)
    void autoModeFindsNoExportInTheCapabilityStatementOfAServerWithout() throws Exception {
        // the lighter FHIR server (a plain HAPI RestfulServer) declares no $export: auto takes the paged searches
        JsonNode capabilities = JSON.readTree(get(fhir.baseUrl() + "/metadata").body());
        assertEquals("CapabilityStatement", capabilities.get("resourceType").asText());
        assertEquals(Set.of(), ServerBulkExport.exportLevels(capabilities));
    }

    // ---- helpers ---------------------------------------------------------------------------------------------------

    private static String base(RuntimeUnderTest runtime) {
        return "http://127.0.0.1:" + runtime.httpPort();
    }

    private static String through(TcpProxy link, String url) {
        return url.replaceFirst("^(http://127\\.0\\.0\\.1):\\d+", "$1:" + link.port());
    }

    private static String jobId(String status) {
        return status.substring(status.lastIndexOf('/') + 1);
    }

    /** The server's status URL as the job's record on the job topic holds it; null before the kick-off. */
    private static String serverStatusUrl(String jobId) throws Exception {
        String url = null;
        for (var record : env.topics().readAll("fhir.bulk.export-jobs")) {
            if (jobId.equals(record.key())) {
                JsonNode job = JSON.readTree(record.value());
                url = job.path("serverExport").path("statusUrl").asText(null);
            }
        }
        return url;
    }

    /** The ids of the jobs the peer accepted (its job topic). */
    private static Set<String> peerJobIds() {
        Set<String> ids = new HashSet<>();
        env.topics().readAll(PEER_JOBS).forEach(r -> ids.add(r.key()));
        return ids;
    }

    private static String kickOff(String base, String query) throws Exception {
        HttpResponse<String> answer = HTTP.send(HttpRequest.newBuilder(URI.create(base + "/fhir/bulk/$export?" + query))
                .header("Accept", "application/fhir+json").header("Prefer", "respond-async").GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(202, answer.statusCode(), answer.body());
        return answer.headers().firstValue("Content-Location").orElseThrow();
    }

    private static HttpResponse<String> get(String url) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(url)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The status URL's first answer that is not 202. */
    private static HttpResponse<String> awaitEnd(String statusUrl) {
        AtomicReference<HttpResponse<String>> last = new AtomicReference<>();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() -> {
            last.set(get(statusUrl));
            return last.get().statusCode() != 202;
        });
        return last.get();
    }

    private static JsonNode awaitManifest(String statusUrl) throws Exception {
        HttpResponse<String> answer = awaitEnd(statusUrl);
        assertEquals(200, answer.statusCode(), answer.body());
        return JSON.readTree(answer.body());
    }

    /** Every line of the manifest's files, read from the runtime's store; each file's count checked. */
    private static Set<String> linesInOurStore(JsonNode manifest) throws Exception {
        Set<String> lines = new HashSet<>();
        String prefix = store.endpoint() + "/" + BUCKET + "/";
        try (S3Client client = S3Client.builder().endpointOverride(URI.create(store.endpoint())).forcePathStyle(true)
                .region(Region.US_EAST_1)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(ACCESS, SECRET)))
                .build()) {
            for (JsonNode output : manifest.get("output")) {
                String url = output.get("url").asText();
                assertTrue(url.startsWith(prefix), url);
                int count = 0;
                try (var in = client.getObject(b -> b.bucket(BUCKET).key(url.substring(prefix.length())));
                     BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                    for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                        assertEquals(output.get("type").asText(), JSON.readTree(line).get("resourceType").asText());
                        assertTrue(lines.add(line), "a line twice: " + url);
                        count++;
                    }
                }
                assertEquals(output.get("count").asInt(), count, output.toString());
            }
        }
        return lines;
    }

    /** Every line of the manifest's files, read by their URLs (the peer's files need no credentials). */
    private static Set<String> linesByUrl(JsonNode manifest) throws Exception {
        Set<String> lines = new HashSet<>();
        for (JsonNode output : manifest.get("output")) {
            HttpResponse<String> file = get(output.get("url").asText());
            assertEquals(200, file.statusCode(), output.toString());
            for (String line : file.body().split("\n")) {
                if (!line.isBlank()) {
                    lines.add(line);
                }
            }
        }
        return lines;
    }

    private static ObjectNode resource(String type, String id) {
        return JSON.createObjectNode().put("resourceType", type).put("id", id);
    }

    private static void transaction(String baseUrl, List<ObjectNode> resources) throws Exception {
        ObjectNode bundle = JSON.createObjectNode().put("resourceType", "Bundle").put("type", "transaction");
        ArrayNode entries = bundle.putArray("entry");
        for (ObjectNode resource : resources) {
            ObjectNode entry = entries.addObject();
            entry.set("resource", resource);
            entry.putObject("request").put("method", "PUT")
                    .put("url", resource.get("resourceType").asText() + "/" + resource.get("id").asText());
        }
        HttpResponse<String> answer = HTTP.send(HttpRequest.newBuilder(URI.create(baseUrl))
                .header("Content-Type", "application/fhir+json")
                .POST(HttpRequest.BodyPublishers.ofString(bundle.toString())).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, answer.statusCode(), answer.body());
    }
}
