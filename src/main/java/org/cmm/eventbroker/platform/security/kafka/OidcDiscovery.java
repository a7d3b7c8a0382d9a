package org.cmm.eventbroker.platform.security.kafka;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/** The JWKS address of an OpenID Connect issuer, from its {@code /.well-known/openid-configuration}. */
public final class OidcDiscovery {

    private OidcDiscovery() {
    }

    public static String jwksUri(String issuer) throws IOException, InterruptedException {
        String base = issuer.endsWith("/") ? issuer.substring(0, issuer.length() - 1) : issuer;
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        HttpResponse<String> response = client.send(HttpRequest.newBuilder(
                URI.create(base + "/.well-known/openid-configuration")).timeout(Duration.ofSeconds(10)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new IOException("OIDC discovery of " + issuer + " answered HTTP " + response.statusCode());
        }
        JsonNode document = new ObjectMapper().readTree(response.body());
        String jwks = document.path("jwks_uri").asText("");
        if (jwks.isEmpty()) {
            throw new IOException("OIDC discovery of " + issuer + " names no jwks_uri");
        }
        return jwks;
    }
}
