package org.cmm.eventbroker.fhir.bulk;

import java.net.URLDecoder;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
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
 * FHIR bulk export (HL7 FHIR Bulk Data Access IG 2.0.0): the kick-off, status and cancel requests of the HTTP API
 * and the export requests from Kafka become jobs on the compacted job topic; workers extract the resources from the
 * FHIR server by paged searches ({@code _count}, {@code next} links), or through the server's own {@code $export}
 * where it has one ({@link ServerBulkExport}, cmm.bulk.export.server-export), and stream them, one resource a line, into
 * NDJSON parts of at most {@code maxResourcesPerFile} resources per type, written to the bulk store under
 * deterministic names {@code <prefix>/<job>/<Type>.<part>.ndjson}; the finished job's manifest is published on the
 * completions topic.
 *
 * <p>Restart: a job's state records each finished type and the parts written so far. A resumed job skips the
 * finished types and exports the unfinished type again from its start, rewriting the same object names (it
 * overwrites) and deleting parts an earlier attempt wrote past the new end, so the output never holds a resource
 * twice. Memory: one search page and one output line at a time; a part is written to a local file and uploaded from
 * there. Logs name jobs, types and counts, never resources.
 *
 * <p>Peers failing for a while: each search page, Group read, upload and deletion is retried ({@link PeerRetry}) while
 * the FHIR server or the store answers 5xx, 429 or 408 or does not answer, within a budget of attempts and time; past
 * it the job fails (status URL 500 with an OperationOutcome, the OperationOutcome on the completions topic, its files
 * deleted), never a manifest of part of the export. The end of a job (its state and its completion event) is one
 * Kafka transaction that only happens when the job topic holds no end of it yet ({@link BulkJobStore#finish}), so the
 * completion is published once, whatever restarts or other instances resumed the same job.
 *
 * <p>Several instances: a job runs at the one instance holding its lease ({@link BulkJobStore}); one that loses it
 * (taken over, cancelled at another instance) stops as a cancelled job does, writing nothing more. Status and cancel
 * answer from the job topic, which every instance follows.
 */
public class BulkExports extends ServiceSupport implements CamelContextAware {

    private static final Logger LOG = LoggerFactory.getLogger(BulkExports.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String NDJSON = "application/fhir+ndjson";

    private CamelContext camelContext;
    private boolean enabled = true;
    private String fhirBaseUrl;
    private String jobsTopic;
    private String completionsTopic;
    private String bucket;
    private String objectPrefix = "exports";
    private String outputBaseUrl;
    private String publicBaseUrl = "";
    private String statusPath = "/fhir/bulk/jobs";
    private List<String> exportableTypes = List.of();
    private String sinceSearchParameter = "_lastUpdated";
    private int pageSize = 500;
    private int maxResourcesPerFile = 100_000;
    private int concurrency = 2;
    private int retryAfterSeconds = 2;
    private long connectTimeoutMs = 5000;
    private long socketTimeoutMs = 30000;
    private long writeTimeoutMs = 30000;
    private String workDir = "";
    private int retryMaxAttempts = 10;
    private long retryBudgetMs = 300_000;
    private long retryInitialBackoffMs = 1000;
    private long retryMaxBackoffMs = 30_000;
    private String serverExportMode = "auto";
    private String serverExportBaseUrl = "";
    private String serverExportAccessToken = "";
    private long serverExportMinPollMs = 1000;
    private long serverExportMaxPollMs = 60_000;
    private long leaseMs = 30_000;

    private BulkJobStore jobs;
    private BulkStorage storage;
    private PeerRetry retry;
    private FhirSearchPages pages;
    private ServerBulkExport serverExport;
    private ExecutorService workers;
    private Path work;
    private final Map<String, Object> locks = new ConcurrentHashMap<>();
    private final Set<String> cancelled = ConcurrentHashMap.newKeySet();

    @Override
    public void setCamelContext(CamelContext camelContext) {
        if (this.camelContext == camelContext) {
            return; // addService sets it again
        }
        this.camelContext = camelContext;
        try {
            // started with the context (resuming the jobs that were running) and stopped with it
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

    public void setObjectPrefix(String objectPrefix) {
        this.objectPrefix = objectPrefix;
    }

    /** The URL the manifest's file URLs start with (the object's key follows). */
    public void setOutputBaseUrl(String outputBaseUrl) {
        this.outputBaseUrl = outputBaseUrl;
    }

    /** The runtime's public base URL for status URLs; empty: the scheme and authority the kick-off was sent to. */
    public void setPublicBaseUrl(String publicBaseUrl) {
        this.publicBaseUrl = publicBaseUrl == null ? "" : publicBaseUrl.trim();
    }

    public void setStatusPath(String statusPath) {
        this.statusPath = statusPath;
    }

    public void setExportableTypes(String exportableTypes) {
        List<String> types = new ArrayList<>();
        for (String t : exportableTypes.split(",")) {
            if (!t.isBlank()) {
                types.add(t.trim());
            }
        }
        this.exportableTypes = List.copyOf(types);
    }

    public void setSinceSearchParameter(String sinceSearchParameter) {
        this.sinceSearchParameter = sinceSearchParameter == null ? "" : sinceSearchParameter.trim();
    }

    public void setPageSize(int pageSize) {
        this.pageSize = pageSize;
    }

    public void setMaxResourcesPerFile(int maxResourcesPerFile) {
        this.maxResourcesPerFile = maxResourcesPerFile;
    }

    public void setConcurrency(int concurrency) {
        this.concurrency = concurrency;
    }

    public void setRetryAfterSeconds(int retryAfterSeconds) {
        this.retryAfterSeconds = retryAfterSeconds;
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

    public void setWorkDir(String workDir) {
        this.workDir = workDir == null ? "" : workDir.trim();
    }

    /** Attempts of one call to the FHIR server or the store before the job fails (cmm.bulk.retry.max-attempts). */
    public void setRetryMaxAttempts(int retryMaxAttempts) {
        this.retryMaxAttempts = retryMaxAttempts;
    }

    /** How long one call is retried at most, from its first failure (cmm.bulk.retry.budget-ms). */
    public void setRetryBudgetMs(long retryBudgetMs) {
        this.retryBudgetMs = retryBudgetMs;
    }

    public void setRetryInitialBackoffMs(long retryInitialBackoffMs) {
        this.retryInitialBackoffMs = retryInitialBackoffMs;
    }

    public void setRetryMaxBackoffMs(long retryMaxBackoffMs) {
        this.retryMaxBackoffMs = retryMaxBackoffMs;
    }

    /** auto, always or never: whether jobs use the FHIR server's own $export (cmm.bulk.export.server-export). */
    public void setServerExport(String serverExportMode) {
        this.serverExportMode = serverExportMode;
    }

    /** The base URL whose $export, metadata and status URLs are used; empty: the FHIR server's base URL. */
    public void setServerExportBaseUrl(String serverExportBaseUrl) {
        this.serverExportBaseUrl = serverExportBaseUrl == null ? "" : serverExportBaseUrl.trim();
    }

    /** The bearer token sent to the FHIR server's bulk API and to files that require one; empty: none. */
    public void setServerExportAccessToken(String serverExportAccessToken) {
        this.serverExportAccessToken = serverExportAccessToken == null ? "" : serverExportAccessToken;
    }

    public void setServerExportMinPollMs(long serverExportMinPollMs) {
        this.serverExportMinPollMs = serverExportMinPollMs;
    }

    public void setServerExportMaxPollMs(long serverExportMaxPollMs) {
        this.serverExportMaxPollMs = serverExportMaxPollMs;
    }

    /** How long a job stays with the instance running it without a renewal (cmm.bulk.lease-ms; BulkJobStore). */
    public void setLeaseMs(long leaseMs) {
        this.leaseMs = leaseMs;
    }

    // ---- HTTP API ----------------------------------------------------------------------------------------------

    /** {@code GET|POST [base]/$export}, {@code Patient/$export}, {@code Group/[id]/$export}: 202 + Content-Location. */
    public void kickOff(Exchange exchange) throws Exception {
        start();
        Message in = exchange.getMessage();
        String level = in.getHeader("fhir_bulk_level", BulkExportRequest.SYSTEM, String.class);
        String groupId = BulkExportRequest.GROUP.equals(level) ? in.getHeader("groupId", String.class) : null;
        String prefer = in.getHeader("Prefer", "", String.class);
        if (!prefer.contains("respond-async")) {
            throw new BulkRequestRejectedException(400, "A bulk export needs the header Prefer: respond-async");
        }
        Map<String, List<String>> parameters = queryParameters(in.getHeader(Exchange.HTTP_QUERY, String.class));
        String method = in.getHeader(Exchange.HTTP_METHOD, "GET", String.class);
        if ("POST".equalsIgnoreCase(method)) {
            String body = in.getBody(String.class);
            if (body != null && !body.isBlank()) {
                JsonNode json;
                try {
                    json = JSON.readTree(body);
                } catch (Exception e) {
                    throw new BulkRequestRejectedException(400, "The kick-off body is not JSON");
                }
                BulkExportRequest.parametersOf(json).forEach((name, values) ->
                        parameters.computeIfAbsent(name, n -> new ArrayList<>()).addAll(values));
            }
        }
        String base = publicBase(in);
        String requestUrl = base + in.getHeader(Exchange.HTTP_PATH, String.class);
        String query = in.getHeader(Exchange.HTTP_QUERY, String.class);
        if (query != null && !query.isBlank()) {
            requestUrl += "?" + query;
        }
        BulkExportRequest request = BulkExportRequest.of(level, groupId, parameters, exportableTypes, requestUrl);
        String jobId = UUID.randomUUID().toString();
        accept(jobId, request);
        in.removeHeaders("*");
        in.setHeader(Exchange.HTTP_RESPONSE_CODE, 202);
        in.setHeader("Content-Location", base + statusPath + "/" + jobId);
        in.setHeader(Exchange.CONTENT_TYPE, "application/fhir+json");
        in.setBody(OperationOutcomes.issue("information", "informational", "Export " + jobId + " accepted").toString());
    }

    /** {@code GET} of a status URL: 202 + X-Progress, 200 + manifest, 404 or 500 with an OperationOutcome. */
    public void status(Exchange exchange) throws Exception {
        start();
        Message in = exchange.getMessage();
        String jobId = in.getHeader("jobId", String.class);
        ObjectNode job = knownJob(jobId);
        String status = job.path("status").asText();
        in.removeHeaders("*");
        in.setHeader(Exchange.CONTENT_TYPE, "application/fhir+json");
        switch (status) {
            case "completed" -> {
                in.setHeader(Exchange.HTTP_RESPONSE_CODE, 200);
                in.setHeader(Exchange.CONTENT_TYPE, "application/json");
                in.setBody(job.get("manifest").toString());
            }
            case "failed" -> {
                in.setHeader(Exchange.HTTP_RESPONSE_CODE, 500);
                in.setBody(OperationOutcomes.error("exception", "Export " + jobId + " failed: "
                        + job.path("error").asText()).toString());
            }
            default -> {
                in.setHeader(Exchange.HTTP_RESPONSE_CODE, 202);
                in.setHeader("X-Progress", progress(job));
                in.setHeader("Retry-After", String.valueOf(retryAfterSeconds));
                in.setBody(null);
            }
        }
    }

    /** {@code DELETE} of a status URL: cancels a running job, or removes a finished job's files; 202. */
    public void cancel(Exchange exchange) throws Exception {
        start();
        Message in = exchange.getMessage();
        String jobId = in.getHeader("jobId", String.class);
        ObjectNode job = knownJob(jobId);
        synchronized (lock(jobId)) {
            cancelled.add(jobId);
            // wherever the job runs: its runner is fenced and sees the cancel on the job topic
            job = jobs.cancel(jobId).orElse(job);
        }
        for (String key : writtenKeys(job)) {
            storage.delete(key);
        }
        serverExport.release(job); // the FHIR server's own job, where the export runs there
        LOG.info("Bulk export {} cancelled", jobId);
        in.removeHeaders("*");
        in.setHeader(Exchange.HTTP_RESPONSE_CODE, 202);
        in.setHeader(Exchange.CONTENT_TYPE, "application/fhir+json");
        in.setBody(OperationOutcomes.issue("information", "informational", "Export " + jobId + " cancelled").toString());
    }

    // ---- Kafka requests ------------------------------------------------------------------------------------------

    /**
     * An export request from the requests topic: the record value is the Parameters resource of a POST kick-off,
     * plus {@code exportLevel} (system, patient or group; system by default) and {@code group} (the Group id); the
     * record key is the job id (without one, a digest of the value: a redelivered request is the same job).
     */
    public void submit(Exchange exchange) throws Exception {
        start();
        Message in = exchange.getMessage();
        String body = in.getBody(String.class);
        String key = in.getHeader("kafka.KEY", String.class);
        Map<String, List<String>> parameters;
        try {
            parameters = BulkExportRequest.parametersOf(JSON.readTree(body == null ? "" : body));
        } catch (BulkRequestRejectedException e) {
            throw new DeliveryRejectedException(e.getMessage());
        } catch (Exception e) {
            throw new DeliveryRejectedException("The export request is not a JSON Parameters resource");
        }
        List<String> levels = parameters.remove("exportLevel");
        List<String> groups = parameters.remove("group");
        String level = levels == null ? BulkExportRequest.SYSTEM : levels.get(0).toLowerCase();
        if (!BulkExportRequest.levels().contains(level)) {
            throw new DeliveryRejectedException("exportLevel " + level + " is not system, patient or group");
        }
        if (level.equals(BulkExportRequest.GROUP) && (groups == null || groups.get(0).isBlank())) {
            throw new DeliveryRejectedException("A group export request names its Group (parameter group)");
        }
        String jobId = key != null && !key.isBlank() ? key : "req-" + digest(body);
        if (jobs.get(jobId).isPresent()) {
            LOG.info("Bulk export request {} already known: not started twice", jobId);
            return;
        }
        BulkExportRequest request;
        try {
            String url = fhirBaseUrl + (level.equals(BulkExportRequest.SYSTEM) ? "" : level.equals(BulkExportRequest.PATIENT)
                    ? "/Patient" : "/Group/" + groups.get(0)) + "/$export";
            request = BulkExportRequest.of(level, groups == null ? null : groups.get(0), parameters, exportableTypes, url);
        } catch (BulkRequestRejectedException e) {
            throw new DeliveryRejectedException(e.getMessage());
        }
        accept(jobId, request);
    }

    // ---- jobs ------------------------------------------------------------------------------------------------------

    private void accept(String jobId, BulkExportRequest request) throws Exception {
        ObjectNode job = JsonNodeFactory.instance.objectNode();
        job.put("jobId", jobId);
        job.put("status", "accepted");
        job.put("transactionTime", Instant.now().toString());
        job.set("request", request.toJson());
        job.putObject("types");
        jobs.put(jobId, job);
        LOG.info("Bulk export {} accepted ({} level, {} types)", jobId, request.level(), request.types().size());
        jobs.run(jobId);
    }

    /** Runs a job whose lease this instance holds (BulkJobStore). */
    private void run(String jobId) {
        synchronized (lock(jobId)) {
            cancelled.remove(jobId); // stopped here before (lost to another instance), taken again now
        }
        try {
            ObjectNode job = jobs.get(jobId).orElse(null);
            if (job == null || !isActive(job)) {
                return;
            }
            BulkExportRequest request = BulkExportRequest.fromJson(job.get("request"));
            if (!update(jobId, job, j -> j.put("status", "in-progress"))) {
                return;
            }
            // the one seam of the two ways to extract: the FHIR server's own $export, or paged searches
            if (serverExport.applies(job, request, () -> cancelled.contains(jobId) || stopping)) {
                if (!serverExport.export(job, request, serverJob(jobId, job))) {
                    return;
                }
            } else if (!exportBySearches(jobId, job, request)) {
                return;
            }
            ObjectNode manifest = manifest(job, request);
            if (cancelled.contains(jobId) || stopping) {
                return;
            }
            ObjectNode completed = job.deepCopy();
            completed.put("status", "completed");
            completed.set("manifest", manifest);
            synchronized (lock(jobId)) {
                if (cancelled.contains(jobId)) {
                    return;
                }
                // the state and the completion in one transaction, unless the job was ended already (restart,
                // another instance): the completion is published once
                if (jobs.finish(jobId, completed, completionsTopic, manifest)) {
                    LOG.info("Bulk export {} completed: {} files", jobId, manifest.path("output").size());
                } else {
                    LOG.info("Bulk export {} was ended already (another instance or an earlier run): not published again",
                            jobId);
                }
            }
        } catch (Exception | LinkageError e) {
            if (stopping) {
                LOG.info("Bulk export {} interrupted by the stop: resumed at the next start", jobId);
                return;
            }
            if (jobs.lost(jobId)) {
                LOG.info("Bulk export {} stopped here: another instance runs or cancelled it", jobId);
                return;
            }
            LOG.warn("Bulk export {} failed ({}: {})", jobId, e.getClass().getSimpleName(), e.getMessage());
            fail(jobId, e.getClass().getSimpleName() + ": " + e.getMessage());
        }
    }

    /** Paged searches, type by type (the types finished before a restart are skipped); false when cancelled. */
    private boolean exportBySearches(String jobId, ObjectNode job, BulkExportRequest request) throws Exception {
        Set<String> members = null;
        if (BulkExportRequest.GROUP.equals(request.level())) {
            members = groupMembers(request.groupId());
        }
        for (String type : request.types()) {
            if (job.path("types").path(type).path("done").asBoolean()) {
                continue;
            }
            if (!exportType(jobId, job, request, type, members)) {
                return false;
            }
        }
        return true;
    }

    /** What the server's $export path sees of a job: its object names, its state, whether it is still wanted. */
    private ServerBulkExport.Job serverJob(String jobId, ObjectNode job) {
        return new ServerBulkExport.Job() {
            @Override
            public String jobId() {
                return jobId;
            }

            @Override
            public String key(String type, int part) {
                return BulkExports.this.key(jobId, type, part);
            }

            @Override
            public boolean update(java.util.function.Consumer<ObjectNode> change) throws Exception {
                return BulkExports.this.update(jobId, job, change);
            }

            @Override
            public boolean cancelled() {
                return cancelled.contains(jobId);
            }

            @Override
            public boolean cancelledByClient() {
                return jobs.get(jobId).map(j -> "cancelled".equals(j.path("status").asText())).orElse(false);
            }

            @Override
            public boolean stopping() {
                return stopping;
            }
        };
    }

    /**
     * Ends the job as failed (its state and an OperationOutcome on the completions topic, once) and removes the files
     * it wrote: a failed export has no manifest, so they would be no one's. The removal is best effort (the store
     * may be the peer that failed): what stays is logged.
     */
    private void fail(String jobId, String reason) {
        ObjectNode failed;
        try {
            failed = jobs.get(jobId).orElseThrow();
            synchronized (lock(jobId)) {
                if (cancelled.contains(jobId)) {
                    return;
                }
                failed.put("status", "failed");
                failed.put("error", reason);
                if (!jobs.finish(jobId, failed, completionsTopic, OperationOutcomes.error("exception", "Export " + jobId
                        + " failed: " + reason))) {
                    LOG.info("Bulk export {} was ended already (another instance or an earlier run)", jobId);
                    return;
                }
            }
        } catch (Exception e) {
            LOG.warn("Bulk export {}: failure not recorded ({})", jobId, e.getClass().getSimpleName());
            return;
        }
        int left = 0;
        for (String key : writtenKeys(failed)) {
            try {
                storage.delete(key);
            } catch (Exception e) {
                left++;
            }
        }
        if (left > 0) {
            LOG.warn("Bulk export {}: {} files of the failed job could not be deleted from the store", jobId, left);
        }
    }

    /** One type, from its start: parts of at most maxResourcesPerFile resources; false when the job was cancelled. */
    private boolean exportType(String jobId, ObjectNode job, BulkExportRequest request, String type, Set<String> members)
            throws Exception {
        int previousParts = job.path("types").path(type).path("partsWritten").asInt(0);
        NdjsonParts parts = new NdjsonParts(work, "export-", storage, retry, "Bulk export " + jobId + ": upload of "
                + type, part -> key(jobId, type, part), () -> cancelled.contains(jobId) || stopping, maxResourcesPerFile);
        List<String> queries = request.typeFilters().getOrDefault(type, List.of(""));
        Set<String> seen = queries.size() > 1 ? new HashSet<>() : null;
        Instant since = request.since();
        try {
            for (String query : queries) {
                StringBuilder url = new StringBuilder(fhirBaseUrl).append('/').append(type).append("?_count=").append(pageSize);
                if (since != null && !sinceSearchParameter.isEmpty()) {
                    url.append('&').append(sinceSearchParameter).append("=ge").append(since);
                }
                if (!query.isEmpty()) {
                    url.append('&').append(query);
                }
                pages.search(url.toString(), "Bulk export " + jobId + ": " + type, () -> cancelled.contains(jobId) || stopping,
                        resources -> {
                    if (cancelled.contains(jobId) || stopping) {
                        return false;
                    }
                    for (JsonNode resource : resources) {
                        if (!type.equals(resource.path("resourceType").asText())) {
                            continue;
                        }
                        if (since != null && !updatedSince(resource, since)) {
                            continue;
                        }
                        if (!BulkExportRequest.SYSTEM.equals(request.level()) && !inCompartment(resource, members)) {
                            continue;
                        }
                        if (seen != null && !seen.add(resource.path("id").asText())) {
                            continue;
                        }
                        JSON.writeValue(new NonClosingWriter(parts.line()), resource);
                        if (parts.endLine()) {
                            parts.upload();
                            int written = parts.counts().size();
                            update(jobId, job, j -> typeState(j, type).put("partsWritten", Math.max(previousParts, written)));
                        }
                    }
                    return true;
                });
                if (cancelled.contains(jobId) || stopping) {
                    return false;
                }
            }
            parts.upload();
        } finally {
            parts.discard();
        }
        // an earlier attempt of this type may have written more parts than this one: those names must not stay
        for (int part = parts.counts().size() + 1; part <= previousParts; part++) {
            String stale = key(jobId, type, part);
            retry.call("Bulk export " + jobId + ": deletion of " + type + " part " + part, () -> cancelled.contains(jobId)
                    || stopping, () -> {
                        storage.delete(stale);
                        return null;
                    });
        }
        long total = parts.counts().stream().mapToLong(Long::longValue).sum();
        LOG.info("Bulk export {}: {} {} resources in {} files", jobId, total, type, parts.counts().size());
        return update(jobId, job, j -> {
            ObjectNode t = typeState(j, type);
            t.put("done", true);
            t.put("partsWritten", parts.counts().size());
            ArrayNode counts = t.putArray("files");
            parts.counts().forEach(counts::add);
        });
    }

    private static ObjectNode typeState(ObjectNode job, String type) {
        ObjectNode types = job.with("types");
        return types.has(type) ? (ObjectNode) types.get(type) : types.putObject(type);
    }

    /** Writes the job's next state unless it was cancelled meanwhile; false when it was. */
    private boolean update(String jobId, ObjectNode job, java.util.function.Consumer<ObjectNode> change) throws Exception {
        synchronized (lock(jobId)) {
            if (cancelled.contains(jobId)) {
                return false;
            }
            change.accept(job);
            jobs.put(jobId, job);
            return true;
        }
    }

    /** The export's completion event: the Bulk Data manifest (schemas/cmm.fhir.bulk.export.manifest.v1.json). */
    ObjectNode manifest(ObjectNode job, BulkExportRequest request) {
        ObjectNode manifest = JsonNodeFactory.instance.objectNode();
        manifest.put("transactionTime", job.path("transactionTime").asText());
        manifest.put("request", request.requestUrl());
        manifest.put("requiresAccessToken", false);
        ArrayNode output = manifest.putArray("output");
        for (String type : request.types()) {
            JsonNode files = job.path("types").path(type).path("files");
            for (int i = 0; i < files.size(); i++) {
                ObjectNode file = output.addObject();
                file.put("type", type);
                file.put("url", outputBaseUrl + "/" + key(job.path("jobId").asText(), type, i + 1));
                file.put("count", files.get(i).asLong());
            }
        }
        // the FHIR server's error files, where its own $export ran the job
        ServerBulkExport.addErrors(manifest.putArray("error"), job, outputBaseUrl,
                (type, part) -> key(job.path("jobId").asText(), type, part));
        return manifest;
    }

    private String progress(ObjectNode job) {
        JsonNode request = job.path("request");
        int types = request.path("types").size();
        int done = 0;
        long resources = 0;
        for (JsonNode t : (Iterable<JsonNode>) () -> job.path("types").elements()) {
            if (t.path("done").asBoolean()) {
                done++;
                for (JsonNode count : t.path("files")) {
                    resources += count.asLong();
                }
            }
        }
        return job.path("status").asText() + ": " + done + " of " + types + " types exported (" + resources + " resources)";
    }

    private List<String> writtenKeys(ObjectNode job) {
        List<String> keys = new ArrayList<>();
        String jobId = job.path("jobId").asText();
        job.path("types").fields().forEachRemaining(e -> {
            int parts = e.getValue().path("partsWritten").asInt(0);
            for (int p = 1; p <= parts; p++) {
                keys.add(key(jobId, e.getKey(), p));
            }
        });
        keys.addAll(ServerBulkExport.errorKeys(job, (type, part) -> key(jobId, type, part)));
        return keys;
    }

    String key(String jobId, String type, int part) {
        return (objectPrefix.isEmpty() ? "" : objectPrefix + "/") + jobId + "/" + type + "." + String.format("%06d", part)
                + ".ndjson";
    }

    private ObjectNode knownJob(String jobId) throws BulkRequestRejectedException {
        ObjectNode job = jobId == null ? null : jobs.get(jobId).orElse(null);
        if (job == null || "cancelled".equals(job.path("status").asText())) {
            throw new BulkRequestRejectedException(404, "No bulk export job " + jobId);
        }
        return job;
    }

    private static boolean isActive(ObjectNode job) {
        String status = job.path("status").asText();
        return status.equals("accepted") || status.equals("in-progress");
    }

    private static boolean updatedSince(JsonNode resource, Instant since) {
        String updated = resource.path("meta").path("lastUpdated").asText(null);
        if (updated == null) {
            return true; // a server that does not say: kept (the search's own filter decided)
        }
        try {
            return !java.time.OffsetDateTime.parse(updated).toInstant().isBefore(since);
        } catch (RuntimeException e) {
            return true;
        }
    }

    /**
     * Patient level: resources in some Patient's compartment; Group level: in the compartment of a member. The
     * compartment is read from the Patient compartment definition of FHIR R4 (the search parameters HAPI lists for
     * the type, e.g. Observation: subject, performer), evaluated on the JSON: the references their paths lead to.
     */
    static boolean inCompartment(JsonNode resource, Set<String> members) {
        String type = resource.path("resourceType").asText();
        if (type.equals("Patient")) {
            return members == null || members.contains("Patient/" + resource.path("id").asText());
        }
        for (String reference : compartmentReferences(resource, type)) {
            String patient = reference.replaceAll("^.*?(Patient/[^/]+)(/_history/.*)?$", "$1");
            if (patient.startsWith("Patient/") && (members == null || members.contains(patient))) {
                return true;
            }
        }
        return false;
    }

    private static final Map<String, List<List<String>>> COMPARTMENT_PATHS = new ConcurrentHashMap<>();

    private static List<String> compartmentReferences(JsonNode resource, String type) {
        List<List<String>> paths = COMPARTMENT_PATHS.computeIfAbsent(type, t -> {
            List<List<String>> found = new ArrayList<>();
            if (!FhirR4.context().getResourceTypes().contains(t)) {
                return found;
            }
            for (var parameter : FhirR4.context().getResourceDefinition(t).getSearchParamsForCompartmentName("Patient")) {
                for (String path : parameter.getPathsSplit()) {
                    String simple = path.replaceAll("\\.where\\([^)]*\\)", "").replaceAll("[()]", "").trim();
                    if (simple.startsWith(t + ".")) {
                        found.add(List.of(simple.substring(t.length() + 1).split("\\.")));
                    }
                }
            }
            return found;
        });
        List<String> references = new ArrayList<>();
        for (List<String> path : paths) {
            collect(resource, path, 0, references);
        }
        return references;
    }

    private static void collect(JsonNode node, List<String> path, int step, List<String> references) {
        if (node.isArray()) {
            node.forEach(element -> collect(element, path, step, references));
            return;
        }
        if (step == path.size()) {
            if (node.hasNonNull("reference")) {
                references.add(node.get("reference").asText());
            }
            return;
        }
        JsonNode next = node.get(path.get(step));
        if (next != null) {
            collect(next, path, step + 1, references);
        }
    }

    private Set<String> groupMembers(String groupId) throws Exception {
        JsonNode group = pages.read(fhirBaseUrl + "/Group/" + URLEncoder.encode(groupId, StandardCharsets.UTF_8),
                "Bulk export: read of the Group", () -> stopping);
        if (group == null) {
            throw new IllegalStateException("Group/" + groupId + " not found on the FHIR server");
        }
        Set<String> members = new HashSet<>();
        for (JsonNode member : group.path("member")) {
            String reference = member.path("entity").path("reference").asText();
            if (reference.startsWith("Patient/")) {
                members.add(reference);
            }
        }
        return members;
    }

    private String publicBase(Message in) {
        if (!publicBaseUrl.isEmpty()) {
            return publicBaseUrl;
        }
        String url = in.getHeader(Exchange.HTTP_URL, String.class);
        if (url != null && url.contains("://")) {
            java.net.URI uri = java.net.URI.create(url);
            return uri.getScheme() + "://" + uri.getRawAuthority();
        }
        String host = in.getHeader("Host", String.class);
        return "http://" + (host == null ? "127.0.0.1" : host);
    }

    static Map<String, List<String>> queryParameters(String query) {
        Map<String, List<String>> parameters = new LinkedHashMap<>();
        if (query == null || query.isBlank()) {
            return parameters;
        }
        for (String pair : query.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            String name = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
            String value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            parameters.computeIfAbsent(name, n -> new ArrayList<>()).add(value);
        }
        return parameters;
    }

    private static String digest(String body) throws Exception {
        byte[] hash = MessageDigest.getInstance("SHA-256").digest((body == null ? "" : body).getBytes(StandardCharsets.UTF_8));
        return HexFormat.of().formatHex(hash, 0, 16);
    }

    private Object lock(String jobId) {
        return locks.computeIfAbsent(jobId, id -> new Object());
    }

    /** Jackson closes the writer it writes a value to; the part's writer stays open for the next line. */
    private static final class NonClosingWriter extends java.io.FilterWriter {
        NonClosingWriter(java.io.Writer out) {
            super(out);
        }

        @Override
        public void close() {
            // the part writer is closed by its owner
        }
    }

    // ---- lifecycle -----------------------------------------------------------------------------------------------

    @Override
    protected void doStart() throws Exception {
        if (!enabled) {
            return;
        }
        // the YAML DSL may build a bean's class more than once; only the instance bound in the registry runs jobs,
        // or two workers would resume the same job
        if (camelContext.getRegistry().findByType(BulkExports.class).stream().noneMatch(bound -> bound == this)) {
            LOG.debug("BulkExports: an instance not bound in the registry stays idle");
            return;
        }
        require(fhirBaseUrl, "fhirBaseUrl (cmm.bulk.fhir-base-url)");
        require(jobsTopic, "jobsTopic (cmm.bulk.export.jobs-topic)");
        require(completionsTopic, "completionsTopic (cmm.bulk.export.completions-topic)");
        require(bucket, "bucket (cmm.bulk.s3.bucket)");
        require(outputBaseUrl, "outputBaseUrl (cmm.bulk.export.output-base-url)");
        if (exportableTypes.isEmpty()) {
            throw new IllegalArgumentException("Bulk export: no exportable types (cmm.bulk.export.types)");
        }
        stopping = false;
        cancelled.clear();
        work = workDir.isEmpty() ? Files.createTempDirectory("cmm-bulk-export") : Files.createDirectories(Path.of(workDir));
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(connectTimeoutMs)).build();
        retry = new PeerRetry(retryMaxAttempts, retryBudgetMs, retryInitialBackoffMs, retryMaxBackoffMs);
        pages = new FhirSearchPages(http, Duration.ofMillis(socketTimeoutMs), retry);
        storage = new BulkStorage(camelContext.createProducerTemplate(), bucket);
        serverExport = new ServerBulkExport(http, Duration.ofMillis(socketTimeoutMs), retry, storage, work,
                serverExportBaseUrl.isEmpty() ? fhirBaseUrl : serverExportBaseUrl, ServerBulkExport.Mode.of(serverExportMode),
                serverExportAccessToken, maxResourcesPerFile, serverExportMinPollMs, serverExportMaxPollMs);
        jobs = new BulkJobStore(KafkaClients.of(camelContext), jobsTopic, writeTimeoutMs, Duration.ofSeconds(60), leaseMs);
        workers = Executors.newFixedThreadPool(concurrency, r -> {
            Thread t = new Thread(r, "fhir-bulk-export");
            t.setDaemon(true);
            return t;
        });
        // the jobs running when their runtime stopped, and later those whose runner's lease runs out; a job this
        // instance loses (taken over, cancelled elsewhere) stops as a cancelled one does, without writing anything
        jobs.runJobs(workers, new BulkJobStore.JobRunner() {
            @Override
            public void run(String jobId) {
                BulkExports.this.run(jobId);
            }

            @Override
            public void lost(String jobId) {
                cancelled.add(jobId);
            }
        });
        LOG.info("Bulk export: {} jobs known, {} in progress, this instance is {}", jobs.all().size(),
                jobs.all().stream().filter(BulkExports::isActive).count(), jobs.instanceId());
    }

    /** Whether this instance runs the job now (tests: one runner per job across instances). */
    boolean runs(String jobId) {
        return jobs != null && jobs.runs(jobId);
    }

    private static void require(String value, String name) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException("Bulk export: " + name + " is not set");
        }
    }

    /** How long a stop waits for the workers to reach their next page or batch before it interrupts them. */
    static final long STOP_GRACE_SECONDS = 15;

    @Override
    protected void doStop() throws Exception {
        // running jobs stop at their next page; their state on Kafka (still in progress) lets the next start resume them
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

    private volatile boolean stopping;
}
