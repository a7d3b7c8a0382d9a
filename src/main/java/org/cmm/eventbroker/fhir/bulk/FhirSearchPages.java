package org.cmm.eventbroker.fhir.bulk;

import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Reads a FHIR search page by page, following the Bundle's {@code next} links: only one page (at most
 * {@code _count} resources) is in memory at a time, whatever the size of the result.
 */
final class FhirSearchPages {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpClient http;
    private final Duration readTimeout;
    private final PeerRetry retry;

    /** Each request (a page, a read) is retried with {@code retry} while the server fails for a reason that passes. */
    FhirSearchPages(HttpClient http, Duration readTimeout, PeerRetry retry) {
        this.http = http;
        this.readTimeout = readTimeout;
        this.retry = retry;
    }

    /** What a page handler may say: go on to the next page or stop here. */
    interface PageVisitor {
        /** @return false to stop before the next page (a cancelled job) */
        boolean page(Iterable<JsonNode> resources) throws Exception;
    }

    /**
     * Visits every match of the search starting at {@code url} (search mode {@code match}; includes are skipped).
     * A page that fails for a reason that passes is asked for again (the same {@code next} link).
     *
     * @param what      names the search in logs and errors (job and type, never a resource)
     * @param abandoned true when the job no longer wants the pages: no more attempts
     */
    void search(String url, String what, java.util.function.BooleanSupplier abandoned, PageVisitor visitor) throws Exception {
        String next = url;
        int page = 1;
        while (next != null) {
            String current = next;
            JsonNode bundle = retry.call(what + ": search page " + page, abandoned, () -> get(current));
            page++;
            if (!"Bundle".equals(bundle.path("resourceType").asText())) {
                throw new IllegalStateException("The FHIR server answered a search with a "
                        + bundle.path("resourceType").asText());
            }
            java.util.List<JsonNode> resources = new java.util.ArrayList<>();
            for (JsonNode entry : bundle.path("entry")) {
                String mode = entry.path("search").path("mode").asText("match");
                if (entry.has("resource") && mode.equals("match")) {
                    resources.add(entry.get("resource"));
                }
            }
            if (!visitor.page(resources)) {
                return;
            }
            next = null;
            for (JsonNode link : bundle.path("link")) {
                if ("next".equals(link.path("relation").asText())) {
                    next = link.path("url").asText(null);
                }
            }
        }
    }

    /** Reads one resource (a Group); null when the server does not know it. */
    JsonNode read(String url, String what, java.util.function.BooleanSupplier abandoned) throws Exception {
        return retry.call(what, abandoned, () -> readOnce(url));
    }

    private JsonNode readOnce(String url) throws Exception {
        HttpResponse<InputStream> response = send(url);
        try (InputStream body = response.body()) {
            if (response.statusCode() == 404 || response.statusCode() == 410) {
                return null;
            }
            if (response.statusCode() / 100 != 2) {
                throw new FhirServerAnswerException(response.statusCode(), "a read");
            }
            return JSON.readTree(body);
        }
    }

    private JsonNode get(String url) throws Exception {
        HttpResponse<InputStream> response = send(url);
        try (InputStream body = response.body()) {
            if (response.statusCode() / 100 != 2) {
                throw new FhirServerAnswerException(response.statusCode(), "a search page");
            }
            return JSON.readTree(body);
        }
    }

    private HttpResponse<InputStream> send(String url) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create(url)).timeout(readTimeout)
                .header("Accept", "application/fhir+json").GET().build();
        return http.send(request, HttpResponse.BodyHandlers.ofInputStream());
    }
}
