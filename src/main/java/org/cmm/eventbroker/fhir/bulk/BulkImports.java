package org.cmm.eventbroker.fhir.bulk;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.camel.CamelContext;
import org.apache.camel.CamelContextAware;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.support.service.ServiceSupport;
import org.cmm.eventbroker.fhir.FhirR4;
import org.cmm.eventbroker.platform.delivery.DeliveryRejectedException;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * FHIR bulk import: requests in the shape of HAPI FHIR's {@code $import} (a Parameters resource with
 * {@code inputFormat} application/fhir+ndjson and one {@code input} part per file: {@code type} and {@code url}) name
 * NDJSON files in the bulk store; each file is read as a stream and loaded into the FHIR server in transaction
 * bundles of {@code batchSize} resources, each an update ({@code PUT Type/id}), so loading a resource twice leaves the
 * server as loading it once. A line that is not a FHIR resource of the file's type with an id is not loaded and gets
 * an OperationOutcome in the completion event, with the loaded and failed counts.
 *
 * <p>Restart: after every batch the job's progress (file and line) is on the compacted job topic; a resumed job
 * skips the lines already done. A batch the server answered but whose progress was not yet written is sent again,
 * which the updates make harmless. Logs name jobs, files and counts, never resources.
 *
 * <p>The store or the FHIR server failing for a while (5xx, 429, 408, no answer): the file is taken up again from its
 * last recorded line, within the retry budget ({@link PeerRetry}); past it the job fails with the reason. The end of
 * a job, its state and its completion, is one Kafka transaction, so the completion is published once.
 */
public class BulkImports extends ServiceSupport implements CamelContextAware {

