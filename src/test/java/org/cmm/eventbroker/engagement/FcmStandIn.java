package org.cmm.eventbroker.engagement;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.interfaces.RSAPublicKey;
import java.util.Date;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

import javax.net.ssl.SSLContext;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;

/**
 * A STAND-IN for FCM (no local FCM exists): an HTTPS server with Google's OAuth2 token endpoint and the FCM HTTP v1
 * send endpoint, as strict as the real ones on what the broker sends. The token endpoint checks the RFC 7523 JWT
 * bearer grant (RS256 signature with the service account's public key, iss, aud, scope, exp) and issues an access
 * token; the send endpoint checks that token ({@code Authorization: Bearer}) and the v1 message shape (one
 * {@code message} with a {@code token}, a {@code notification} with title and body, string-only {@code data}), and
 * answers 404 {@code UNREGISTERED} for tokens marked unregistered, 200 with a message name otherwise.
 */
final class FcmStandIn implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpsServer server;
    private final RSAPublicKey serviceAccountKey;
    private final String clientEmail;
    private final String project;
    private final Set<String> issuedTokens = ConcurrentHashMap.newKeySet();
    private final Set<String> unregistered = ConcurrentHashMap.newKeySet();
    /** Accepted messages (the {@code message} objects). */
    final List<JsonNode> accepted = new CopyOnWriteArrayList<>();
    /** Requests refused, with the reason: must stay empty for a correct client. */
    final List<String> refused = new CopyOnWriteArrayList<>();

    FcmStandIn(int port, SSLContext tls, RSAPublicKey serviceAccountKey, String clientEmail, String project)
            throws IOException {
        this.serviceAccountKey = serviceAccountKey;
        this.clientEmail = clientEmail;
        this.project = project;
        server = HttpsServer.create(new InetSocketAddress("127.0.0.1", port), 0);
        server.setHttpsConfigurator(new HttpsConfigurator(tls));
        server.createContext("/token", this::token);
        server.createContext("/v1/projects/", this::send);
        server.start();
    }

    String baseUri() {
        return "https://127.0.0.1:" + server.getAddress().getPort();
    }

    void unregister(String token) {
        unregistered.add(token);
    }

    private void token(HttpExchange x) throws IOException {
        try {
            String form = new String(x.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            Map<String, String> params = new HashMap<>();
            for (String pair : form.split("&")) {
                int eq = pair.indexOf('=');
                params.put(URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8),
                        URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
            }
            if (!"urn:ietf:params:oauth:grant-type:jwt-bearer".equals(params.get("grant_type"))) {
                refuse(x, 400, "unsupported_grant_type");
                return;
            }
            SignedJWT jwt = SignedJWT.parse(params.get("assertion"));
            JWTClaimsSet c = jwt.getJWTClaimsSet();
            if (!JWSAlgorithm.RS256.equals(jwt.getHeader().getAlgorithm())
                    || !jwt.verify(new RSASSAVerifier(serviceAccountKey))
                    || !clientEmail.equals(c.getIssuer())
                    || !c.getAudience().contains(baseUri() + "/token")
                    || !"https://www.googleapis.com/auth/firebase.messaging".equals(c.getStringClaim("scope"))
                    || c.getExpirationTime() == null || c.getExpirationTime().before(new Date())) {
                refuse(x, 400, "invalid_grant");
                return;
            }
            String token = "ya29.standin-" + UUID.randomUUID();
            issuedTokens.add(token);
            answer(x, 200, JSON.createObjectNode().put("access_token", token).put("expires_in", 3599)
                    .put("token_type", "Bearer").toString());
        } catch (Exception e) {
            refuse(x, 400, "invalid_request: " + e.getClass().getSimpleName());
        }
    }

    private void send(HttpExchange x) throws IOException {
        try {
            if (!x.getRequestURI().getPath().equals("/v1/projects/" + project + "/messages:send")
                    || !"POST".equals(x.getRequestMethod())) {
                refuse(x, 404, "NOT_FOUND");
                return;
            }
            String authorization = x.getRequestHeaders().getFirst("Authorization");
            if (authorization == null || !authorization.startsWith("Bearer ")
                    || !issuedTokens.contains(authorization.substring(7))) {
                refuse(x, 401, "UNAUTHENTICATED");
                return;
            }
            JsonNode body = JSON.readTree(x.getRequestBody().readAllBytes());
            JsonNode m = body.path("message");
            String shape = shapeError(body, m);
            if (shape != null) {
                refuse(x, 400, "INVALID_ARGUMENT: " + shape);
                return;
            }
            if (unregistered.contains(m.get("token").asText())) {
                answer(x, 404, "{\"error\":{\"code\":404,\"message\":\"Requested entity was not found.\","
                        + "\"status\":\"NOT_FOUND\",\"details\":[{\"@type\":"
                        + "\"type.googleapis.com/google.firebase.fcm.v1.FcmError\",\"errorCode\":\"UNREGISTERED\"}]}}");
                return;
            }
            accepted.add(m);
            answer(x, 200, "{\"name\":\"projects/" + project + "/messages/" + UUID.randomUUID() + "\"}");
        } catch (Exception e) {
            refuse(x, 400, "INVALID_ARGUMENT: " + e.getClass().getSimpleName());
        }
    }

    private static String shapeError(JsonNode body, JsonNode m) {
        if (body.size() != 1 || !m.isObject()) {
            return "one message object expected";
        }
        if (!m.path("token").isTextual() || m.path("token").asText().isEmpty()) {
            return "message.token required";
        }
        if (m.has("topic") || m.has("condition")) {
            return "exactly one target";
        }
        JsonNode n = m.path("notification");
        if (!n.path("title").isTextual() || !n.path("body").isTextual()) {
            return "message.notification.title/body must be strings";
        }
        for (JsonNode v : m.path("data")) {
            if (!v.isTextual()) {
                return "message.data values must be strings";
            }
        }
        return null;
    }

    private void refuse(HttpExchange x, int status, String reason) throws IOException {
        refused.add(status + " " + reason);
        answer(x, status, JSON.createObjectNode().set("error", JSON.createObjectNode().put("code", status)
                .put("status", reason)).toString());
    }

    private static void answer(HttpExchange x, int status, String json) throws IOException {
        byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        x.getResponseHeaders().set("Content-Type", "application/json; charset=UTF-8");
        x.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = x.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
