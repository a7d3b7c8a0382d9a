package org.cmm.eventbroker.eventapi;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/**
 * A STAND-IN for a real OpenID Connect issuer (copied from the security ITs' stand-in of the same name, which main
 * has since replaced with a shared Keycloak; EventApiAccessIT needs tokens with arbitrary subjects and an api-admin
 * role, which that realm does not define yet): a JDK HTTP server on loopback serving
 * {@code /.well-known/openid-configuration}, a JWK set (Nimbus) and a client-credentials token endpoint whose tokens are RS256 JWTs with {@code iss}, {@code sub}, {@code aud}, {@code exp}, a
 * {@code groups} claim and Keycloak-style {@code realm_access.roles}. Kafka clients fetch tokens from it with Kafka's
 * own {@code OAuthBearerLoginCallbackHandler}, exactly as they would from Keycloak.
 */
public final class LocalJwksIssuerStandIn implements AutoCloseable {

    /** A registered client: its secret and what its tokens say. */
    record Client(String secret, String subject, List<String> groups, List<String> roles) {
    }

    private final HttpServer server;
    private final RSAKey key;
    private final RSAKey foreignKey;
    private final String audience;
    private final Map<String, Client> clients = new ConcurrentHashMap<>();

    public LocalJwksIssuerStandIn(String audience) throws Exception {
        this.audience = audience;
        this.key = new RSAKeyGenerator(2048).keyID("stand-in-1").generate();
        this.foreignKey = new RSAKeyGenerator(2048).keyID("stand-in-1").generate();
        this.server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/.well-known/openid-configuration", e -> answer(e, 200,
                "{\"issuer\":\"" + issuer() + "\",\"jwks_uri\":\"" + jwksUri() + "\",\"token_endpoint\":\""
                        + tokenEndpoint() + "\"}"));
        server.createContext("/jwks", e -> answer(e, 200, new JWKSet(key.toPublicJWK()).toString()));
        server.createContext("/token", this::token);
        server.start();
    }

    public String issuer() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    public String jwksUri() {
        return issuer() + "/jwks";
    }

    String tokenEndpoint() {
        return issuer() + "/token";
    }

    void register(String clientId, Client client) {
        clients.put(clientId, client);
    }

    /** A token for the subject signed by this issuer. */
    public String token(String subject, List<String> groups, List<String> roles, long expiresInSeconds) throws Exception {
        return sign(key, subject, groups, roles, expiresInSeconds);
    }

    /** A token with the right claims signed by a key that is not in the JWK set. */
    String forgedToken(String subject) throws Exception {
        return sign(foreignKey, subject, List.of(), List.of(), 300);
    }

    private String sign(RSAKey signer, String subject, List<String> groups, List<String> roles, long expiresIn)
            throws Exception {
        long now = System.currentTimeMillis();
        JWTClaimsSet claims = new JWTClaimsSet.Builder().issuer(issuer()).subject(subject).audience(audience)
                .issueTime(new Date(now)).expirationTime(new Date(now + expiresIn * 1000))
                .claim("groups", groups).claim("realm_access", Map.of("roles", roles)).build();
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(signer.getKeyID())
                .type(JOSEObjectType.JWT).build(), claims);
        jwt.sign(new RSASSASigner(signer));
        return jwt.serialize();
    }

    private void token(HttpExchange exchange) throws IOException {
        String authorization = exchange.getRequestHeaders().getFirst("Authorization");
        exchange.getRequestBody().readAllBytes();
        Client client = null;
        if (authorization != null && authorization.startsWith("Basic ")) {
            String[] idSecret = new String(Base64.getDecoder().decode(authorization.substring(6)),
                    StandardCharsets.UTF_8).split(":", 2);
            Client candidate = clients.get(java.net.URLDecoder.decode(idSecret[0], StandardCharsets.UTF_8));
            if (candidate != null && idSecret.length == 2
                    && candidate.secret().equals(java.net.URLDecoder.decode(idSecret[1], StandardCharsets.UTF_8))) {
                client = candidate;
            }
        }
        if (client == null) {
            answer(exchange, 401, "{\"error\":\"invalid_client\"}");
            return;
        }
        try {
            answer(exchange, 200, "{\"access_token\":\"" + token(client.subject(), client.groups(), client.roles(), 300)
                    + "\",\"token_type\":\"Bearer\",\"expires_in\":300}");
        } catch (Exception e) {
            answer(exchange, 500, "{\"error\":\"server_error\"}");
        }
    }

    private static void answer(HttpExchange exchange, int status, String json) throws IOException {
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
