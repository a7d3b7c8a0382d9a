package org.cmm.eventbroker.platform.security.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The token checks without Keycloak, fast: an issuer of our own (Nimbus keys, its discovery document and JWKS served
 * over real HTTP by the JDK's server) signs the tokens, so each check can be broken one at a time. HttpAccessIT does
 * the same against a real Keycloak.
 */
class BearerTokenVerifierTest {

    private static final String AUDIENCE = "cmm-event-broker";
    private static HttpServer server;
    private static String issuer;
    private static RSAKey key;
    private static final AtomicReference<JWKSet> PUBLISHED = new AtomicReference<>();

    @BeforeAll
    static void startIssuer() throws Exception {
        key = new RSAKeyGenerator(2048).keyID("k1").generate();
        PUBLISHED.set(new JWKSet(key.toPublicJWK()));
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        issuer = "http://127.0.0.1:" + server.getAddress().getPort() + "/realms/test";
        server.createContext("/realms/test/.well-known/openid-configuration", exchange -> {
            byte[] body = ("{\"issuer\":\"" + issuer + "\",\"jwks_uri\":\"" + issuer + "/certs\"}")
                    .getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.createContext("/realms/test/certs", exchange -> {
            byte[] body = PUBLISHED.get().toString().getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.start();
    }

    @AfterAll
    static void stopIssuer() {
        server.stop(0);
    }

    private static BearerTokenVerifier verifier() {
        return new BearerTokenVerifier(issuer, "", List.of(AUDIENCE), 30, List.of(AUDIENCE));
    }

    private static JWTClaimsSet.Builder claims() {
        Instant now = Instant.now();
        return new JWTClaimsSet.Builder().issuer(issuer).audience(AUDIENCE).subject("u-1")
                .claim("preferred_username", "nurse.ada").issueTime(Date.from(now))
                .expirationTime(Date.from(now.plusSeconds(300)))
                .claim("realm_access", Map.of("roles", List.of("clinician")))
                .claim("resource_access", Map.of(AUDIENCE, Map.of("roles", List.of("monitoring")),
                        "other-client", Map.of("roles", List.of("operator"))))
                .claim("scope", "openid system/Subscription.read");
    }

    private static String sign(RSAKey with, JWTClaimsSet claims) throws Exception {
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(with.getKeyID()).build(), claims);
        jwt.sign(new RSASSASigner(with));
        return jwt.serialize();
    }

    private static String refusal(String token) {
        return assertThrows(InvalidTokenException.class, () -> verifier().verify(token)).getMessage();
    }

    @Test
    void aValidTokenNamesTheCallerWithRealmRolesItsOwnClientsRolesAndScopes() throws Exception {
        Caller caller = verifier().verify(sign(key, claims().build()));
        assertEquals("nurse.ada", caller.name());
        assertEquals(Set.of("clinician", "monitoring", "openid", "system/Subscription.read"), caller.roles(),
                "another client's roles do not count");
    }

    @Test
    void expiryIsCheckedWithTheClockSkew() throws Exception {
        Instant now = Instant.now();
        String justExpired = sign(key, claims().expirationTime(Date.from(now.minusSeconds(10))).build());
        verifier().verify(justExpired); // within 30 s of skew
        String expired = sign(key, claims().expirationTime(Date.from(now.minusSeconds(120))).build());
        assertTrue(refusal(expired).contains("Expired"));
    }

    @Test
    void wrongIssuerWrongAudienceAndNoSubjectAreRefused() throws Exception {
        assertTrue(refusal(sign(key, claims().issuer("http://127.0.0.1:1/realms/other").build())).contains("iss"));
        assertTrue(refusal(sign(key, claims().audience("someone-else").build())).contains("aud"));
        assertTrue(refusal(sign(key, claims().subject(null).build())).contains("sub"));
    }

    @Test
    void unsignedForgedAndHmacTokensAreRefused() throws Exception {
        refusal(new PlainJWT(claims().build()).serialize());
        RSAKey stranger = new RSAKeyGenerator(2048).keyID("k1").generate();
        refusal(sign(stranger, claims().build()));
        // HS256 keyed with the issuer's public key (algorithm confusion)
        SignedJWT hmac = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).keyID("k1").build(), claims().build());
        hmac.sign(new MACSigner(key.toPublicJWK().toRSAPublicKey().getEncoded()));
        refusal(hmac.serialize());
    }

    @Test
    void malformedEmptyAndOversizedTokensAreRefusedWithoutEchoingThem() {
        for (String token : new String[] {"", " ", "abc", "a.b.c", "eyJhbGciOiJSUzI1NiJ9.e30.", "x".repeat(9000)}) {
            String reason = refusal(token);
            assertTrue(token.length() < 4 || !reason.contains(token), reason);
        }
    }

    @Test
    void withoutAnIssuerNoTokenIsAccepted() throws Exception {
        String token = sign(key, claims().build());
        BearerTokenVerifier none = new BearerTokenVerifier("", "", List.of(AUDIENCE), 30, List.of());
        assertTrue(assertThrows(InvalidTokenException.class, () -> none.verify(token)).getMessage().contains("issuer"));
    }
}
