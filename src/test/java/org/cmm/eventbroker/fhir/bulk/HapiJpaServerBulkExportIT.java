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
import org.cmm.eventbroker.stack.S3Store;
import org.cmm.eventbroker.testsupport.FreePorts;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Bulk export against the FHIR server hospitals run: HAPI FHIR's JPA server (8.6.1 on H2, {@link HapiJpaPeer}, a JVM
 * of its own) with its own {@code $export}. With {@code cmm.bulk.export.server-export=auto} the runtime reads its
 * CapabilityStatement, finds {@code $export} and uses it; with {@code never} it pages through the same server's
 * searches; both exports hold the same NDJSON lines, exactly the seeded resources. The restart, cancel and failure
 * cases of the server's {@code $export} are in {@code FhirServerBulkExportIT}, whose peer can be held mid-job.
 */
class HapiJpaServerBulkExportIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final String BUCKET = "cmm-bulk-data";
    private static final String ACCESS = "cmm-local";
    private static final String SECRET = "cmm-local-secret";

    private static HapiJpaPeer hapi;
    private static S3Store store;
    private static RuntimeUnderTest env;
    private static final Set<String> seeded = new TreeSet<>();

    @BeforeAll
    static void start() throws Exception {
        System.setProperty("aws.requestChecksumCalculation", "when_required");
        System.setProperty("aws.responseChecksumValidation", "when_required");
        Path folder = Files.createTempDirectory("cmm-hapi-jpa-it");
        hapi = HapiJpaPeer.start(Boolean.getBoolean("cmm.test.maven-offline"), 300);
        List<ObjectNode> resources = new ArrayList<>();
        for (int i = 1; i <= 12; i++) {
            ObjectNode patient = JSON.createObjectNode().put("resourceType", "Patient").put("id", "p" + i);
            patient.putArray("name").addObject().put("family", "Test-" + i);
            resources.add(patient);
            seeded.add("Patient/p" + i);
        }
        for (int i = 1; i <= 9; i++) {
            ObjectNode observation = JSON.createObjectNode().put("resourceType", "Observation").put("id", "o" + i)
                    .put("status", "final");
            observation.putObject("code").put("text", "heart rate");
            observation.putObject("subject").put("reference", "Patient/p" + (i % 4 + 1));
            resources.add(observation);
            seeded.add("Observation/o" + i);
        }
        transaction(hapi.baseUrl(), resources);
        store = new S3Store("127.0.0.1", FreePorts.next(), folder.resolve("s3"), ACCESS, SECRET, BUCKET).start();
        env = RuntimeUnderTest.flows("fhir-bulk-export-api").with(Map.ofEntries(
                Map.entry("cmm.bulk.enabled", "true"),
                Map.entry("cmm.bulk.fhir-base-url", hapi.baseUrl()),
                Map.entry("cmm.bulk.export.server-export", "auto"),
                // HAPI answers Retry-After: 120 while its job runs: polled every second at most here
                Map.entry("cmm.bulk.export.server-export.min-poll-ms", "200"),
                Map.entry("cmm.bulk.export.server-export.max-poll-ms", "1000"),
                Map.entry("cmm.bulk.export.types", "Patient,Observation"),
                Map.entry("cmm.bulk.export.page-size", "5"),
                Map.entry("cmm.bulk.export.max-resources-per-file", "4"),
                Map.entry("cmm.bulk.export.retry-after-seconds", "1"),
                Map.entry("cmm.lake.s3.endpoint", store.endpoint()),
                Map.entry("cmm.bulk.export.output-base-url", store.endpoint() + "/" + BUCKET),
                Map.entry("cmm.bulk.work-dir", folder.resolve("work").toString()),
                // a job's end is the broker's first Kafka transaction: slow to set up on a loaded machine
                Map.entry("camel.component.kafka.delivery-timeout-ms", "30000"))).start();
    }

    @AfterAll
    static void stop() throws Exception {
        for (AutoCloseable closeable : new AutoCloseable[] {env, store, hapi}) {
            if (closeable != null) {
                closeable.close();
            }
        }
    }

    @Test
    void autoModeUsesHapisOwnExportAndYieldsTheSameLinesAsPagedSearchesOfTheSameServer() throws Exception {
        String throughExport = kickOff();
        JsonNode exported = awaitManifest(throughExport);
        assertTrue(serverStatusUrl(throughExport).contains("$export-poll-status"),
                "auto chose HAPI's $export: " + serverStatusUrl(throughExport));
        Set<String> exportLines = lines(exported);

        // the same server read by paged searches: the runtime again, with the server's $export switched off
        env.stopRuntime();
        env.startRuntime(Map.of("cmm.bulk.export.server-export", "never"));
        String bySearches = kickOff();
        JsonNode searched = awaitManifest(bySearches);
        assertEquals(null, serverStatusUrl(bySearches), "never: paged searches");
        Set<String> searchLines = lines(searched);

        assertEquals(searchLines, exportLines);
        Set<String> ids = new TreeSet<>();
        for (String line : exportLines) {
            JsonNode resource = JSON.readTree(line);
            ids.add(resource.get("resourceType").asText() + "/" + resource.get("id").asText());
        }
        assertEquals(seeded, ids);
        assertEquals(seeded.size(), exportLines.size());
        assertFalse(exported.get("requiresAccessToken").asBoolean(), "our files: read with the store's credentials");
    }

    private static String kickOff() throws Exception {
        HttpResponse<String> answer = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + env.httpPort()
                + "/fhir/bulk/$export")).header("Prefer", "respond-async").GET().build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(202, answer.statusCode(), answer.body());
        return answer.headers().firstValue("Content-Location").orElseThrow();
    }

    private static JsonNode awaitManifest(String status) throws Exception {
        AtomicReference<HttpResponse<String>> last = new AtomicReference<>();
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(250)).until(() -> {
            last.set(HTTP.send(HttpRequest.newBuilder(URI.create(status)).GET().build(), HttpResponse.BodyHandlers.ofString()));
            return last.get().statusCode() != 202;
        });
        assertEquals(200, last.get().statusCode(), last.get().body());
        return JSON.readTree(last.get().body());
    }

    private static String serverStatusUrl(String status) throws Exception {
        String jobId = status.substring(status.lastIndexOf('/') + 1);
        String url = null;
        for (var record : env.topics().readAll("fhir.bulk.export-jobs")) {
            if (jobId.equals(record.key())) {
                url = JSON.readTree(record.value()).path("serverExport").path("statusUrl").asText(null);
            }
        }
        return url;
    }

    /** The lines of the manifest's files in the runtime's store, each file's count checked. */
    private static Set<String> lines(JsonNode manifest) throws Exception {
        Set<String> lines = new HashSet<>();
        String prefix = store.endpoint() + "/" + BUCKET + "/";
        try (S3Client client = S3Client.builder().endpointOverride(URI.create(store.endpoint())).forcePathStyle(true)
                .region(Region.US_EAST_1)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(ACCESS, SECRET)))
                .build()) {
            for (JsonNode output : manifest.get("output")) {
                String key = output.get("url").asText().substring(prefix.length());
                int count = 0;
                try (BufferedReader reader = new BufferedReader(new InputStreamReader(
                        client.getObject(b -> b.bucket(BUCKET).key(key)), StandardCharsets.UTF_8))) {
                    for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                        assertTrue(lines.add(line), "a line twice in " + key);
                        count++;
                    }
                }
                assertEquals(output.get("count").asInt(), count, output.toString());
            }
        }
        return lines;
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
