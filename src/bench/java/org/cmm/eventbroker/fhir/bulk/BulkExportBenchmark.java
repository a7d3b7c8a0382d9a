package org.cmm.eventbroker.fhir.bulk;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import org.cmm.eventbroker.stack.S3Store;
import org.cmm.eventbroker.testsupport.FreePorts;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Bulk export of {@code bench.bulk.resources} Patients (default 1,000,000) in one JVM whose heap is what the caller
 * gives it (run with {@code -Xmx512m}): the runtime (the fhir-bulk-export-api flow with its embedded Kafka broker),
 * the S3 store (s3proxy on a temporary folder) and a FHIR search stand-in that generates the pages on the fly (so the
 * server holds nothing: the heap measured is the broker's, the store's and the exporter's). Prints resources/s and
 * the peak heap (the sum of the heap pools' peaks: an upper bound, garbage included; the real proof is that it
 * finishes within -Xmx512m), and checks that the files read back hold every resource once (counted, ids unique by
 * construction of the stand-in: p0..pN-1, checked by sum of ids' numbers). Not a test: figures are measured on an
 * idle machine (docs/bulk-data.md).
 *
 * <p>With {@code -Dbench.bulk.serverExport=true} the export goes through the stand-in's own {@code $export}
 * (cmm.bulk.export.server-export=always, {@link ServerBulkExport}): the stand-in answers the kick-off, a status URL
 * and a manifest of {@code bench.bulk.serverFiles} NDJSON files (default 4) generated on the fly while they stream, so
 * the heap measured is again the runtime's copying them line by line into its own parts.
 *
 * <pre>
 * mvn -B -o -Pbench -DskipTests test-compile dependency:build-classpath -Dmdep.outputFile=target/bench-cp.txt -Dmdep.includeScope=test
 * java -Xmx512m -Dbench.bulk.resources=1000000 -cp target/test-classes:target/classes:$(cat target/bench-cp.txt) \
 *     org.cmm.eventbroker.fhir.bulk.BulkExportBenchmark
 * </pre>
 */
public final class BulkExportBenchmark {

    private static final ObjectMapper JSON = new ObjectMapper();

    private BulkExportBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        long resources = Long.getLong("bench.bulk.resources", 1_000_000L);
        int pageSize = Integer.getInteger("bench.bulk.pageSize", 1000);
        boolean serverExport = Boolean.getBoolean("bench.bulk.serverExport");
        int serverFiles = Integer.getInteger("bench.bulk.serverFiles", 4);
        System.setProperty("aws.requestChecksumCalculation", "when_required");
        System.setProperty("aws.responseChecksumValidation", "when_required");
        Path folder = Files.createTempDirectory("cmm-bulk-bench");
        HttpServer fhir = standIn(resources, serverFiles);
        String fhirBase = "http://127.0.0.1:" + fhir.getAddress().getPort() + "/fhir";
        try (S3Store s3 = new S3Store("127.0.0.1", FreePorts.next(), folder.resolve("s3"), "cmm-local", "cmm-local-secret",
                "cmm-bulk-data").start();
             RuntimeUnderTest env = RuntimeUnderTest.flows("fhir-bulk-export-api").with(Map.of(
                     "cmm.bulk.enabled", "true",
                     "cmm.bulk.fhir-base-url", fhirBase,
                     "cmm.lake.s3.endpoint", s3.endpoint(),
                     "cmm.bulk.export.since-search-parameter", "",
                     "cmm.bulk.export.types", "Patient",
                     "cmm.bulk.export.page-size", String.valueOf(pageSize),
                     "cmm.bulk.export.server-export", serverExport ? "always" : "never",
                     "cmm.bulk.export.server-export.min-poll-ms", "200",
                     "cmm.bulk.work-dir", folder.resolve("work").toString())).start()) {
            HttpClient http = HttpClient.newHttpClient();
            System.gc();
            resetPeaks();
            long started = System.nanoTime();
            HttpResponse<String> kickOff = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + env.httpPort()
                    + "/fhir/bulk/$export")).header("Prefer", "respond-async").GET().build(), HttpResponse.BodyHandlers.ofString());
            if (kickOff.statusCode() != 202) {
                throw new IllegalStateException("kick-off answered " + kickOff.statusCode() + ": " + kickOff.body());
            }
            String status = kickOff.headers().firstValue("Content-Location").orElseThrow();
            HttpResponse<String> answer;
            do {
                Thread.sleep(500); // a benchmark's poll interval, not a test's wait
                answer = http.send(HttpRequest.newBuilder(URI.create(status)).GET().build(), HttpResponse.BodyHandlers.ofString());
            } while (answer.statusCode() == 202);
            double seconds = (System.nanoTime() - started) / 1e9;
            long peak = peakHeap();
            if (answer.statusCode() != 200) {
                throw new IllegalStateException("export answered " + answer.statusCode() + ": " + answer.body());
            }
            JsonNode manifest = JSON.readTree(answer.body());
            long counted = 0;
            long idSum = 0;
            try (S3Client client = S3Client.builder().endpointOverride(URI.create(s3.endpoint())).forcePathStyle(true)
                    .region(Region.US_EAST_1).credentialsProvider(StaticCredentialsProvider.create(
                            AwsBasicCredentials.create("cmm-local", "cmm-local-secret"))).build()) {
                String prefix = s3.endpoint() + "/cmm-bulk-data/";
                for (JsonNode output : manifest.get("output")) {
                    String key = output.get("url").asText().substring(prefix.length());
                    try (BufferedReader reader = new BufferedReader(new InputStreamReader(
                            client.getObject(b -> b.bucket("cmm-bulk-data").key(key)), StandardCharsets.UTF_8))) {
                        String line;
                        while ((line = reader.readLine()) != null) {
                            idSum += Long.parseLong(JSON.readTree(line).get("id").asText().substring(1));
                            counted++;
                        }
                    }
                }
            }
            long expectedSum = resources * (resources - 1) / 2;
            System.out.printf("bulk export (" + (serverExport ? "the server's $export" : "paged searches")
                    + "): %d resources in %d files, %.1f s, %.0f resources/s, peak heap %d MB"
                    + " (max %d MB); read back %d resources, ids %s%n", resources, manifest.get("output").size(), seconds,
                    resources / seconds, peak >> 20, Runtime.getRuntime().maxMemory() >> 20, counted,
                    idSum == expectedSum ? "each once" : "WRONG");
            if (counted != resources || idSum != expectedSum) {
                throw new IllegalStateException("the files do not hold every resource once");
            }
        } finally {
            fhir.stop(0);
        }
    }

    /**
     * GET /fhir/Patient?_count=n[&_offset=k]: a searchset page generated on the fly, with a next link; and a bulk data
     * server: /fhir/$export (202 + status URL), /fhir/bulk-status (200 + manifest; DELETE 202), /fhir/bulk-files/i
     * (the i-th share of the Patients as NDJSON, generated while it streams).
     */
    private static HttpServer standIn(long resources, int files) throws Exception {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", FreePorts.next()), 0);
        String base = "http://127.0.0.1:" + server.getAddress().getPort() + "/fhir";
        server.createContext("/fhir/$export", exchange -> {
            exchange.getResponseHeaders().add("Content-Location", base + "/bulk-status");
            exchange.sendResponseHeaders(202, -1);
            exchange.close();
        });
        server.createContext("/fhir/bulk-status", exchange -> {
            if (exchange.getRequestMethod().equals("DELETE")) {
                exchange.sendResponseHeaders(202, -1);
                exchange.close();
                return;
            }
            StringBuilder manifest = new StringBuilder("{\"transactionTime\":\"2026-12-01T00:00:00Z\",\"request\":\"")
                    .append(base).append("/$export\",\"requiresAccessToken\":false,\"output\":[");
            for (int i = 0; i < files; i++) {
                manifest.append(i > 0 ? "," : "").append("{\"type\":\"Patient\",\"url\":\"").append(base)
                        .append("/bulk-files/").append(i).append("\"}");
            }
            byte[] body = manifest.append("],\"error\":[]}").toString().getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.createContext("/fhir/bulk-files/", exchange -> {
            int file = Integer.parseInt(exchange.getRequestURI().getPath().replaceAll(".*/", ""));
            long share = (resources + files - 1) / files;
            exchange.getResponseHeaders().add("Content-Type", "application/fhir+ndjson");
            exchange.sendResponseHeaders(200, 0); // chunked: the file is never whole anywhere
            try (OutputStream out = new java.io.BufferedOutputStream(exchange.getResponseBody(), 65536)) {
                for (long i = file * share; i < Math.min(resources, (file + 1) * share); i++) {
                    out.write(patient(i).append('\n').toString().getBytes(StandardCharsets.UTF_8));
                }
            }
        });
        server.createContext("/fhir/Patient", exchange -> {
            Map<String, java.util.List<String>> query = BulkExports.queryParameters(exchange.getRequestURI().getRawQuery());
            int count = Integer.parseInt(query.getOrDefault("_count", java.util.List.of("100")).get(0));
            long offset = Long.parseLong(query.getOrDefault("_offset", java.util.List.of("0")).get(0));
            StringBuilder page = new StringBuilder("{\"resourceType\":\"Bundle\",\"type\":\"searchset\",\"total\":")
                    .append(resources).append(",\"link\":[");
            if (offset + count < resources) {
                page.append("{\"relation\":\"next\",\"url\":\"http://127.0.0.1:").append(server.getAddress().getPort())
                        .append("/fhir/Patient?_count=").append(count).append("&_offset=").append(offset + count).append("\"}");
            }
            page.append("],\"entry\":[");
            for (long i = offset; i < Math.min(resources, offset + count); i++) {
                if (i > offset) {
                    page.append(',');
                }
                page.append("{\"resource\":").append(patient(i)).append(",\"search\":{\"mode\":\"match\"}}");
            }
            page.append("]}");
            byte[] body = page.toString().getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "application/fhir+json");
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
        return server;
    }

    private static StringBuilder patient(long i) {
        return new StringBuilder("{\"resourceType\":\"Patient\",\"id\":\"p").append(i)
                .append("\",\"meta\":{\"lastUpdated\":\"2026-12-01T00:00:00Z\"},\"name\":[{\"family\":\"Bench")
                .append(i).append("\",\"given\":[\"Synthetic\"]}],\"gender\":\"unknown\",\"birthDate\":\"1970-01-01\"}");
    }

    private static void resetPeaks() {
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP) {
                pool.resetPeakUsage();
            }
        }
    }

    private static long peakHeap() {
        long sum = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP) {
                sum += pool.getPeakUsage().getUsed();
            }
        }
        return sum;
    }
}
