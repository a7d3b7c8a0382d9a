package org.cmm.eventbroker.fhir.bulk;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.cmm.eventbroker.stack.S3Store;
import org.cmm.eventbroker.testsupport.FreePorts;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The runtime's bulk export against HAPI FHIR's JPA server (8.6.1 on H2, {@code src/test/hapi-jpa}), the FHIR server
 * hospitals run, with its own {@code $export}: builds that peer's class path with Maven, starts it in a JVM of its own,
 * seeds {@code bench.hapi.patients} Patients (default 50) with one Observation each, and exports them through the
 * runtime with {@code cmm.bulk.export.server-export=auto}. Checks that the runtime chose the server's {@code $export}
 * (its job record holds the server's status URL) and that its files hold exactly the seeded resources. A check run by
 * hand (the peer starts in 20 s to 2 min and needs its own 243 jars), not a test and not a benchmark.
 *
 * <pre>
 * mvn -B -o -Pbench -DskipTests test-compile dependency:build-classpath -Dmdep.outputFile=target/bench-cp.txt -Dmdep.includeScope=test
 * java -cp target/test-classes:target/classes:$(cat target/bench-cp.txt) org.cmm.eventbroker.fhir.bulk.HapiJpaServerExportCheck
 * </pre>
 * ({@code -Dbench.offline=true} builds the peer's class path with {@code mvn -o}.)
 */
public final class HapiJpaServerExportCheck {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private HapiJpaServerExportCheck() {
    }

    public static void main(String[] args) throws Exception {
        int patients = Integer.getInteger("bench.hapi.patients", 50);
        Path peer = Path.of("src/test/hapi-jpa").toAbsolutePath();
        List<String> build = new ArrayList<>(List.of("mvn", "-B", "-q"));
        if (Boolean.getBoolean("bench.offline")) {
            build.add("-o");
        }
        build.addAll(List.of("compile", "dependency:build-classpath", "-Dmdep.outputFile=target/cp.txt"));
        Process maven = new ProcessBuilder(build).directory(peer.toFile()).inheritIO().start();
        if (maven.waitFor() != 0) {
            throw new IllegalStateException("the HAPI JPA peer did not build: " + String.join(" ", build));
        }
        String classPath = peer.resolve("target/classes") + java.io.File.pathSeparator
                + Files.readString(peer.resolve("target/cp.txt")).trim();
        int port = FreePorts.next();
        String java = ProcessHandle.current().info().command().orElse("java");
        Process hapi = new ProcessBuilder(java, "-Xmx768m", "-cp", classPath,
                "org.cmm.eventbroker.peers.HapiJpaBulkExportServer", String.valueOf(port)).redirectErrorStream(true).start();
        System.setProperty("aws.requestChecksumCalculation", "when_required");
        System.setProperty("aws.responseChecksumValidation", "when_required");
        Path folder = Files.createTempDirectory("cmm-hapi-jpa-check");
        try {
            String fhir = awaitStarted(hapi);
            System.out.println("HAPI JPA server at " + fhir);
            Set<String> expected = new TreeSet<>();
            for (int i = 0; i < patients; i++) {
                put(fhir, "Patient", "p" + i, "{\"resourceType\":\"Patient\",\"id\":\"p" + i + "\",\"gender\":\"unknown\"}");
                put(fhir, "Observation", "o" + i, "{\"resourceType\":\"Observation\",\"id\":\"o" + i + "\",\"status\":\"final\","
                        + "\"code\":{\"text\":\"heart rate\"},\"subject\":{\"reference\":\"Patient/p" + i + "\"}}");
                expected.add("Patient/p" + i);
                expected.add("Observation/o" + i);
            }
            try (S3Store s3 = new S3Store("127.0.0.1", FreePorts.next(), folder.resolve("s3"), "cmm-local",
                    "cmm-local-secret", "cmm-bulk-data").start();
                 RuntimeUnderTest env = RuntimeUnderTest.flows("fhir-bulk-export-api").with(Map.of(
                         "cmm.bulk.enabled", "true",
                         "cmm.bulk.fhir-base-url", fhir,
                         "cmm.bulk.export.server-export", "auto",
                         // HAPI answers Retry-After: 120 while a job runs; a check need not wait that long
                         "cmm.bulk.export.server-export.max-poll-ms", "2000",
                         "cmm.bulk.export.server-export.min-poll-ms", "200",
                         "cmm.bulk.export.types", "Patient,Observation",
                         "cmm.lake.s3.endpoint", s3.endpoint(),
                         "cmm.bulk.export.output-base-url", s3.endpoint() + "/cmm-bulk-data",
                         "cmm.bulk.work-dir", folder.resolve("work").toString(),
                         // a job's end is the broker's first Kafka transaction: slow to set up on a loaded machine
                         "camel.component.kafka.delivery-timeout-ms", "30000")).start()) {
                HttpResponse<String> kickOff = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                        + env.httpPort() + "/fhir/bulk/$export")).header("Prefer", "respond-async").GET().build(),
                        HttpResponse.BodyHandlers.ofString());
                String status = kickOff.headers().firstValue("Content-Location").orElseThrow();
                String jobId = status.substring(status.lastIndexOf('/') + 1);
                HttpResponse<String> answer;
                long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
                do {
                    Thread.sleep(500); // a check's poll interval, not a test's wait
                    answer = HTTP.send(HttpRequest.newBuilder(URI.create(status)).GET().build(),
                            HttpResponse.BodyHandlers.ofString());
                } while (answer.statusCode() == 202 && System.nanoTime() < deadline);
                if (answer.statusCode() != 200) {
                    throw new IllegalStateException("export answered " + answer.statusCode() + ": " + answer.body());
                }
                String serverStatus = null;
                for (var record : env.topics().readAll("fhir.bulk.export-jobs")) {
                    if (jobId.equals(record.key())) {
                        serverStatus = JSON.readTree(record.value()).path("serverExport").path("statusUrl").asText(null);
                    }
                }
                Set<String> exported = new TreeSet<>();
                long lines = 0;
                JsonNode manifest = JSON.readTree(answer.body());
                try (S3Client client = S3Client.builder().endpointOverride(URI.create(s3.endpoint())).forcePathStyle(true)
                        .region(Region.US_EAST_1).credentialsProvider(StaticCredentialsProvider.create(
                                AwsBasicCredentials.create("cmm-local", "cmm-local-secret"))).build()) {
                    String prefix = s3.endpoint() + "/cmm-bulk-data/";
                    for (JsonNode output : manifest.get("output")) {
                        String key = output.get("url").asText().substring(prefix.length());
                        try (BufferedReader reader = new BufferedReader(new InputStreamReader(
                                client.getObject(b -> b.bucket("cmm-bulk-data").key(key)), StandardCharsets.UTF_8))) {
                            for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                                JsonNode resource = JSON.readTree(line);
                                exported.add(resource.get("resourceType").asText() + "/" + resource.get("id").asText());
                                lines++;
                            }
                        }
                    }
                }
                System.out.printf("HAPI JPA $export check: the runtime %s the server's $export (%s); %d lines, %d"
                        + " resources of %d seeded: %s%n", serverStatus != null ? "used" : "did NOT use", serverStatus,
                        lines, exported.size(), expected.size(),
                        exported.equals(expected) && lines == expected.size() ? "each once" : "WRONG");
                if (serverStatus == null || !exported.equals(expected) || lines != expected.size()) {
                    throw new IllegalStateException("the export through HAPI's $export is not the server's contents");
                }
            }
        } finally {
            hapi.destroy();
            if (!hapi.waitFor(30, TimeUnit.SECONDS)) {
                hapi.destroyForcibly();
            }
        }
    }

    /** The peer's base URL once it printed STARTED (up to 5 minutes: it builds a JPA schema on H2 first). */
    private static String awaitStarted(Process hapi) throws Exception {
        BufferedReader out = new BufferedReader(new InputStreamReader(hapi.getInputStream(), StandardCharsets.UTF_8));
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
        for (String line = out.readLine(); line != null && System.nanoTime() < deadline; line = out.readLine()) {
            if (line.startsWith("STARTED ")) {
                String base = line.split(" ")[1];
                Thread drain = new Thread(() -> {
                    try {
                        out.transferTo(java.io.Writer.nullWriter());
                    } catch (Exception e) {
                        // the peer stopped
                    }
                }, "hapi-jpa-output");
                drain.setDaemon(true);
                drain.start();
                return base;
            }
        }
        throw new IllegalStateException("the HAPI JPA peer did not start");
    }

    private static void put(String fhir, String type, String id, String body) throws Exception {
        HttpResponse<String> answer = HTTP.send(HttpRequest.newBuilder(URI.create(fhir + "/" + type + "/" + id))
                .header("Content-Type", "application/fhir+json").PUT(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
        if (answer.statusCode() / 100 != 2) {
            throw new IllegalStateException("seeding " + type + "/" + id + " answered " + answer.statusCode());
        }
    }
}
