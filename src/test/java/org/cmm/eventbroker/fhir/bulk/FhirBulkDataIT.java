package org.cmm.eventbroker.fhir.bulk;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicReference;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.cmm.eventbroker.stack.FhirServer;
import org.cmm.eventbroker.stack.S3Store;
import org.cmm.eventbroker.testsupport.ChildRuntime;
import org.cmm.eventbroker.testsupport.FreePorts;
import org.cmm.eventbroker.testsupport.KafkaTopicReader;
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
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * FHIR bulk export and import (routes/bulk/) against real peers: the project's lighter FHIR server (HAPI's plain
 * RestfulServer, paged searches with next links; no $export of its own), the local stack's S3 store (s3proxy) and a
 * real Kafka broker. The exported NDJSON, read back from the store, holds exactly the seeded resources per type; the
 * manifest has the IG's shape; a runtime stopped mid-export resumes without duplicate files; an import loads NDJSON
 * into a second server, reporting lines that are not resources; bad kick-offs are refused with an OperationOutcome.
 * The runtime reaches the FHIR servers and the store through {@link TcpProxy}s: with counted faults (503 answers,
 * refused connections) an export and an import are retried and complete exactly; a store failing longer than the retry
 * budget ends the job with an OperationOutcome and no manifest. Two instances on one broker: a job runs at one of
 * them only (its lease), its status and cancel answer at both, and the job of an instance that stops (released) or is
 * SIGKILLed (its lease runs out) is taken over by the other and finished once, without a duplicate file.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FhirBulkDataIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String BUCKET = "cmm-bulk-data";
    private static final String ACCESS = "cmm-local";
    private static final String SECRET = "cmm-local-secret";
    private static final String DLQ = "fhir.bulk.dlq";
    /** The jobs' lease here (cmm.bulk.lease-ms): short, so a takeover after a kill comes within seconds. */
    private static final long LEASE_MS = 4000;

    private static Path folder;
    private static FhirServer fhir;
    private static FhirServer target;
    private static S3Store s3;
    private static RuntimeUnderTest env;
    /** The runtime reaches the FHIR servers and the store through these, so a test can make a peer fail for a while. */
    private static TcpProxy fhirLink;
    private static TcpProxy targetLink;
    private static TcpProxy s3Link;
    /** A second instance on the same broker (started by the two-instance tests) and its own link to the FHIR server. */
    private static RuntimeUnderTest second;
    private static TcpProxy secondFhirLink;
    private static Map<String, String> runtimeProperties;
    private static KafkaProducer<String, byte[]> producer;
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    /** Seeded ids per resource type. */
    private static final Map<String, Set<String>> seeded = new TreeMap<>();

    @BeforeAll
    static void start() throws Exception {
        System.setProperty("aws.requestChecksumCalculation", "when_required");
        System.setProperty("aws.responseChecksumValidation", "when_required");
        folder = Files.createTempDirectory("cmm-bulk-it");
        int fhirPort = FreePorts.next();
        int targetPort = FreePorts.next();
        int s3Port = FreePorts.next();
        fhir = new FhirServer("127.0.0.1", fhirPort).withPaging(5).start();
        target = new FhirServer("127.0.0.1", targetPort).start();
        s3 = new S3Store("127.0.0.1", s3Port, folder.resolve("s3"), ACCESS, SECRET, BUCKET).start();
        fhirLink = new TcpProxy("127.0.0.1", fhirPort);
        targetLink = new TcpProxy("127.0.0.1", targetPort);
        s3Link = new TcpProxy("127.0.0.1", s3Port);
        secondFhirLink = new TcpProxy("127.0.0.1", fhirPort);
        List<ObjectNode> resources = new ArrayList<>();
        for (int i = 1; i <= 12; i++) {
            resources.add(patient("p" + i));
        }
        for (int i = 1; i <= 7; i++) {
            resources.add(observation("o" + i, "p" + (i % 3 + 1), i % 2 == 0 ? 150 : 80));
        }
        for (int i = 1; i <= 3; i++) {
            resources.add(resource("Encounter", "e" + i).put("status", "finished"));
        }
        // p1 and p4 are the group's members: p1 has o3 and o6 (i % 3 == 0); p4 has none
        ObjectNode group = resource("Group", "g1").put("type", "person").put("actual", true);
        group.putArray("member").addObject().putObject("entity").put("reference", "Patient/p1");
        ((ArrayNode) group.get("member")).addObject().putObject("entity").put("reference", "Patient/p4");
        transaction(fhir.baseUrl(), resources);
        // the Group is not an exported type: created apart so it is not counted in seeded
        transaction(fhir.baseUrl(), List.of(group));
        resources.forEach(r -> seeded.computeIfAbsent(r.get("resourceType").asText(), t -> new TreeSet<>())
                .add(r.get("id").asText()));
        runtimeProperties = Map.ofEntries(
                        Map.entry("cmm.bulk.enabled", "true"),
                        // the FHIR servers' own next links follow the address they were asked at: the proxy's
                        Map.entry("cmm.bulk.fhir-base-url", through(fhirLink, fhir.baseUrl())),
                        Map.entry("cmm.bulk.import.fhir-base-url", through(targetLink, target.baseUrl())),
                        Map.entry("cmm.lake.s3.endpoint", through(s3Link, s3.endpoint())),
                        Map.entry("cmm.bulk.export.output-base-url", s3.endpoint() + "/" + BUCKET),
                        // a transient failure is retried: at most 8 attempts (the faults below are counted so the
                        // tests know how many are needed), back-off 100 ms doubling to 500 ms, within a minute
                        Map.entry("cmm.bulk.retry.max-attempts", "8"),
                        Map.entry("cmm.bulk.retry.budget-ms", "60000"),
                        Map.entry("cmm.bulk.retry.initial-backoff-ms", "100"),
                        Map.entry("cmm.bulk.retry.max-backoff-ms", "500"),
                        // the lighter server has no _lastUpdated search: the exporter filters _since itself
                        Map.entry("cmm.bulk.export.since-search-parameter", ""),
                        Map.entry("cmm.bulk.export.types", "Patient,Observation,Encounter"),
                        Map.entry("cmm.bulk.export.page-size", "5"),
                        Map.entry("cmm.bulk.export.max-resources-per-file", "4"),
                        Map.entry("cmm.bulk.export.retry-after-seconds", "1"),
                        Map.entry("cmm.bulk.import.batch-size", "3"),
                        Map.entry("cmm.bulk.processing.initial-backoff-ms", "200"),
                        Map.entry("cmm.bulk.processing.max-backoff-ms", "1000"),
                        Map.entry("cmm.bulk.lease-ms", String.valueOf(LEASE_MS)),
                        Map.entry("cmm.bulk.work-dir", folder.resolve("work").toString()));
        env = RuntimeUnderTest.flows("fhir-bulk-export-api", "fhir-bulk-export-requests", "fhir-bulk-import-requests")
                .with(runtimeProperties).start();
        producer = KafkaClients.forBootstrap(env.bootstrapServers()).producer("bulk-it", Map.of());
    }

    @AfterAll
    static void stop() throws Exception {
        if (producer != null) {
            producer.close();
        }
        if (second != null) {
            second.close();
        }
        if (env != null) {
            env.close();
        }
        for (AutoCloseable peer : new AutoCloseable[] {secondFhirLink, s3Link, targetLink, fhirLink, s3, target, fhir}) {
            if (peer != null) {
                peer.close();
            }
        }
    }

    /** A fault a test armed and its job did not meet (it failed first) must not reach the next test. */
    @AfterEach
    void healTheLinks() {
        for (TcpProxy link : new TcpProxy[] {fhirLink, targetLink, s3Link}) {
            link.heal();
        }
    }

    @Test
    @Order(1)
    void aSystemExportHoldsEverySeededResourceOnceInNdjsonFilesTheManifestNames() throws Exception {
        HttpResponse<String> kickOff = kickOff("/fhir/bulk/$export", "");
        assertEquals(202, kickOff.statusCode(), kickOff.body());
        String status = kickOff.headers().firstValue("Content-Location").orElseThrow();
        assertTrue(status.startsWith(base() + "/fhir/bulk/jobs/"), status);

        JsonNode manifest = awaitManifest(status);
        assertTrue(Instant.parse(manifest.get("transactionTime").asText()).isBefore(Instant.now().plusSeconds(1)));
        assertTrue(manifest.get("request").asText().endsWith("/fhir/bulk/$export"), manifest.toString());
        assertFalse(manifest.get("requiresAccessToken").asBoolean());
        assertEquals(0, manifest.get("error").size());
        Map<String, List<String>> exported = readOutput(manifest);
        assertEquals(seeded.keySet(), exported.keySet());
        exported.forEach((type, ids) -> {
            assertEquals(seeded.get(type), new TreeSet<>(ids), type);
            assertEquals(seeded.get(type).size(), ids.size(), type + " once each");
        });
        // at most 4 resources a file: 12 patients in 3 files, deterministic names per type and part
        List<String> patientFiles = new ArrayList<>();
        manifest.get("output").forEach(o -> {
            if (o.get("type").asText().equals("Patient")) {
                patientFiles.add(o.get("url").asText().replaceAll(".*/", ""));
            }
        });
        assertEquals(List.of("Patient.000001.ndjson", "Patient.000002.ndjson", "Patient.000003.ndjson"), patientFiles);
        // the completion event carries the same manifest, keyed by the job id
        String jobId = status.substring(status.lastIndexOf('/') + 1);
        var completions = env.topics().awaitRecords("fhir.bulk.export-completions", r -> jobId.equals(r.key()), 1);
        assertEquals(manifest, JSON.readTree(completions.get(0).value()));
    }

    @Test
    @Order(2)
    void typeFilterSinceAndGroupLevelExportOnlyWhatTheyAskFor() throws Exception {
        // _typeFilter: the server evaluates Observation?value-quantity=gt100 (o2, o4, o6)
        JsonNode filtered = awaitManifest(kickOff("/fhir/bulk/$export", "_type=Observation&_typeFilter="
                + URLEncoder.encode("Observation?value-quantity=gt100", StandardCharsets.UTF_8))
                .headers().firstValue("Content-Location").orElseThrow());
        assertEquals(Map.of("Observation", List.of("o2", "o4", "o6")), sorted(readOutput(filtered)));

        // _since: only what changed after the instant (p5, updated now)
        Instant since = Instant.now();
        transaction(fhir.baseUrl(), List.of(patient("p5").put("gender", "female")));
        JsonNode recent = awaitManifest(kickOff("/fhir/bulk/$export", "_type=Patient&_since=" + since)
                .headers().firstValue("Content-Location").orElseThrow());
        assertEquals(Map.of("Patient", List.of("p5")), readOutput(recent));

        // Group/g1: its members p1 and p4 and what is in their compartments (o3 and o6 have subject p1)
        JsonNode group = awaitManifest(kickOff("/fhir/bulk/Group/g1/$export", "_type=Patient,Observation")
                .headers().firstValue("Content-Location").orElseThrow());
        assertEquals(Map.of("Patient", List.of("p1", "p4"), "Observation", List.of("o3", "o6")),
                sorted(readOutput(group)));
        assertTrue(group.get("request").asText().contains("/fhir/bulk/Group/g1/$export"));
    }

    @Test
    @Order(3)
    void badKickOffsAreRefusedWithAnOperationOutcomeAndDeadLettered() throws Exception {
        Map<String, String> refused = Map.of(
                "_type=Foo", "Foo is not a FHIR R4 resource type",
                "_type=Practitioner", "is not exported by this server",
                "_since=yesterday", "is not a FHIR instant",
                "_outputFormat=" + URLEncoder.encode("text/csv", StandardCharsets.UTF_8), "is not supported",
                "_typeFilter=" + URLEncoder.encode("Observation", StandardCharsets.UTF_8), "is not [ResourceType]?[query]",
                "_elements=id", "_elements is not supported");
        for (var bad : refused.entrySet()) {
            HttpResponse<String> answer = kickOff("/fhir/bulk/$export", bad.getKey());
            assertEquals(400, answer.statusCode(), bad.getKey());
            JsonNode outcome = JSON.readTree(answer.body());
            assertEquals("OperationOutcome", outcome.get("resourceType").asText());
            assertTrue(outcome.at("/issue/0/diagnostics").asText().contains(bad.getValue()), answer.body());
            assertTrue(answer.headers().firstValue("Content-Location").isEmpty());
        }
        HttpResponse<String> noPrefer = HTTP.send(HttpRequest.newBuilder(URI.create(base() + "/fhir/bulk/$export"))
                .header("Accept", "application/fhir+json").GET().build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(400, noPrefer.statusCode());
        assertTrue(noPrefer.body().contains("Prefer: respond-async"), noPrefer.body());
        var dead = env.topics().awaitRecords(DLQ, r -> KafkaTopicReader.header(r, "dlq_reason") != null
                && KafkaTopicReader.header(r, "dlq_reason").contains("Foo is not a FHIR R4 resource type"), 1);
        assertEquals(1, dead.size());

        HttpResponse<String> unknown = HTTP.send(HttpRequest.newBuilder(URI.create(base() + "/fhir/bulk/jobs/no-such-job"))
                .GET().build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(404, unknown.statusCode());
        assertEquals("OperationOutcome", JSON.readTree(unknown.body()).get("resourceType").asText());
    }

    @Test
    @Order(4)
    void exportRequestsFromKafkaCompleteOnTheCompletionsTopicAndBadOnesAreDeadLettered() throws Exception {
        String request = """
                {"resourceType":"Parameters","parameter":[
                  {"name":"_type","valueString":"Encounter"},
                  {"name":"exportLevel","valueCode":"system"}]}""";
        producer.send(new ProducerRecord<>("fhir.bulk.export-requests", "kafka-job-1", request.getBytes(StandardCharsets.UTF_8))).get();
        producer.send(new ProducerRecord<>("fhir.bulk.export-requests", "kafka-job-bad",
                "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"_since\",\"valueInstant\":\"soon\"}]}"
                        .getBytes(StandardCharsets.UTF_8))).get();
        var completion = env.topics().awaitRecords("fhir.bulk.export-completions", r -> "kafka-job-1".equals(r.key()), 1);
        JsonNode manifest = JSON.readTree(completion.get(0).value());
        assertEquals(Map.of("Encounter", List.of("e1", "e2", "e3")), sorted(readOutput(manifest)));
        // the job is also at its status URL
        HttpResponse<String> status = HTTP.send(HttpRequest.newBuilder(URI.create(base() + "/fhir/bulk/jobs/kafka-job-1"))
                .GET().build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, status.statusCode());
        var dead = env.topics().awaitRecords(DLQ, r -> "kafka-job-bad".equals(r.key()), 1);
        assertTrue(KafkaTopicReader.header(dead.get(0), "dlq_reason").contains("_since soon"));
    }

    @Test
    @Order(5)
    void importLoadsNdjsonIntoTheServerInBatchesAndReportsLinesThatAreNotResources() throws Exception {
        // the round trip: the Patients exported by the first test, plus a file of our own with bad lines
        HttpResponse<String> kickOff = kickOff("/fhir/bulk/$export", "_type=Patient");
        JsonNode manifest = awaitManifest(kickOff.headers().firstValue("Content-Location").orElseThrow());
        String own = String.join("\n",
                "{\"resourceType\":\"Observation\",\"id\":\"imp-o1\",\"status\":\"final\",\"code\":{\"text\":\"x\"}}",
                "this is not json",
                "{\"resourceType\":\"Patient\",\"id\":\"imp-p1\"}",
                "{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"no id\"}}",
                "{\"resourceType\":\"Observation\",\"id\":\"imp-o2\",\"status\":\"final\",\"code\":{\"text\":\"y\"}}") + "\n";
        try (S3Client client = s3Client()) {
            client.putObject(b -> b.bucket(BUCKET).key("imports/observations.ndjson"), RequestBody.fromString(own));
        }
        ObjectNode request = JSON.createObjectNode().put("resourceType", "Parameters");
        ArrayNode parameters = request.putArray("parameter");
        parameters.addObject().put("name", "inputFormat").put("valueCode", "application/fhir+ndjson");
        for (JsonNode output : manifest.get("output")) {
            ArrayNode part = parameters.addObject().put("name", "input").putArray("part");
            part.addObject().put("name", "type").put("valueCode", output.get("type").asText());
            part.addObject().put("name", "url").put("valueUri", output.get("url").asText());
        }
        ArrayNode part = parameters.addObject().put("name", "input").putArray("part");
        part.addObject().put("name", "type").put("valueCode", "Observation");
        part.addObject().put("name", "url").put("valueUri", "s3://" + BUCKET + "/imports/observations.ndjson");
        producer.send(new ProducerRecord<>("fhir.bulk.import-requests", "import-1", JSON.writeValueAsBytes(request))).get();

        var completions = env.topics().awaitRecords("fhir.bulk.import-completions", r -> "import-1".equals(r.key()), 1);
        JsonNode completion = JSON.readTree(completions.get(0).value());
        assertEquals("completed", completion.get("status").asText(), completion.toString());
        assertEquals(12 + 2, completion.get("loaded").asInt(), completion.toString());
        assertEquals(3, completion.get("failed").asInt());
        List<String> locations = new ArrayList<>();
        completion.get("error").forEach(o -> {
            assertEquals("OperationOutcome", o.get("resourceType").asText());
            locations.add(o.at("/issue/0/location/0").asText().replaceAll(".*/", ""));
        });
        assertEquals(List.of("observations.ndjson line 2", "observations.ndjson line 3", "observations.ndjson line 4"),
                locations);
        // the second server holds exactly what was loaded
        for (String id : seeded.get("Patient")) {
            assertEquals(200, get(target.baseUrl() + "/Patient/" + id).statusCode(), id);
        }
        assertEquals(200, get(target.baseUrl() + "/Observation/imp-o1").statusCode());
        assertEquals(200, get(target.baseUrl() + "/Observation/imp-o2").statusCode());
        assertEquals(404, get(target.baseUrl() + "/Patient/imp-p1").statusCode());
        assertEquals(12, JSON.readTree(get(target.baseUrl() + "/Patient?_count=100").body()).path("entry").size());
    }

    @Test
    @Order(6)
    void cancellingAJobRemovesItAndItsFiles() throws Exception {
        HttpResponse<String> kickOff = kickOff("/fhir/bulk/$export", "");
        String status = kickOff.headers().firstValue("Content-Location").orElseThrow();
        HttpResponse<String> cancel = HTTP.send(HttpRequest.newBuilder(URI.create(status)).DELETE().build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(202, cancel.statusCode(), cancel.body());
        assertEquals(404, get(status).statusCode());
        String jobId = status.substring(status.lastIndexOf('/') + 1);
        // whatever the job wrote before it saw the cancellation is deleted with it (a last part may land after the
        // deletion only if the worker was mid-upload; it then stops before writing the next)
        await().atMost(Duration.ofSeconds(30)).until(() -> objectKeys("exports/" + jobId + "/").size() <= 1);
    }

    @Test
    @Order(7)
    void aRuntimeStoppedMidExportResumesTheJobWithoutDuplicateFiles() throws Exception {
        // 150 more Observations: 30 pages of 5, 40 files of 4; slow enough to stop the runtime in the middle
        List<ObjectNode> many = new ArrayList<>();
        for (int i = 1; i <= 150; i++) {
            many.add(observation("m" + i, "p1", i));
        }
        transaction(fhir.baseUrl(), many);
        Set<String> expected = new TreeSet<>(seeded.get("Observation"));
        many.forEach(r -> expected.add(r.get("id").asText()));

        String status = kickOff("/fhir/bulk/$export", "_type=Patient,Observation").headers()
                .firstValue("Content-Location").orElseThrow();
        String jobId = status.substring(status.lastIndexOf('/') + 1);
        await().atMost(Duration.ofSeconds(60)).until(() -> objectKeys("exports/" + jobId + "/Observation.").size() >= 3);
        assertEquals(202, get(status).statusCode(), "still running when the runtime stops");
        env.stopRuntime();
        // the store's connections pass the proxy: a runtime stopped in its JVM may leave an upload's connection open
        // (a process that dies would reset it), and s3proxy fails every listing while an upload is in flight
        s3Link.resetOpenConnections();
        Set<String> beforeRestart = objectKeys("exports/" + jobId + "/");
        env.startRuntime();

        JsonNode manifest = awaitManifest(status);
        Map<String, List<String>> exported = readOutput(manifest);
        assertEquals(expected, new TreeSet<>(exported.get("Observation")));
        assertEquals(expected.size(), exported.get("Observation").size(), "no Observation twice");
        assertEquals(seeded.get("Patient"), new TreeSet<>(exported.get("Patient")));
        assertEquals(seeded.get("Patient").size(), exported.get("Patient").size(), "no Patient twice");
        // the store holds exactly the manifest's files: the restarted type overwrote its parts, nothing else stayed
        Set<String> manifestKeys = new TreeSet<>();
        manifest.get("output").forEach(o -> manifestKeys.add(key(o.get("url").asText())));
        assertEquals(manifestKeys, new TreeSet<>(objectKeys("exports/" + jobId + "/")));
        assertTrue(manifestKeys.containsAll(beforeRestart), "the resumed job wrote the same names");
    }

    @Test
    @Order(8)
    void anExportRetriesAFhirServerAndAStoreThatFailForAWhileAndCompletesWithTheRightFiles() throws Exception {
        // the FHIR server answers 503 three times, then refuses three connections; the store answers 503 to four
        // connections and refuses three (more than the S3 client's own three tries: the exporter must retry)
        fhirLink.answerNext(3, 503).refuseNext(3);
        s3Link.answerNext(4, 503).refuseNext(3);
        int faultsBefore = fhirLink.faultsServed() + s3Link.faultsServed();
        String status = kickOff("/fhir/bulk/$export", "_type=Patient,Encounter").headers()
                .firstValue("Content-Location").orElseThrow();
        JsonNode manifest = awaitManifest(status);
        assertEquals(0, fhirLink.faultsPending() + s3Link.faultsPending(), "every fault was met");
        assertEquals(13, fhirLink.faultsServed() + s3Link.faultsServed() - faultsBefore);
        Map<String, List<String>> exported = readOutput(manifest);
        assertEquals(Set.of("Patient", "Encounter"), exported.keySet());
        exported.forEach((type, ids) -> {
            assertEquals(seeded.get(type), new TreeSet<>(ids), type);
            assertEquals(seeded.get(type).size(), ids.size(), type + " once each");
        });
        String jobId = status.substring(status.lastIndexOf('/') + 1);
        Set<String> manifestKeys = new TreeSet<>();
        manifest.get("output").forEach(o -> manifestKeys.add(key(o.get("url").asText())));
        assertEquals(manifestKeys, new TreeSet<>(objectKeys("exports/" + jobId + "/")));
        assertEquals(List.of(manifest), committedValues("fhir.bulk.export-completions", jobId));
    }

    @Test
    @Order(9)
    void anImportRetriesAStoreAndAFhirServerThatFailForAWhileAndLoadsEachLineOnce() throws Exception {
        s3Link.refuseNext(4);
        targetLink.answerNext(2, 503).refuseNext(2);
        ObjectNode request = JSON.createObjectNode().put("resourceType", "Parameters");
        ArrayNode parameters = request.putArray("parameter");
        parameters.addObject().put("name", "inputFormat").put("valueCode", "application/fhir+ndjson");
        ArrayNode part = parameters.addObject().put("name", "input").putArray("part");
        part.addObject().put("name", "type").put("valueCode", "Observation");
        part.addObject().put("name", "url").put("valueUri", "s3://" + BUCKET + "/imports/observations.ndjson");
        producer.send(new ProducerRecord<>("fhir.bulk.import-requests", "import-retried", JSON.writeValueAsBytes(request))).get();

        var completions = env.topics().awaitRecords("fhir.bulk.import-completions", r -> "import-retried".equals(r.key()), 1);
        JsonNode completion = JSON.readTree(completions.get(0).value());
        assertEquals("completed", completion.get("status").asText(), completion.toString());
        assertEquals(2, completion.get("loaded").asInt(), completion.toString());
        assertEquals(3, completion.get("failed").asInt(), completion.toString());
        assertEquals(0, s3Link.faultsPending() + targetLink.faultsPending(), "every fault was met");
    }

    @Test
    @Order(10)
    void aStoreFailingLongerThanTheRetryBudgetEndsTheJobWithAnOperationOutcomeAndNoManifest() throws Exception {
        // the Patient files are written; every upload of an Observation file is refused, whatever the attempt
        s3Link.refuseRequestsContaining("/Observation.");
        try {
            String status = kickOff("/fhir/bulk/$export", "_type=Patient,Observation").headers()
                    .firstValue("Content-Location").orElseThrow();
            String jobId = status.substring(status.lastIndexOf('/') + 1);
            AtomicReference<HttpResponse<String>> last = new AtomicReference<>();
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() -> {
                last.set(get(status));
                return last.get().statusCode() != 202;
            });
            assertEquals(500, last.get().statusCode(), last.get().body());
            JsonNode outcome = JSON.readTree(last.get().body());
            assertEquals("OperationOutcome", outcome.get("resourceType").asText());
            assertTrue(outcome.at("/issue/0/diagnostics").asText().contains("8 attempts"), outcome.toString());
            // the completion is the OperationOutcome, once; no manifest anywhere
            List<JsonNode> completions = committedValues("fhir.bulk.export-completions", jobId);
            assertEquals(1, completions.size(), completions.toString());
            assertEquals("OperationOutcome", completions.get(0).get("resourceType").asText());
            assertTrue(s3Link.faultsServed() >= 8);
            s3Link.heal();
            // the files of the failed job are removed (the store is back for the deletes)
            await().atMost(Duration.ofSeconds(30)).until(() -> objectKeys("exports/" + jobId + "/").isEmpty());
        } finally {
            s3Link.heal();
        }
    }

    @Test
    @Order(11)
    void aJobRunsAtTheInstanceThatAcceptedItOnlyAndItsStatusAndCancelAnswerAtAnother() throws Exception {
        // the job waits on the FHIR server at this instance (a partition: nothing answers, nothing is refused)...
        fhirLink.partition();
        try {
            String status = kickOff("/fhir/bulk/$export", "_type=Encounter").headers()
                    .firstValue("Content-Location").orElseThrow();
            String jobId = status.substring(status.lastIndexOf('/') + 1);
            await().atMost(Duration.ofSeconds(30)).until(() -> get(status).headers().firstValue("X-Progress")
                    .orElse("").startsWith("in-progress"));
            // ...while a second instance on the same cluster starts, finds the job in progress on the job topic and
            // leaves it to its runner: for two leases it never asks its own FHIR link for anything, while the runner
            // renews its lease
            second = startSecond();
            String atSecond = "http://127.0.0.1:" + second.httpPort() + "/fhir/bulk/jobs/" + jobId;
            Instant secondUp = Instant.now();
            await().during(Duration.ofMillis(2 * LEASE_MS)).atMost(Duration.ofMillis(2 * LEASE_MS).plusSeconds(30))
                    .until(() -> secondFhirLink.accepted() == 0);
            assertTrue(Instant.parse(lastRecord(jobId).path("leaseUntil").asText()).isAfter(secondUp.plusMillis(LEASE_MS)),
                    "the runner renewed its lease meanwhile");
            assertTrue(exports(env).runs(jobId), "the accepting instance runs the job");
            assertFalse(exports(second).runs(jobId), "the second instance does not");
            assertEquals(0, secondFhirLink.accepted(), "the second instance never asked the FHIR server");
            assertEquals(1, owners(jobId).size(), "one owner in every record of the job: " + owners(jobId));
            // the second instance answers the status from the topic, and cancels the job running at the first
            HttpResponse<String> progress = get(atSecond);
            assertEquals(202, progress.statusCode(), progress.body());
            assertTrue(progress.headers().firstValue("X-Progress").orElse("").startsWith("in-progress"));
            HttpResponse<String> cancel = HTTP.send(HttpRequest.newBuilder(URI.create(atSecond)).DELETE().build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(202, cancel.statusCode(), cancel.body());
            assertEquals(404, get(atSecond).statusCode());
            await().atMost(Duration.ofSeconds(30)).until(() -> get(status).statusCode() == 404);
            // the runner saw the cancel: once its FHIR server answers again it stops, writing nothing more
            fhirLink.heal();
            await().atMost(Duration.ofSeconds(30)).until(() -> !exports(env).runs(jobId));
            assertEquals("cancelled", lastRecord(jobId).path("status").asText());
            assertEquals(List.of(), committedValues("fhir.bulk.export-completions", jobId));
            assertEquals(Set.of(), objectKeys("exports/" + jobId + "/"));
            assertEquals(0, secondFhirLink.accepted());
        } finally {
            fhirLink.heal();
        }
    }

    @Test
    @Order(12)
    void aJobOfAnInstanceThatStopsIsTakenOverByAnotherAndFinishedOnceWithoutDuplicateFiles() throws Exception {
        Set<String> expected = seedManyObservations();
        if (second == null) {
            second = startSecond();
        }
        // the second instance accepts and runs the job, slowed by its FHIR link; the first answers its status
        secondFhirLink.latency(50);
        String secondStatus = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + second.httpPort()
                        + "/fhir/bulk/$export?_type=Observation")).header("Prefer", "respond-async").GET().build(),
                HttpResponse.BodyHandlers.ofString()).headers().firstValue("Content-Location").orElseThrow();
        String jobId = secondStatus.substring(secondStatus.lastIndexOf('/') + 1);
        String status = base() + "/fhir/bulk/jobs/" + jobId;
        int firstConnections = fhirLink.accepted();
        await().atMost(Duration.ofSeconds(60)).until(() -> objectKeys("exports/" + jobId + "/Observation.").size() >= 3);
        assertEquals(202, get(status).statusCode(), "running, and known at the instance that did not accept it");
        assertTrue(exports(second).runs(jobId));
        assertFalse(exports(env).runs(jobId));
        assertEquals(firstConnections, fhirLink.accepted(), "the first instance leaves the job to its runner");
        String secondOwner = lastRecord(jobId).path("owner").asText();
        // the second instance stops mid-job: it releases the job, and the first takes it over and finishes it
        second.close();
        second = null;
        s3Link.resetOpenConnections(); // as aRuntimeStoppedMidExportResumesTheJobWithoutDuplicateFiles does
        JsonNode manifest = awaitManifest(status);
        assertExactly(expected, manifest, jobId);
        List<String> owners = owners(jobId);
        assertEquals(2, owners.size(), owners.toString());
        assertEquals(secondOwner, owners.get(0));
        assertEquals(List.of(manifest), committedValues("fhir.bulk.export-completions", jobId));
    }

    @Test
    @Order(13)
    void aJobOfAKilledInstanceIsTakenOverOnceItsLeaseRanOutAndFinishedOnceWithoutDuplicateFiles() throws Exception {
        Set<String> expected = seedManyObservations();
        try (TcpProxy childFhirLink = new TcpProxy("127.0.0.1", Integer.parseInt(fhir.baseUrl().replaceAll(".*:(\\d+).*", "$1")))) {
            childFhirLink.latency(50);
            int childPort = FreePorts.next();
            String childStatus;
            try (ChildRuntime child = new ChildRuntime(childProperties(childFhirLink, childPort), "384m", childLog())) {
                // the child runtime is up when its kick-off answers
                AtomicReference<HttpResponse<String>> accepted = new AtomicReference<>();
                await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500)).ignoreExceptions()
                        .until(() -> {
                            accepted.set(HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + childPort
                                    + "/fhir/bulk/$export?_type=Observation")).header("Prefer", "respond-async").GET()
                                    .build(), HttpResponse.BodyHandlers.ofString()));
                            return accepted.get().statusCode() == 202;
                        });
                childStatus = accepted.get().headers().firstValue("Content-Location").orElseThrow();
                String jobId = childStatus.substring(childStatus.lastIndexOf('/') + 1);
                await().atMost(Duration.ofSeconds(60)).until(() -> objectKeys("exports/" + jobId + "/Observation.").size() >= 3);
                assertFalse(exports(env).runs(jobId));
                child.kill();
            }
            String jobId = childStatus.substring(childStatus.lastIndexOf('/') + 1);
            s3Link.resetOpenConnections();
            // the first instance, which did not accept the job, finishes it
            JsonNode manifest = awaitManifest(base() + "/fhir/bulk/jobs/" + jobId);
            assertExactly(expected, manifest, jobId);
            List<String> owners = owners(jobId);
            assertEquals(2, owners.size(), owners.toString());
            // ...but only once the killed runner's last lease ran out: it released nothing
            Instant childLease = jobRecords(jobId).stream().filter(r -> owners.get(0).equals(r.path("owner").asText()))
                    .map(r -> Instant.parse(r.path("leaseUntil").asText())).max(Instant::compareTo).orElseThrow();
            JsonNode claim = jobRecords(jobId).stream().filter(r -> owners.get(1).equals(r.path("owner").asText()))
                    .findFirst().orElseThrow();
            Instant claimedAt = Instant.parse(claim.path("leaseUntil").asText()).minusMillis(LEASE_MS);
            assertFalse(claimedAt.isBefore(childLease), "taken at " + claimedAt + ", the lease ran until " + childLease);
            assertEquals(List.of(manifest), committedValues("fhir.bulk.export-completions", jobId));
        }
    }

    // ---- helpers ---------------------------------------------------------------------------------------------------

    /** A second instance on the same broker, reaching the FHIR server through a link of its own. */
    private static RuntimeUnderTest startSecond() throws Exception {
        return RuntimeUnderTest.flows("fhir-bulk-export-api", "fhir-bulk-export-requests", "fhir-bulk-import-requests")
                .broker(env.broker()).with(runtimeProperties)
                .with("cmm.bulk.fhir-base-url", through(secondFhirLink, fhir.baseUrl()))
                .with("cmm.bulk.work-dir", folder.resolve("work-2").toString()).start();
    }

    private static BulkExports exports(RuntimeUnderTest runtime) {
        return runtime.runtime().camelContext().getRegistry().lookupByNameAndType("bulkExports", BulkExports.class);
    }

    /** The job's committed records on the export job topic, in order. */
    private static List<JsonNode> jobRecords(String jobId) throws Exception {
        return committedValues("fhir.bulk.export-jobs", jobId);
    }

    private static JsonNode lastRecord(String jobId) throws Exception {
        List<JsonNode> records = jobRecords(jobId);
        return records.get(records.size() - 1);
    }

    /** The owners of the job's records in the order they took it (the instance ids, each once). */
    private static List<String> owners(String jobId) throws Exception {
        List<String> owners = new ArrayList<>();
        for (JsonNode r : jobRecords(jobId)) {
            String owner = r.path("owner").asText("");
            if (!owner.isEmpty() && (owners.isEmpty() || !owners.get(owners.size() - 1).equals(owner))) {
                owners.add(owner);
            }
        }
        return owners;
    }

    /** 150 more Observations (updates: seeding them again changes nothing): every Observation the server has. */
    private static Set<String> seedManyObservations() throws Exception {
        List<ObjectNode> many = new ArrayList<>();
        for (int i = 1; i <= 150; i++) {
            many.add(observation("m" + i, "p1", i));
        }
        transaction(fhir.baseUrl(), many);
        Set<String> expected = new TreeSet<>(seeded.get("Observation"));
        many.forEach(r -> expected.add(r.get("id").asText()));
        return expected;
    }

    /** The manifest's Observations are exactly these, each once, and the store holds exactly the manifest's files. */
    private static void assertExactly(Set<String> expected, JsonNode manifest, String jobId) throws Exception {
        Map<String, List<String>> exported = readOutput(manifest);
        assertEquals(expected, new TreeSet<>(exported.get("Observation")));
        assertEquals(expected.size(), exported.get("Observation").size(), "no Observation twice");
        Set<String> manifestKeys = new TreeSet<>();
        manifest.get("output").forEach(o -> manifestKeys.add(key(o.get("url").asText())));
        assertEquals(manifestKeys, new TreeSet<>(objectKeys("exports/" + jobId + "/")));
    }

    /** A runtime of the bulk flows in a JVM of its own (to be SIGKILLed), on this class's broker and store. */
    private static Map<String, String> childProperties(TcpProxy childFhirLink, int httpPort) {
        Map<String, String> p = new HashMap<>(runtimeProperties);
        p.put("cmm.flows", "fhir-bulk-export-api,fhir-bulk-export-requests,fhir-bulk-import-requests");
        p.put("cmm.kafka.bootstrap-servers", env.bootstrapServers());
        p.put("cmm.bulk.fhir-base-url", through(childFhirLink, fhir.baseUrl()));
        p.put("cmm.bulk.work-dir", folder.resolve("work-child").toString());
        p.put("cmm.analytics.state-dir", folder.resolve("child-analytics").toString());
        p.put("camel.main.jmx-enabled", "false");
        p.put("camel.management.host", "127.0.0.1");
        p.put("camel.management.port", String.valueOf(FreePorts.next()));
        p.put("camel.server.host", "127.0.0.1");
        p.put("camel.server.port", String.valueOf(httpPort));
        p.put("cmm.mllp.host", "127.0.0.1");
        p.put("cmm.mllp.port", String.valueOf(FreePorts.next()));
        for (String listener : List.of("cmm.lab.results", "cmm.pharmacy.dispensing", "cmm.device.alerts.pcd", "cmm.device.pcd")) {
            p.put(listener + ".host", "127.0.0.1");
            p.put(listener + ".port", String.valueOf(FreePorts.next()));
        }
        p.put("cmm.fhir.subscription.websocket.host", "127.0.0.1");
        p.put("cmm.fhir.subscription.websocket.port", String.valueOf(FreePorts.next()));
        return p;
    }

    /** The child runtime's output, kept beside the failsafe reports. */
    private static Path childLog() throws java.io.IOException {
        return Files.createDirectories(Path.of("target", "failsafe-reports")).resolve("FhirBulkDataIT-child-runtime.log");
    }


    /** The URL with the proxy's port in place of the peer's. */
    private static String through(TcpProxy link, String url) {
        return url.replaceFirst("^(http://127\\.0\\.0\\.1):\\d+", "$1:" + link.port());
    }

    /**
     * The values of a job's records as a read_committed consumer reads them (what a completion's readers should use:
     * records of a transaction that was never committed are not theirs).
     */
    private static List<JsonNode> committedValues(String topic, String key) throws Exception {
        List<JsonNode> values = new ArrayList<>();
        try (var consumer = KafkaClients.forBootstrap(env.bootstrapServers()).consumer("bulk-it-committed", null,
                Map.of(org.apache.kafka.clients.consumer.ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"))) {
            List<org.apache.kafka.clients.consumer.ConsumerRecord<String, byte[]>> records = new ArrayList<>();
            org.cmm.eventbroker.platform.kafka.TopicsToEnd.read(consumer, List.of(topic), 0, Duration.ofSeconds(30),
                    records::add);
            for (var r : records) {
                if (key.equals(r.key())) {
                    values.add(JSON.readTree(r.value()));
                }
            }
        }
        return values;
    }

    private static String base() {
        return "http://127.0.0.1:" + env.httpPort();
    }

    private static HttpResponse<String> kickOff(String path, String query) throws Exception {
        String url = base() + path + (query.isEmpty() ? "" : "?" + query);
        return HTTP.send(HttpRequest.newBuilder(URI.create(url)).header("Accept", "application/fhir+json")
                .header("Prefer", "respond-async").GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> get(String url) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(url)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode awaitManifest(String statusUrl) {
        AtomicReference<HttpResponse<String>> last = new AtomicReference<>();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() -> {
            HttpResponse<String> answer = get(statusUrl);
            last.set(answer);
            if (answer.statusCode() == 202) {
                assertTrue(answer.headers().firstValue("X-Progress").isPresent());
                return false;
            }
            return true;
        });
        assertEquals(200, last.get().statusCode(), last.get().body());
        try {
            return JSON.readTree(last.get().body());
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    /** Every file of the manifest read back from the store: ids per type, checking each file's count. */
    private static Map<String, List<String>> readOutput(JsonNode manifest) throws Exception {
        Map<String, List<String>> ids = new TreeMap<>();
        try (S3Client client = s3Client()) {
            for (JsonNode output : manifest.get("output")) {
                String type = output.get("type").asText();
                int lines = 0;
                try (var in = client.getObject(b -> b.bucket(BUCKET).key(key(output.get("url").asText())));
                     BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = reader.readLine()) != null) {
                        JsonNode resource = JSON.readTree(line);
                        assertEquals(type, resource.get("resourceType").asText());
                        ids.computeIfAbsent(type, t -> new ArrayList<>()).add(resource.get("id").asText());
                        lines++;
                    }
                }
                assertEquals(output.get("count").asInt(), lines, output.toString());
            }
        }
        return ids;
    }

    private static Map<String, List<String>> sorted(Map<String, List<String>> ids) {
        Map<String, List<String>> sorted = new HashMap<>();
        ids.forEach((t, l) -> sorted.put(t, l.stream().sorted().toList()));
        return sorted;
    }

    private static String key(String url) {
        String prefix = s3.endpoint() + "/" + BUCKET + "/";
        assertTrue(url.startsWith(prefix), url);
        return url.substring(prefix.length());
    }

    private static S3Client s3Client() {
        return S3Client.builder().endpointOverride(URI.create(s3.endpoint())).forcePathStyle(true)
                .region(Region.US_EAST_1)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(ACCESS, SECRET)))
                .build();
    }

    private static Set<String> objectKeys(String prefix) {
        // s3proxy's filesystem store lists an upload still in flight by its temporary file and then fails the whole
        // listing (500: the file has no metadata yet), e.g. just after the runtime stopped mid-upload; list again
        java.util.concurrent.atomic.AtomicReference<Set<String>> listed = new java.util.concurrent.atomic.AtomicReference<>();
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500))
                .ignoreExceptionsInstanceOf(software.amazon.awssdk.services.s3.model.S3Exception.class).until(() -> {
                    try (S3Client client = s3Client()) {
                        Set<String> keys = new HashSet<>();
                        client.listObjectsV2Paginator(b -> b.bucket(BUCKET).prefix(prefix)).contents()
                                .forEach(o -> keys.add(o.key()));
                        listed.set(keys);
                        return true;
                    }
                });
        return listed.get();
    }

    private static ObjectNode resource(String type, String id) {
        return JSON.createObjectNode().put("resourceType", type).put("id", id);
    }

    private static ObjectNode patient(String id) {
        ObjectNode patient = resource("Patient", id);
        patient.putArray("name").addObject().put("family", "Test-" + id);
        return patient;
    }

    private static ObjectNode observation(String id, String patient, int value) {
        ObjectNode observation = resource("Observation", id).put("status", "final");
        observation.putObject("code").putArray("coding").addObject().put("system", "http://loinc.org").put("code", "8867-4");
        observation.putObject("subject").put("reference", "Patient/" + patient);
        observation.putObject("valueQuantity").put("value", value).put("unit", "/min");
        return observation;
    }

    /** Seeds the server through its transaction endpoint: updates with the given ids. */
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
        assertNotNull(answer.body());
    }

}
