package org.cmm.eventbroker.eventapi.registry;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A Confluent-compatible schema registry elsewhere ({@code cmm.eventapi.registry.url}: Confluent, Karapace, Apicurio's
 * {@code /apis/ccompat/v7}), used instead of the built-in one: the payload schemas are registered there at start and
 * the AsyncAPI document reads them from there. Basic credentials, when the registry needs them, are the URL's
 * user-info ({@code https://user:password@host/}).
 */
final class ExternalRegistry {

    private static final String MEDIA = "application/vnd.schemaregistry.v1+json";

    private final URI base;
    private final String authorization;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    ExternalRegistry(String url) {
        URI uri = URI.create(url.endsWith("/") ? url : url + "/");
        String userInfo = uri.getRawUserInfo();
        this.authorization = userInfo == null ? null : "Basic " + java.util.Base64.getEncoder()
                .encodeToString(java.net.URLDecoder.decode(userInfo, StandardCharsets.UTF_8)
                        .getBytes(StandardCharsets.UTF_8));
        this.base = URI.create(uri.getScheme() + "://" + uri.getRawAuthority().replaceFirst("^.*@", "")
                + uri.getRawPath());
    }

    URI base() {
        return base;
    }

    int register(String subject, SchemaType type, String schema) throws Exception {
        ObjectNode body = SchemaStore.JSON.createObjectNode().put("schema", schema);
        if (type != SchemaType.AVRO) {
            body.put("schemaType", type.name());
        }
        JsonNode answer = call("POST", "subjects/" + encode(subject) + "/versions", body.toString());
        return answer.path("id").asInt();
    }

    Optional<JsonNode> latest(String subject) throws Exception {
        try {
            return Optional.of(call("GET", "subjects/" + encode(subject) + "/versions/latest", null));
        } catch (RegistryException e) {
            if (e.status() == 404) {
                return Optional.empty();
            }
            throw e;
        }
    }

    private JsonNode call(String method, String path, String body) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(30))
                .header("Accept", MEDIA).method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            request.header("Content-Type", MEDIA);
        }
        if (authorization != null) {
            request.header("Authorization", authorization);
        }
        HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        JsonNode answer = response.body().isBlank() ? SchemaStore.JSON.createObjectNode()
                : SchemaStore.JSON.readTree(response.body());
        if (response.statusCode() >= 300) {
            throw new RegistryException(response.statusCode(), answer.path("error_code").asInt(response.statusCode()),
                    "The schema registry at " + base + " answered " + response.statusCode() + ": "
                            + answer.path("message").asText(""));
        }
        return answer;
    }

    private static String encode(String subject) {
        return URLEncoder.encode(subject, StandardCharsets.UTF_8).replace("+", "%20");
    }
}
