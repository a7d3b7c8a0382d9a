package org.cmm.eventbroker.fhir.bulk;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Extraction through the FHIR server's own bulk export (HL7 FHIR Bulk Data Access IG 2.0.0, client side), for servers
 * that have one (HAPI FHIR's JPA server, most EHRs' FHIR APIs): a paged search of every resource is the slowest way
 * to read a large server, and the server's {@code $export} is what it offers for exactly this.
 *
 * <p>Which path a job takes ({@code cmm.bulk.export.server-export}): {@code never} (paged searches), {@code always}
 * (the server's {@code $export}), {@code auto}: the server's {@code $export} when its CapabilityStatement
 * ({@code GET [base]/metadata}) declares the export operation for the job's level (system, Patient, Group), or
 * instantiates the IG's bulk-data CapabilityStatement. A job that started on one path stays on it after a restart.
 *
 * <p>The job: kick-off ({@code _type}, {@code _since}, {@code _typeFilter}, {@code _outputFormat}, {@code Prefer:
 * respond-async}); the status URL is written to the job record before anything else, so a restarted runtime polls the
 * same server job instead of kicking off a second one; polls honour {@code Retry-After} (else a doubling back-off);
 * each output file is streamed line by line into the runtime's own NDJSON parts ({@code <Type>.<part>.ndjson}, at
 * most {@code maxResourcesPerFile} lines each, lines counted while streaming, one line in memory), the server's
 * {@code error} files likewise into {@code OperationOutcome.error.<part>.ndjson} listed in the manifest's
 * {@code error[]}; the server's job is DELETEd when ours is done or cancelled. A server job that is gone when a
 * restarted runtime polls it (404, 410) is started again cleanly: the files written for it are deleted first. Every
 * request is retried through {@link PeerRetry} while the server fails for a reason that passes; a 4xx answer ends the
 * job (the status URL answers 500 with an OperationOutcome naming the server's answer).
 */
final class ServerBulkExport {

    private static final Logger LOG = LoggerFactory.getLogger(ServerBulkExport.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String NDJSON = "application/fhir+ndjson";
    /** The pseudo type under which the server's error files are stored: {@code OperationOutcome.error.<part>.ndjson}. */
    static final String ERROR_FILES = "OperationOutcome.error";
    private static final String BULK_DATA_CAPABILITY = "http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data";

    /** {@code cmm.bulk.export.server-export}. */
    enum Mode {
        AUTO, ALWAYS, NEVER;

        static Mode of(String value) {
            try {
                return valueOf(value.trim().toUpperCase(Locale.ROOT));
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("Bulk export: cmm.bulk.export.server-export is auto, always or never, not "
                        + value);
            }
        }
    }

    /** How the exporter names its objects and records the job's state (BulkExports owns both). */
    interface Job {
        String jobId();

        /** The object key of a part: {@code <prefix>/<job>/<Type>.<part>.ndjson}. */
        String key(String type, int part);

        /**
         * Applies the change to the job's state (the object given to {@link #export}) and writes it (acks=all); false
         * when the job was cancelled.
         */
        boolean update(Consumer<ObjectNode> change) throws Exception;

        /** Our job no longer runs here: cancelled, or lost to another instance (its lease). */
        boolean cancelled();

        /**
         * Our job was cancelled by its client (its state on the job topic), not merely taken over by another instance,
         * which goes on polling the same server job.
         */
        boolean cancelledByClient();

        boolean stopping();
    }

    private final HttpClient http;
    private final Duration readTimeout;
    private final PeerRetry retry;
    private final BulkStorage storage;
    private final Path work;
    private final String baseUrl;
    private final Mode mode;
    private final String accessToken;
    private final int maxResourcesPerFile;
    private final long minPollMs;
    private final long maxPollMs;
    /** Levels whose export the server declares, read once from its CapabilityStatement (auto mode). */
    private volatile Set<String> declaredLevels;

    ServerBulkExport(HttpClient http, Duration readTimeout, PeerRetry retry, BulkStorage storage, Path work,
            String baseUrl, Mode mode, String accessToken, int maxResourcesPerFile, long minPollMs, long maxPollMs) {
        this.http = http;
        this.readTimeout = readTimeout;
        this.retry = retry;
        this.storage = storage;
        this.work = work;
        this.baseUrl = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
        this.mode = mode;
        this.accessToken = accessToken == null ? "" : accessToken.trim();
        this.maxResourcesPerFile = maxResourcesPerFile;
        this.minPollMs = Math.max(1, minPollMs);
        this.maxPollMs = Math.max(this.minPollMs, maxPollMs);
    }

    // ---- which path ------------------------------------------------------------------------------------------------

    /**
     * Whether this job is extracted through the server's {@code $export}: a job that already holds a server job does,
     * one that already wrote paged-search parts does not (a restart never changes a job's path), else the mode decides.
     */
    boolean applies(ObjectNode job, BulkExportRequest request, BooleanSupplier abandoned) throws Exception {
        if (job.has("serverExport")) {
            return true;
        }
        if (job.path("types").size() > 0) {
            return false;
        }
        return switch (mode) {
            case NEVER -> false;
            case ALWAYS -> true;
            case AUTO -> declaredLevels(abandoned).contains(request.level());
        };
    }

    private Set<String> declaredLevels(BooleanSupplier abandoned) throws Exception {
        Set<String> levels = declaredLevels;
        if (levels == null) {
            JsonNode capabilities = retry.call("Bulk export: the FHIR server's CapabilityStatement", abandoned, () -> {
                HttpResponse<InputStream> response = send(request(baseUrl + "/metadata").GET()
                        .header("Accept", "application/fhir+json").build());
                try (InputStream body = response.body()) {
                    if (response.statusCode() / 100 == 2) {
                        try {
                            return JSON.readTree(body);
                        } catch (com.fasterxml.jackson.core.JacksonException notJson) {
                            return null; // an answer that is not a FHIR JSON resource declares nothing
                        }
                    }
                    if (PeerRetry.isTransient(new FhirServerAnswerException(response.statusCode(), ""))) {
                        throw new FhirServerAnswerException(response.statusCode(), "the metadata request");
                    }
                    return null; // no CapabilityStatement: no $export that we know of
                }
            });
            levels = exportLevels(capabilities);
            declaredLevels = levels;
            LOG.info("Bulk export: the FHIR server {} its own $export{}", levels.isEmpty() ? "does not declare"
                    : "declares", levels.isEmpty() ? " (paged searches)" : " at the levels " + levels);
        }
        return levels;
    }

    /**
     * The levels (system, patient, group) at which a CapabilityStatement declares the bulk export operation: by name
     * ({@code export}) or by its canonical ({@code .../OperationDefinition/export}, {@code patient-export},
     * {@code group-export}), server-wide or on Patient or Group; every level when it instantiates the IG's
     * bulk-data CapabilityStatement.
     */
    static Set<String> exportLevels(JsonNode capabilities) {
        Set<String> levels = new java.util.LinkedHashSet<>();
        if (capabilities == null || !"CapabilityStatement".equals(capabilities.path("resourceType").asText())) {
            return levels;
        }
        for (JsonNode canonical : capabilities.path("instantiates")) {
            if (canonical.asText().startsWith(BULK_DATA_CAPABILITY)) {
                levels.addAll(BulkExportRequest.levels());
            }
        }
        for (JsonNode rest : capabilities.path("rest")) {
            if (!"server".equals(rest.path("mode").asText("server"))) {
                continue;
            }
            for (JsonNode operation : rest.path("operation")) {
                if (isExport(operation, "")) {
                    levels.add(BulkExportRequest.SYSTEM);
                }
            }
            for (JsonNode resource : rest.path("resource")) {
                String type = resource.path("type").asText();
                for (JsonNode operation : resource.path("operation")) {
                    if (type.equals("Patient") && isExport(operation, "patient-")) {
                        levels.add(BulkExportRequest.PATIENT);
                    } else if (type.equals("Group") && isExport(operation, "group-")) {
                        levels.add(BulkExportRequest.GROUP);
                    }
                }
            }
        }
        return levels;
    }

    private static boolean isExport(JsonNode operation, String definitionPrefix) {
        String name = operation.path("name").asText();
        if (name.startsWith("$")) {
            name = name.substring(1);
        }
        String definition = operation.path("definition").asText().toLowerCase(Locale.ROOT);
        String last = definition.substring(definition.lastIndexOf('/') + 1);
        if (last.contains("|")) {
            last = last.substring(0, last.indexOf('|'));
        }
        return name.equals("export") || last.equals("export") || last.equals(definitionPrefix + "export");
    }

    // ---- the job -----------------------------------------------------------------------------------------------------

    /**
     * Extracts the job's resources through the server's {@code $export} into the job's parts, recording each type's
     * parts and counts, and the server's error files; false when the job was cancelled or the runtime stops (nothing
     * more to do now; a stopped job resumes with the same server job at the next start).
     */
    boolean export(ObjectNode job, BulkExportRequest request, Job our) throws Exception {
        BooleanSupplier abandoned = () -> our.cancelled() || our.stopping();
        if (job.path("serverExport").path("filesDone").asBoolean()) {
            // every file was copied before the restart: only the end of the job is left (and the server's job, if the
            // restart came before its deletion)
            release(our.jobId(), job.path("serverExport").path("statusUrl").asText(""));
            return true;
        }
        for (int attempt = 1; ; attempt++) {
            String statusUrl = job.path("serverExport").path("statusUrl").asText("");
            if (statusUrl.isEmpty()) {
                statusUrl = kickOff(request, our, abandoned);
                String kicked = statusUrl;
                if (!our.update(j -> j.with("serverExport").put("statusUrl", kicked))) {
                    release(our.jobId(), kicked); // stopped while the server took the kick-off: no record knows this job
                    return false;
                }
                LOG.info("Bulk export {}: the FHIR server's $export accepted the job", our.jobId());
            }
            try {
                JsonNode manifest = awaitManifest(statusUrl, our, abandoned);
                if (manifest != null && copyFiles(job, request, manifest, our, abandoned)) {
                    release(our.jobId(), statusUrl); // its files are copied: the server may drop them
                    return true;
                }
            } catch (ServerJobGoneException gone) {
                if (attempt > 1) {
                    throw new IllegalStateException("The FHIR server's $export job disappeared twice (" + gone.status + ")");
                }
                LOG.info("Bulk export {}: the FHIR server no longer knows its job ({}): started again", our.jobId(),
                        gone.status);
                if (!startAgain(job, our, abandoned)) {
                    return false;
                }
                continue;
            } catch (Exception e) {
                if (!our.stopping() && (!our.cancelled() || our.cancelledByClient())) {
                    release(our.jobId(), statusUrl); // our job fails: the server's job is no one's
                }
                throw e;
            }
            if (our.cancelledByClient()) {
                release(our.jobId(), statusUrl);
            }
            // cancelled, taken over by another instance (which polls the same server job), or the runtime stops (the
            // server's job is polled again at the next start)
            return false;
        }
    }

    /** The server job our job started is gone: the files copied from it are deleted and the job starts from nothing. */
    private boolean startAgain(ObjectNode job, Job our, BooleanSupplier abandoned) throws Exception {
        for (String key : writtenKeys(job, our)) {
            retry.call("Bulk export " + our.jobId() + ": deletion of a file of the earlier server job", abandoned, () -> {
                storage.delete(key);
                return null;
            });
        }
        // the state is the job's own object: the update changes it here too
        return our.update(j -> {
            j.putObject("types");
            j.remove("serverExport");
        });
    }

    /** The keys of every part the job wrote (output and error files), as recorded in its state. */
    static List<String> writtenKeys(ObjectNode job, Job our) {
        List<String> keys = new ArrayList<>();
        job.path("types").fields().forEachRemaining(e -> {
            for (int p = 1; p <= e.getValue().path("partsWritten").asInt(0); p++) {
                keys.add(our.key(e.getKey(), p));
            }
        });
        keys.addAll(errorKeys(job, our::key));
        return keys;
    }

    /** The keys of the server's error files the job copied. */
    static List<String> errorKeys(ObjectNode job, java.util.function.BiFunction<String, Integer, String> key) {
        List<String> keys = new ArrayList<>();
        for (int p = 1; p <= job.path("serverExport").path("errorPartsWritten").asInt(0); p++) {
            keys.add(key.apply(ERROR_FILES, p));
        }
        return keys;
    }

    /** The manifest's {@code error[]}: the server's error files as the job copied them (empty on the paged path). */
    static void addErrors(ArrayNode error, ObjectNode job, String outputBaseUrl,
            java.util.function.BiFunction<String, Integer, String> key) {
        JsonNode counts = job.path("serverExport").path("errorFiles");
        for (int i = 0; i < counts.size(); i++) {
            ObjectNode file = error.addObject();
            file.put("type", "OperationOutcome");
            file.put("url", outputBaseUrl + "/" + key.apply(ERROR_FILES, i + 1));
            file.put("count", counts.get(i).asLong());
        }
    }

    private String kickOff(BulkExportRequest request, Job our, BooleanSupplier abandoned) throws Exception {
        StringBuilder url = new StringBuilder(baseUrl);
        if (BulkExportRequest.PATIENT.equals(request.level())) {
            url.append("/Patient");
        } else if (BulkExportRequest.GROUP.equals(request.level())) {
            url.append("/Group/").append(URLEncoder.encode(request.groupId(), StandardCharsets.UTF_8));
        }
        url.append("/$export?_outputFormat=").append(URLEncoder.encode(NDJSON, StandardCharsets.UTF_8));
        url.append("&_type=").append(URLEncoder.encode(String.join(",", request.types()), StandardCharsets.UTF_8));
        if (request.since() != null) {
            url.append("&_since=").append(URLEncoder.encode(request.since().toString(), StandardCharsets.UTF_8));
        }
        request.typeFilters().forEach((type, queries) -> queries.forEach(query -> url.append("&_typeFilter=")
                .append(URLEncoder.encode(type + "?" + query, StandardCharsets.UTF_8))));
        URI kickOff = URI.create(url.toString());
        return retry.call("Bulk export " + our.jobId() + ": the FHIR server's $export kick-off", abandoned, () -> {
            HttpResponse<InputStream> response = send(request(kickOff.toString()).GET()
                    .header("Accept", "application/fhir+json").header("Prefer", "respond-async").build());
            try (InputStream body = response.body()) {
                body.transferTo(java.io.OutputStream.nullOutputStream());
                String location = response.headers().firstValue("Content-Location").orElse("");
                if (response.statusCode() == 202 && !location.isBlank()) {
                    return kickOff.resolve(location.trim()).toString();
                }
                if (response.statusCode() / 100 == 2) {
                    throw new IllegalStateException("The FHIR server answered its $export kick-off with "
                            + response.statusCode() + " and no Content-Location (not a bulk data server?)");
                }
                throw new FhirServerAnswerException(response.statusCode(), "the $export kick-off");
            }
        });
    }

    /**
     * Polls the status URL until the server's job is complete: its manifest; null when our job was cancelled or the
     * runtime stops. {@link ServerJobGoneException} when the server no longer knows the job (404, 410).
     */
    private JsonNode awaitManifest(String statusUrl, Job our, BooleanSupplier abandoned) throws Exception {
        long backoff = minPollMs;
        while (true) {
            if (abandoned.getAsBoolean()) {
                return null;
            }
            Poll poll = retry.call("Bulk export " + our.jobId() + ": the FHIR server's $export status", abandoned, () -> {
                HttpResponse<InputStream> response = send(request(statusUrl).GET().header("Accept", "application/json")
                        .build());
                try (InputStream body = response.body()) {
                    int status = response.statusCode();
                    if (status == 200) {
                        return new Poll(JSON.readTree(body), null, null);
                    }
                    body.transferTo(java.io.OutputStream.nullOutputStream());
                    if (status == 202) {
                        return new Poll(null, response.headers().firstValue("Retry-After").orElse(null),
                                response.headers().firstValue("X-Progress").orElse(null));
                    }
                    if (status == 404 || status == 410) {
                        throw new ServerJobGoneException(status);
                    }
                    throw new FhirServerAnswerException(status, "the $export status request");
                }
            });
            if (poll.manifest != null) {
                return poll.manifest;
            }
            long waitMs = retryAfterMs(poll.retryAfter);
            if (waitMs < 0) {
                waitMs = backoff;
                backoff = Math.min(maxPollMs, backoff * 2);
            }
            LOG.debug("Bulk export {}: the server's job is running ({}); next poll in {} ms", our.jobId(),
                    poll.progress, waitMs);
            if (!pause(Math.max(minPollMs, Math.min(maxPollMs, waitMs)), abandoned)) {
                return null;
            }
        }
    }

    private record Poll(JsonNode manifest, String retryAfter, String progress) {
    }

    /** Retry-After as delay-seconds or an HTTP date; -1 when absent or unreadable. */
    static long retryAfterMs(String retryAfter) {
        if (retryAfter == null || retryAfter.isBlank()) {
            return -1;
        }
        String value = retryAfter.trim();
        try {
            return Math.max(0, Long.parseLong(value)) * 1000;
        } catch (NumberFormatException e) {
            try {
                return Math.max(0, Duration.between(java.time.Instant.now(),
                        ZonedDateTime.parse(value, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant()).toMillis());
            } catch (RuntimeException unreadable) {
                return -1;
            }
        }
    }

    /** Waits, looking at the job every 100 ms; false when it was abandoned meanwhile. */
    private static boolean pause(long ms, BooleanSupplier abandoned) throws InterruptedException {
        long end = System.nanoTime() + ms * 1_000_000;
        while (System.nanoTime() < end) {
            if (abandoned.getAsBoolean()) {
                return false;
            }
            Thread.sleep(Math.min(100, Math.max(1, (end - System.nanoTime()) / 1_000_000)));
        }
        return !abandoned.getAsBoolean();
    }

    /** Copies the manifest's files type by type (the types already copied before a restart are skipped). */
    private boolean copyFiles(ObjectNode job, BulkExportRequest request, JsonNode manifest, Job our,
            BooleanSupplier abandoned) throws Exception {
        boolean token = manifest.path("requiresAccessToken").asBoolean(false);
        if (token && accessToken.isEmpty()) {
            LOG.warn("Bulk export {}: the server's files require an access token and none is configured"
                    + " (cmm.bulk.export.server-export.access-token)", our.jobId());
        }
        String serverTime = manifest.path("transactionTime").asText("");
        Map<String, List<String>> urls = new java.util.LinkedHashMap<>();
        int ignored = 0;
        for (JsonNode output : manifest.path("output")) {
            String type = output.path("type").asText();
            if (request.types().contains(type)) {
                urls.computeIfAbsent(type, t -> new ArrayList<>()).add(output.path("url").asText());
            } else {
                ignored++;
            }
        }
        if (ignored > 0) {
            LOG.info("Bulk export {}: {} files of types not asked for were left on the server", our.jobId(), ignored);
        }
        for (String type : request.types()) {
            if (job.path("types").path(type).path("done").asBoolean()) {
                continue;
            }
            List<Long> counts = copy(job, type, type, urls.getOrDefault(type, List.of()), token, our, abandoned);
            if (counts == null) {
                return false;
            }
            if (!our.update(j -> {
                ObjectNode t = typeState(j, type);
                t.put("done", true);
                t.put("partsWritten", counts.size());
                ArrayNode files = t.putArray("files");
                counts.forEach(files::add);
            })) {
                return false;
            }
            LOG.info("Bulk export {}: {} {} resources from the server's $export in {} files", our.jobId(),
                    counts.stream().mapToLong(Long::longValue).sum(), type, counts.size());
        }
        List<String> errors = new ArrayList<>();
        manifest.path("error").forEach(e -> errors.add(e.path("url").asText()));
        List<Long> errorCounts = copy(job, ERROR_FILES, "error", errors, token, our, abandoned);
        if (errorCounts == null) {
            return false;
        }
        return our.update(j -> {
            ObjectNode server = j.with("serverExport");
            server.put("errorPartsWritten", errorCounts.size());
            ArrayNode files = server.putArray("errorFiles");
            errorCounts.forEach(files::add);
            server.put("filesDone", true);
            if (!serverTime.isEmpty()) {
                j.put("transactionTime", serverTime); // the server's: what a later _since should start from
            }
        });
    }

    private static ObjectNode typeState(ObjectNode job, String type) {
        ObjectNode types = job.with("types");
        return types.has(type) ? (ObjectNode) types.get(type) : types.putObject(type);
    }

    /**
     * Streams the files into parts named after {@code partType}, from part 1 (a type copied again after a restart
     * overwrites its names; parts an earlier attempt wrote past the new end are deleted). A file that breaks off is
     * retried with the whole type. The line counts of the parts; null when the job was abandoned.
     */
    private List<Long> copy(ObjectNode job, String partType, String what, List<String> urls, boolean token, Job our,
            BooleanSupplier abandoned) throws Exception {
        int previousParts = partType.equals(ERROR_FILES)
                ? job.path("serverExport").path("errorPartsWritten").asInt(0)
                : job.path("types").path(partType).path("partsWritten").asInt(0);
        List<Long> counts;
        try {
            counts = retry.call("Bulk export " + our.jobId() + ": the server's " + what + " files of " + partType,
                    abandoned, () -> copyOnce(partType, urls, token, our, abandoned));
        } catch (AbandonedException e) {
            return null;
        }
        for (int part = counts.size() + 1; part <= previousParts; part++) {
            String stale = our.key(partType, part);
            retry.call("Bulk export " + our.jobId() + ": deletion of " + partType + " part " + part, abandoned, () -> {
                storage.delete(stale);
                return null;
            });
        }
        return counts;
    }

    private List<Long> copyOnce(String partType, List<String> urls, boolean token, Job our, BooleanSupplier abandoned)
            throws Exception {
        NdjsonParts parts = new NdjsonParts(work, "server-export-", storage, retry, "Bulk export " + our.jobId()
                + ": upload of " + partType, part -> our.key(partType, part), abandoned, maxResourcesPerFile);
        try {
            for (String url : urls) {
                // the bearer token only where the manifest asks for it: a file host (a pre-signed URL) may refuse one
                HttpRequest.Builder get = token ? request(url) : HttpRequest.newBuilder(URI.create(url)).timeout(readTimeout);
                HttpResponse<InputStream> response = send(get.GET().header("Accept", NDJSON).build());
                try (InputStream body = response.body()) {
                    if (response.statusCode() / 100 != 2) {
                        throw new FhirServerAnswerException(response.statusCode(), "a request for an export file"
                                + (response.statusCode() == 401 && accessToken.isEmpty()
                                        ? " (no cmm.bulk.export.server-export.access-token configured)" : ""));
                    }
                    BufferedReader lines = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8));
                    long read = 0;
                    for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                        if (line.isBlank()) {
                            continue;
                        }
                        if (parts.write(line)) {
                            parts.upload();
                        }
                        if (++read % 1000 == 0 && abandoned.getAsBoolean()) {
                            throw new AbandonedException();
                        }
                    }
                }
            }
            parts.upload();
            return parts.counts();
        } finally {
            parts.discard();
        }
    }

    /**
     * Asks the server to delete its job (the IG's DELETE of the status URL: the job is done or cancelled on our side,
     * its files are no longer needed). Best effort, one try: a server that keeps the files expires them itself.
     */
    void release(String jobId, String statusUrl) {
        if (statusUrl == null || statusUrl.isBlank()) {
            return;
        }
        try {
            HttpResponse<InputStream> response = send(request(statusUrl).DELETE().build());
            try (InputStream body = response.body()) {
                body.transferTo(java.io.OutputStream.nullOutputStream());
            }
            LOG.info("Bulk export {}: the FHIR server's job deleted (answer {})", jobId, response.statusCode());
        } catch (Exception e) {
            LOG.info("Bulk export {}: the FHIR server's job could not be deleted ({})", jobId, e.getClass().getSimpleName());
        }
    }

    /** The server job of a job record that holds one (a cancellation on the HTTP thread); nothing otherwise. */
    void release(ObjectNode job) {
        release(job.path("jobId").asText(), job.path("serverExport").path("statusUrl").asText(""));
    }

    private HttpRequest.Builder request(String url) {
        HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create(url)).timeout(readTimeout);
        if (!accessToken.isEmpty()) {
            builder.header("Authorization", "Bearer " + accessToken);
        }
        return builder;
    }

    private HttpResponse<InputStream> send(HttpRequest request) throws Exception {
        return http.send(request, HttpResponse.BodyHandlers.ofInputStream());
    }

    /** The server answered 404 or 410 for our job's status URL: it no longer knows the job. */
    private static final class ServerJobGoneException extends Exception {
        final int status;

        ServerJobGoneException(int status) {
            super("the FHIR server answered " + status + " for its job's status URL");
            this.status = status;
        }
    }

    /** Our job was cancelled or the runtime stops while a file was being copied. */
    private static final class AbandonedException extends Exception {
    }
}