    private static final Logger LOG = LoggerFactory.getLogger(BulkImports.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private CamelContext camelContext;
    private boolean enabled = true;
    private String fhirBaseUrl;
    private String jobsTopic;
    private String completionsTopic;
    private String bucket;
    private String outputBaseUrl = "";
    private int batchSize = 100;
    private int maxReportedFailures = 1000;
    private int concurrency = 1;
    private long connectTimeoutMs = 5000;
    private long socketTimeoutMs = 30000;
    private long writeTimeoutMs = 30000;
    private int retryMaxAttempts = 10;
    private long retryBudgetMs = 300_000;
    private long retryInitialBackoffMs = 1000;
    private long retryMaxBackoffMs = 30_000;
    private long leaseMs = 30_000;
    private PeerRetry retry;

    private BulkJobStore jobs;
    private BulkStorage storage;
    private HttpClient http;
    private ExecutorService workers;
    private volatile boolean stopping;

    @Override
    public void setCamelContext(CamelContext camelContext) {
        if (this.camelContext == camelContext) {
            return;
        }
        this.camelContext = camelContext;
        try {
            camelContext.addService(this, true, false);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public CamelContext getCamelContext() {
        return camelContext;
    }

    /** Off: the bean does nothing (its routes are not created either), so no job topic is read or created. */
    public void setEnabled(boolean enabled) {
        this.enabled = enabled;
    }

    public void setFhirBaseUrl(String fhirBaseUrl) {
        this.fhirBaseUrl = fhirBaseUrl.endsWith("/") ? fhirBaseUrl.substring(0, fhirBaseUrl.length() - 1) : fhirBaseUrl;
    }

    public void setJobsTopic(String jobsTopic) {
        this.jobsTopic = jobsTopic;
    }

    public void setCompletionsTopic(String completionsTopic) {
        this.completionsTopic = completionsTopic;
    }

    public void setBucket(String bucket) {
        this.bucket = bucket;
    }

    /** URLs starting with this (an export manifest's file URLs) name objects of the bulk bucket. */
    public void setOutputBaseUrl(String outputBaseUrl) {
        this.outputBaseUrl = outputBaseUrl == null ? "" : outputBaseUrl;
    }

    public void setBatchSize(int batchSize) {
        this.batchSize = batchSize;
    }

    public void setMaxReportedFailures(int maxReportedFailures) {
        this.maxReportedFailures = maxReportedFailures;
    }

    public void setConcurrency(int concurrency) {
        this.concurrency = concurrency;
    }

    public void setConnectTimeoutMs(long connectTimeoutMs) {
        this.connectTimeoutMs = connectTimeoutMs;
    }

    public void setSocketTimeoutMs(long socketTimeoutMs) {
        this.socketTimeoutMs = socketTimeoutMs;
    }

    public void setWriteTimeoutMs(long writeTimeoutMs) {
        this.writeTimeoutMs = writeTimeoutMs;
    }

    /** Attempts of one file's import while the store or the FHIR server fails (cmm.bulk.retry.max-attempts). */
    public void setRetryMaxAttempts(int retryMaxAttempts) {
        this.retryMaxAttempts = retryMaxAttempts;
    }

    /** How long one file's import is retried at most, from its first failure (cmm.bulk.retry.budget-ms). */
    public void setRetryBudgetMs(long retryBudgetMs) {
        this.retryBudgetMs = retryBudgetMs;
    }

    public void setRetryInitialBackoffMs(long retryInitialBackoffMs) {
        this.retryInitialBackoffMs = retryInitialBackoffMs;
    }

    public void setRetryMaxBackoffMs(long retryMaxBackoffMs) {
        this.retryMaxBackoffMs = retryMaxBackoffMs;
    }

    /** How long a job stays with the instance running it without a renewal (cmm.bulk.lease-ms; BulkJobStore). */
    public void setLeaseMs(long leaseMs) {
        this.leaseMs = leaseMs;
    }

    /**
     * An import request from the requests topic (HAPI {@code $import} Parameters); the record key is the job id
     * (without one, the request cannot be told from its redelivery: refused). A known job id is not started twice.
     */
    public void submit(Exchange exchange) throws Exception {
        start();
        Message in = exchange.getMessage();
        String jobId = in.getHeader("kafka.KEY", String.class);
        if (jobId == null || jobId.isBlank()) {
            throw new DeliveryRejectedException("An import request's record key is its job id: none given");
        }
        JsonNode body;
        try {
            body = JSON.readTree(in.getBody(String.class));
        } catch (Exception e) {
            throw new DeliveryRejectedException("The import request is not JSON");
        }
        if (body == null || !"Parameters".equals(body.path("resourceType").asText())) {
            throw new DeliveryRejectedException("The import request is not a FHIR Parameters resource ($import)");
        }
        ArrayNode files = JsonNodeFactory.instance.arrayNode();
        for (JsonNode parameter : body.path("parameter")) {
            String name = parameter.path("name").asText();
            if (name.equals("inputFormat") && !parameter.path("valueCode").asText().equals("application/fhir+ndjson")) {
                throw new DeliveryRejectedException("inputFormat " + parameter.path("valueCode").asText()
                        + " is not supported: application/fhir+ndjson only");
            }
            if (name.equals("input")) {
                String type = null;
                String url = null;
                for (JsonNode part : parameter.path("part")) {
                    if (part.path("name").asText().equals("type")) {
                        type = part.path("valueCode").asText(part.path("valueString").asText(null));
                    } else if (part.path("name").asText().equals("url")) {
                        url = part.path("valueUri").asText(part.path("valueUrl").asText(null));
                    }
                }
                if (type == null || !FhirR4.context().getResourceTypes().contains(type)) {
                    throw new DeliveryRejectedException("input type " + type + " is not a FHIR R4 resource type");
                }
                if (url == null || url.isBlank()) {
                    throw new DeliveryRejectedException("input of type " + type + " has no url");
                }
                String[] location = location(url);
                ObjectNode file = files.addObject();
                file.put("type", type);
                file.put("url", url);
                file.put("bucket", location[0]);
                file.put("key", location[1]);
            }
        }
        if (files.isEmpty()) {
            throw new DeliveryRejectedException("The import request names no input file");
        }
        if (jobs.get(jobId).isPresent()) {
            LOG.info("Bulk import {} already known: not started twice", jobId);
            return;
        }
        ObjectNode job = JsonNodeFactory.instance.objectNode();
        job.put("jobId", jobId);
        job.put("status", "in-progress");
        job.put("requestTime", Instant.now().toString());
        job.set("files", files);
        job.put("loaded", 0);
        job.put("failed", 0);
        job.putArray("failures");
        jobs.put(jobId, job);
        LOG.info("Bulk import {} accepted ({} files)", jobId, files.size());
        jobs.run(jobId);
    }

    /** {@code s3://bucket/key}, a URL of the export manifests, or a key of the bulk bucket: bucket and key. */
    private String[] location(String url) throws DeliveryRejectedException {
        if (url.startsWith("s3://")) {
            String rest = url.substring(5);
            int slash = rest.indexOf('/');
            if (slash <= 0 || slash == rest.length() - 1) {
                throw new DeliveryRejectedException("input url " + url + " is not s3://bucket/key");
            }
            return new String[] {rest.substring(0, slash), rest.substring(slash + 1)};
        }
        if (!outputBaseUrl.isEmpty() && url.startsWith(outputBaseUrl + "/")) {
            return new String[] {bucket, url.substring(outputBaseUrl.length() + 1)};
        }
        if (url.contains("://")) {
            throw new DeliveryRejectedException("input url " + url + " is not in the bulk store (s3://bucket/key)");
        }
        return new String[] {bucket, url.startsWith("/") ? url.substring(1) : url};
    }

    private void run(String jobId) {
        try {
            ObjectNode job = jobs.get(jobId).orElse(null);
            if (job == null || !job.path("status").asText().equals("in-progress")) {
                return;
            }
            ArrayNode files = (ArrayNode) job.get("files");
            for (int i = 0; i < files.size(); i++) {
                ObjectNode file = (ObjectNode) files.get(i);
                if (file.path("done").asBoolean()) {
                    continue;
                }
                // the store or the FHIR server failing for a while: the file is taken up again from its last
                // recorded line (what the resume after a restart does), within the retry budget
                if (!retry.call("Bulk import " + jobId + ": file " + (i + 1), () -> stopping || jobs.lost(jobId),
                        () -> importFile(jobId, job, file))) {
                    return;
                }
            }
            ObjectNode completion = completion(job);
            job.put("status", "completed");
            // the state and the completion in one transaction, unless the job was ended already: published once
            if (jobs.finish(jobId, job, completionsTopic, completion)) {
                LOG.info("Bulk import {} completed: {} loaded, {} failed lines", jobId, job.path("loaded").asLong(),
                        job.path("failed").asLong());
            } else {
                LOG.info("Bulk import {} was ended already (another instance or an earlier run)", jobId);
            }
        } catch (Exception | LinkageError e) {
            if (stopping) {
                LOG.info("Bulk import {} interrupted by the stop: resumed at the next start", jobId);
                return;
            }
            if (jobs.lost(jobId)) {
                LOG.info("Bulk import {} stopped here: another instance runs it", jobId);
                return;
            }
            LOG.warn("Bulk import {} failed ({}: {})", jobId, e.getClass().getSimpleName(), e.getMessage());
            try {
                ObjectNode job = jobs.get(jobId).orElseThrow();
                job.put("status", "failed");
                job.put("error", e.getClass().getSimpleName() + ": " + e.getMessage());
                ObjectNode completion = completion(job);
                jobs.finish(jobId, job, completionsTopic, completion);
            } catch (Exception notRecorded) {
                LOG.warn("Bulk import {}: failure not recorded ({})", jobId, notRecorded.getClass().getSimpleName());
            }
        }
    }

    /** Loads one file from the line after the last one done; false when the runtime is stopping. */
    private boolean importFile(String jobId, ObjectNode job, ObjectNode file) throws Exception {
        String type = file.path("type").asText();
        long done = file.path("linesDone").asLong(0);
        try (InputStream stream = storage.open(file.path("bucket").asText(), file.path("key").asText());
             BufferedReader reader = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
            long lineNumber = 0;
            List<Line> batch = new ArrayList<>();
            List<ObjectNode> failures = new ArrayList<>();
            String text;
            while ((text = reader.readLine()) != null) {
                lineNumber++;
                if (lineNumber <= done) {
                    continue;
                }
                if (text.isBlank()) {
                    continue;
                }
                Line line = new Line(lineNumber, text);
                String problem = line.problem(type);
                if (problem != null) {
                    failures.add(failure(file, lineNumber, problem));
                } else {
                    batch.add(line);
                }
                if (batch.size() >= batchSize || failures.size() >= batchSize) {
                    if (stopping || jobs.lost(jobId)) {
                        return false;
                    }
                    load(file, batch, failures);
                    record(jobId, job, file, lineNumber, batch, failures, false);
                    batch.clear();
                    failures.clear();
                }
            }
            if (stopping || jobs.lost(jobId)) {
                return false;
            }
            load(file, batch, failures);
            record(jobId, job, file, lineNumber, batch, failures, true);
        }
        return true;
    }

    private void record(String jobId, ObjectNode job, ObjectNode file, long linesDone, List<Line> batch,
            List<ObjectNode> failures, boolean fileDone) throws Exception {
        long loaded = batch.stream().filter(l -> l.loaded).count();
        file.put("linesDone", linesDone);
        file.put("loaded", file.path("loaded").asLong() + loaded);
        file.put("failed", file.path("failed").asLong() + failures.size());
        if (fileDone) {
            file.put("done", true);
        }
        job.put("loaded", job.path("loaded").asLong() + loaded);
        job.put("failed", job.path("failed").asLong() + failures.size());
        ArrayNode reported = job.withArray("failures");
        for (ObjectNode failure : failures) {
            if (reported.size() < maxReportedFailures) {
                reported.add(failure);
            }
        }
        jobs.put(jobId, job);
    }

    /** Sends the batch as one transaction; when the server refuses it, each resource alone to find the bad ones. */
    private void load(ObjectNode file, List<Line> batch, List<ObjectNode> failures) throws Exception {
        if (batch.isEmpty()) {
            return;
        }
        ObjectNode bundle = JsonNodeFactory.instance.objectNode();
        bundle.put("resourceType", "Bundle");
        bundle.put("type", "transaction");
        ArrayNode entries = bundle.putArray("entry");
        for (Line line : batch) {
            ObjectNode entry = entries.addObject();
            entry.set("resource", line.resource);
            ObjectNode request = entry.putObject("request");
            request.put("method", "PUT");
            request.put("url", line.type() + "/" + line.id());
        }
        HttpResponse<String> answer = send(HttpRequest.newBuilder(URI.create(fhirBaseUrl))
                .POST(HttpRequest.BodyPublishers.ofString(bundle.toString())));
        if (answer.statusCode() / 100 == 2) {
            batch.forEach(l -> l.loaded = true);
            return;
        }
        if (answer.statusCode() / 100 != 4) {
            throw new FhirServerAnswerException(answer.statusCode(), "a transaction");
        }
        for (Line line : batch) {
            HttpResponse<String> single = send(HttpRequest.newBuilder(URI.create(fhirBaseUrl + "/" + line.type() + "/"
                    + line.id())).PUT(HttpRequest.BodyPublishers.ofString(line.resource.toString())));
            if (single.statusCode() / 100 == 2) {
                line.loaded = true;
            } else if (single.statusCode() / 100 == 4) {
                failures.add(failure(file, line.number, "The FHIR server refused it (" + single.statusCode() + ")"));
            } else {
                throw new FhirServerAnswerException(single.statusCode(), "an update");
            }
        }
    }

    private HttpResponse<String> send(HttpRequest.Builder request) throws Exception {
        return http.send(request.timeout(Duration.ofMillis(socketTimeoutMs))
                .header("Content-Type", "application/fhir+json").header("Accept", "application/fhir+json").build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static ObjectNode failure(ObjectNode file, long line, String reason) {
        ObjectNode outcome = OperationOutcomes.error("invalid", reason);
        ObjectNode issue = (ObjectNode) outcome.get("issue").get(0);
        issue.putArray("location").add(file.path("url").asText() + " line " + line);
        return outcome;
    }

    /** The import's completion event (schemas/cmm.fhir.bulk.import.completion.v1.json). */
    static ObjectNode completion(ObjectNode job) {
        ObjectNode completion = JsonNodeFactory.instance.objectNode();
        completion.put("jobId", job.path("jobId").asText());
        completion.put("status", job.path("status").asText().equals("in-progress") ? "completed" : job.path("status").asText());
        completion.put("requestTime", job.path("requestTime").asText());
        completion.put("loaded", job.path("loaded").asLong());
        completion.put("failed", job.path("failed").asLong());
        ArrayNode perFile = completion.putArray("input");
        for (JsonNode file : job.path("files")) {
            ObjectNode f = perFile.addObject();
            f.put("type", file.path("type").asText());
            f.put("url", file.path("url").asText());
            f.put("loaded", file.path("loaded").asLong());
            f.put("failed", file.path("failed").asLong());
        }
        completion.set("error", job.path("failures").deepCopy());
        if (job.has("error")) {
            completion.put("reason", job.path("error").asText());
        }
        return completion;
    }

    /** One NDJSON line and what became of it. */
    private static final class Line {
        final long number;
        final String text;
        JsonNode resource;
        boolean loaded;

        Line(long number, String text) {
            this.number = number;
            this.text = text;
        }

        String type() {
            return resource.path("resourceType").asText();
        }

        String id() {
            return resource.path("id").asText();
        }

        /** Why the line cannot be loaded, or null. */
        String problem(String fileType) {
            try {
                resource = JSON.readTree(text);
            } catch (Exception e) {
                return "Line is not JSON";
            }
            if (resource == null || !resource.isObject() || !resource.has("resourceType")) {
                return "Line is not a FHIR resource (no resourceType)";
            }
            if (!fileType.equals(type())) {
                return "Line is a " + type() + ", not a " + fileType + " as the input declares";
            }
            if (!id().matches("[A-Za-z0-9\\-.]{1,64}")) {
                return "Line has no valid id: a bulk import updates Type/id so that loading twice changes nothing";
            }
            try {
                FhirR4.context().newJsonParser().parseResource(text);
            } catch (RuntimeException e) {
                return "Line is not a valid FHIR R4 " + fileType + ": " + e.getClass().getSimpleName();
            }
            return null;
        }
    }

    @Override
    protected void doStart() throws Exception {
        if (!enabled) {
            return;
        }
        // the YAML DSL may build a bean's class more than once; only the instance bound in the registry runs jobs,
        // or two workers would resume the same job
        if (camelContext.getRegistry().findByType(BulkImports.class).stream().noneMatch(bound -> bound == this)) {
            LOG.debug("BulkImports: an instance not bound in the registry stays idle");
            return;
        }
        for (Map.Entry<String, String> required : Map.of("fhirBaseUrl (cmm.bulk.import.fhir-base-url)", String.valueOf(fhirBaseUrl),
                "jobsTopic (cmm.bulk.import.jobs-topic)", String.valueOf(jobsTopic),
                "completionsTopic (cmm.bulk.import.completions-topic)", String.valueOf(completionsTopic),
                "bucket (cmm.bulk.s3.bucket)", String.valueOf(bucket)).entrySet()) {
            if (required.getValue().isBlank() || required.getValue().equals("null")) {
                throw new IllegalArgumentException("Bulk import: " + required.getKey() + " is not set");
            }
        }
        stopping = false;
        http = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(connectTimeoutMs)).build();
        storage = new BulkStorage(camelContext.createProducerTemplate(), bucket);
        retry = new PeerRetry(retryMaxAttempts, retryBudgetMs, retryInitialBackoffMs, retryMaxBackoffMs);
        jobs = new BulkJobStore(KafkaClients.of(camelContext), jobsTopic, writeTimeoutMs, Duration.ofSeconds(60), leaseMs);
        workers = Executors.newFixedThreadPool(concurrency, r -> {
            Thread t = new Thread(r, "fhir-bulk-import");
            t.setDaemon(true);
            return t;
        });
        // the jobs running when their runtime stopped, and later those whose runner's lease runs out; a job this
        // instance loses stops at its next batch (its progress write is fenced, or jobs.lost says so before)
        jobs.runJobs(workers, new BulkJobStore.JobRunner() {
            @Override
            public void run(String jobId) {
                BulkImports.this.run(jobId);
            }

            @Override
            public void lost(String jobId) {
                // run() asks jobs.lost() before each batch
            }
        });
        LOG.info("Bulk import: {} jobs known, this instance is {}", jobs.all().size(), jobs.instanceId());
    }

    /** How long a stop waits for the workers to reach their next page or batch before it interrupts them. */
    static final long STOP_GRACE_SECONDS = 15;

    @Override
    protected void doStop() throws Exception {
        stopping = true;
        if (workers != null) {
            // first without interrupting: a worker stops at its next page or batch, after the upload or load under
            // way (an upload cut in the middle leaves a partial object behind in some stores: s3proxy's file store
            // then fails every listing of the bucket); interrupted only when that takes longer than the grace
            workers.shutdown();
            if (!workers.awaitTermination(STOP_GRACE_SECONDS, TimeUnit.SECONDS)) {
                workers.shutdownNow();
                workers.awaitTermination(30, TimeUnit.SECONDS);
            }
            workers = null;
        }
        if (jobs != null) {
            jobs.close();
            jobs = null;
        }
    }
}
