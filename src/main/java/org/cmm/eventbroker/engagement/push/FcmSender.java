package org.cmm.eventbroker.engagement.push;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.interfaces.RSAPrivateKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.util.Base64;
import java.util.Date;
import java.util.UUID;

import javax.net.ssl.SSLContext;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import org.cmm.eventbroker.engagement.DeviceRegistration;

/**
 * FCM HTTP v1: {@code POST <base>/v1/projects/<project>/messages:send} with an OAuth2 access token obtained from a
 * Google service-account key (RFC 7523 JWT bearer grant, RS256, scope firebase.messaging), cached until shortly before
 * it expires. {@code UNREGISTERED} (404) or an unknown token: the token is gone; 401: the access token is renewed and
 * the push retried; 429 and 5xx: retried.
 */
public final class FcmSender implements PushSender {

    private static final String SCOPE = "https://www.googleapis.com/auth/firebase.messaging";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpClient http;
    private final Duration timeout;
    private final URI sendUri;
    private final String clientEmail;
    private final RSAPrivateKey key;
    private final String keyId;
    private final URI tokenUri;
    private String accessToken;
    private long accessTokenExpiresAt;

    /**
     * @param serviceAccount the service account's JSON key file (client_email, private_key, private_key_id, token_uri,
     *                       project_id)
     * @param baseUri        {@code https://fcm.googleapis.com}, or a stand-in
     * @param tokenUri       overrides the key file's token_uri when not empty
     */
    public FcmSender(Path serviceAccount, String baseUri, String tokenUri, SSLContext tls, Duration timeout)
            throws Exception {
        JsonNode account = JSON.readTree(Files.readAllBytes(serviceAccount));
        this.clientEmail = required(account, "client_email");
        this.keyId = account.path("private_key_id").asText(null);
        String pem = required(account, "private_key").replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
        this.key = (RSAPrivateKey) KeyFactory.getInstance("RSA")
                .generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(pem)));
        this.tokenUri = URI.create(tokenUri == null || tokenUri.isBlank() ? required(account, "token_uri") : tokenUri);
        String project = required(account, "project_id");
        this.sendUri = URI.create(baseUri.replaceAll("/+$", "") + "/v1/projects/"
                + URLEncoder.encode(project, StandardCharsets.UTF_8) + "/messages:send");
        this.http = HttpClient.newBuilder().sslContext(tls).connectTimeout(timeout)
                .followRedirects(HttpClient.Redirect.NEVER).build();
        this.timeout = timeout;
    }

    @Override
    public PushResult send(DeviceRegistration device, PushMessage message) {
        try {
            HttpResponse<String> response = post(device, message, token(false));
            if (response.statusCode() == 401) {
                response = post(device, message, token(true));
            }
            int status = response.statusCode();
            if (status == 200) {
                return PushResult.of(PushResult.Outcome.ACCEPTED, status, "accepted");
            }
            String code = errorCode(response.body());
            if ("UNREGISTERED".equals(code) || status == 404) {
                return PushResult.of(PushResult.Outcome.INVALID_TOKEN, status, code == null ? "HTTP 404" : code);
            }
            if ("INVALID_ARGUMENT".equals(code) && response.body().contains("registration token")) {
                return PushResult.of(PushResult.Outcome.INVALID_TOKEN, status, code);
            }
            return PushResult.of(PushResult.byHttpStatus(status), status, code == null ? "HTTP " + status : code);
        } catch (IOException e) {
            return PushResult.of(PushResult.Outcome.RETRY, 0, e.getClass().getSimpleName());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return PushResult.of(PushResult.Outcome.RETRY, 0, "interrupted");
        } catch (Exception e) {
            return PushResult.of(PushResult.Outcome.RETRY, 0, e.getClass().getSimpleName());
        }
    }

    private HttpResponse<String> post(DeviceRegistration device, PushMessage message, String bearer)
            throws IOException, InterruptedException {
        ObjectNode body = JSON.createObjectNode();
        ObjectNode m = body.putObject("message");
        m.put("token", device.token());
        ObjectNode notification = m.putObject("notification");
        notification.put("title", message.title());
        notification.put("body", message.body());
        ObjectNode data = m.putObject("data");
        data.put("url", message.url());
        data.put("type", message.type());
        data.put("notificationId", message.notificationId());
        m.putObject("android").put("priority", "alert".equals(message.type()) ? "HIGH" : "NORMAL");
        HttpRequest request = HttpRequest.newBuilder(sendUri).timeout(timeout)
                .header("Authorization", "Bearer " + bearer)
                .header("Content-Type", "application/json; UTF-8")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build();
        return http.send(request, HttpResponse.BodyHandlers.ofString());
    }

    /** The cached access token, or a new one (RFC 7523 grant) when it expires within a minute or was refused. */
    private synchronized String token(boolean renew) throws Exception {
        long now = System.currentTimeMillis();
        if (!renew && accessToken != null && accessTokenExpiresAt - 60_000 > now) {
            return accessToken;
        }
        JWTClaimsSet claims = new JWTClaimsSet.Builder().issuer(clientEmail).subject(clientEmail)
                .audience(tokenUri.toString()).claim("scope", SCOPE).issueTime(new Date(now))
                .expirationTime(new Date(now + 3600_000L)).jwtID(UUID.randomUUID().toString()).build();
        JWSHeader.Builder header = new JWSHeader.Builder(JWSAlgorithm.RS256);
        if (keyId != null) {
            header.keyID(keyId);
        }
        SignedJWT assertion = new SignedJWT(header.build(), claims);
        assertion.sign(new RSASSASigner(key));
        String form = "grant_type=" + URLEncoder.encode("urn:ietf:params:oauth:grant-type:jwt-bearer", StandardCharsets.UTF_8)
                + "&assertion=" + assertion.serialize();
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(tokenUri).timeout(timeout)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(form)).build(), HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new IOException("FCM OAuth2 token refused: HTTP " + response.statusCode());
        }
        JsonNode answer = JSON.readTree(response.body());
        accessToken = answer.path("access_token").asText(null);
        if (accessToken == null) {
            throw new IOException("FCM OAuth2 answer without access_token");
        }
        accessTokenExpiresAt = now + answer.path("expires_in").asLong(3600) * 1000;
        return accessToken;
    }

    private static String errorCode(String body) {
        try {
            JsonNode error = JSON.readTree(body).path("error");
            for (JsonNode detail : error.path("details")) {
                if (detail.hasNonNull("errorCode")) {
                    return detail.get("errorCode").asText();
                }
            }
            return error.hasNonNull("status") ? error.get("status").asText() : null;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private static String required(JsonNode account, String field) {
        String value = account.path(field).asText("");
        if (value.isBlank()) {
            throw new IllegalArgumentException("FCM service-account key without " + field);
        }
        return value;
    }
}
