package org.cmm.eventbroker.platform.security.http;

import java.net.MalformedURLException;
import java.net.URI;
import java.net.URL;
import java.text.ParseException;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jose.util.DefaultResourceRetriever;
import com.nimbusds.jose.util.JSONObjectUtils;
import com.nimbusds.jose.util.Resource;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.JWTParser;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;

/**
 * Verifies the {@code Authorization: Bearer} access tokens of the OpenID Connect issuer configured in
 * {@code cmm.security.oidc.*} with Nimbus JOSE+JWT: signature against the issuer's JWKS (asymmetric algorithms only;
 * unsigned {@code alg: none} tokens are refused), exact issuer, audience, expiry and not-before within the allowed
 * clock skew. The JWKS (from {@code jwks-uri}, or the issuer's {@code /.well-known/openid-configuration}) is read on
 * first use and cached by Nimbus, which re-reads it when a token names an unknown key (key rotation; at most once
 * per 30 s).
 *
 * <p>A {@code patient} claim (SMART on FHIR's launch context, e.g. a Keycloak user-attribute mapper) becomes the
 * caller's {@link Caller#patient() patient}: routes that serve a patient's own data decide with it.
 *
 * <p>Roles come from the claims Keycloak and most issuers use: {@code realm_access.roles},
 * {@code resource_access.<client>.roles} of the configured clients only, and the space-separated {@code scope}.
 */
public final class BearerTokenVerifier {

    /** Longest token accepted; Vert.x refuses headers beyond 8 KB before this is reached. */
    static final int MAX_TOKEN_CHARS = 8192;

    private static final Set<JWSAlgorithm> ALGORITHMS = Set.of(JWSAlgorithm.RS256, JWSAlgorithm.RS384,
            JWSAlgorithm.RS512, JWSAlgorithm.PS256, JWSAlgorithm.PS384, JWSAlgorithm.PS512, JWSAlgorithm.ES256,
            JWSAlgorithm.ES384, JWSAlgorithm.ES512);

    private final String issuer;
    private final String jwksUri;
    private final Set<String> audiences;
    private final int clockSkewSeconds;
    private final Set<String> roleClients;
    private volatile DefaultJWTProcessor<SecurityContext> processor;

    /**
     * @param issuer           the exact {@code iss}; blank: every token is refused
     * @param jwksUri          the issuer's JWKS; blank: read from its discovery document
     * @param audiences        the accepted {@code aud} values (one must be present)
     * @param clockSkewSeconds allowed skew for {@code exp}/{@code nbf}
     * @param roleClients      the clients whose {@code resource_access} roles count
     */
    public BearerTokenVerifier(String issuer, String jwksUri, Collection<String> audiences, int clockSkewSeconds,
            Collection<String> roleClients) {
        this.issuer = issuer == null ? "" : issuer.trim();
        this.jwksUri = jwksUri == null ? "" : jwksUri.trim();
        this.audiences = Set.copyOf(audiences);
        this.clockSkewSeconds = clockSkewSeconds;
        this.roleClients = Set.copyOf(roleClients);
    }

    /** Whether an issuer is configured (without one no token is accepted). */
    public boolean hasIssuer() {
        return !issuer.isEmpty();
    }

    /** The caller a valid token names; refuses anything else with a reason that holds no part of the token. */
    public Caller verify(String token) throws InvalidTokenException {
        if (token == null || token.isBlank()) {
            throw new InvalidTokenException("empty bearer token");
        }
        if (token.length() > MAX_TOKEN_CHARS) {
            throw new InvalidTokenException("bearer token longer than " + MAX_TOKEN_CHARS + " characters");
        }
        if (!hasIssuer()) {
            throw new InvalidTokenException("no OIDC issuer configured (cmm.security.oidc.issuer): no token is accepted");
        }
        JWTClaimsSet claims;
        try {
            claims = processor().process(token, null);
        } catch (ParseException e) {
            throw new InvalidTokenException("malformed token");
        } catch (BadJOSEException e) {
            throw new InvalidTokenException(e.getMessage());
        } catch (JOSEException | RuntimeException e) {
            throw new InvalidTokenException("token could not be verified (" + e.getClass().getSimpleName() + ")");
        }
        return new Caller(name(claims), roles(claims), patient(claims));
    }

    /** The SMART on FHIR style {@code patient} claim (the patient a patient app's token is about), or null. */
    private static String patient(JWTClaimsSet claims) {
        Object value = claims.getClaim("patient");
        return value instanceof String s && !s.isBlank() ? s : null;
    }

    /**
     * What an unverified token claims to be ({@code sub} or {@code preferred_username}, shortened), for the audit
     * record of a refusal; null when it cannot be read. Never trusted for a decision.
     */
    public static String claimedName(String token) {
        try {
            JWTClaimsSet claims = JWTParser.parse(token).getJWTClaimsSet();
            String name = name(claims);
            return name == null ? null : name.substring(0, Math.min(name.length(), 128));
        } catch (ParseException | RuntimeException e) {
            return null;
        }
    }

    private DefaultJWTProcessor<SecurityContext> processor() throws InvalidTokenException {
        DefaultJWTProcessor<SecurityContext> p = processor;
        if (p != null) {
            return p;
        }
        synchronized (this) {
            if (processor == null) {
                // Nimbus' default retriever gives the issuer 500 ms to connect and 500 ms to answer: a busy issuer then
                // had valid tokens refused (401; seen in a full CI run); the same 5 s as the discovery document
                JWKSource<SecurityContext> keys = JWKSourceBuilder.<SecurityContext>create(url(jwks()),
                        new DefaultResourceRetriever(5000, 5000, 512 * 1024)).retrying(true).build();
                DefaultJWTProcessor<SecurityContext> created = new DefaultJWTProcessor<>();
                created.setJWSKeySelector(new JWSVerificationKeySelector<>(ALGORITHMS, keys));
                // mutable copies: Nimbus asks them whether they contain null, which Set.of answers with an exception
                DefaultJWTClaimsVerifier<SecurityContext> claims = new DefaultJWTClaimsVerifier<>(
                        new java.util.HashSet<>(audiences), new JWTClaimsSet.Builder().issuer(issuer).build(),
                        new java.util.HashSet<>(Set.of("sub", "exp")), null);
                claims.setMaxClockSkew(clockSkewSeconds);
                created.setJWTClaimsSetVerifier(claims);
                processor = created;
            }
            return processor;
        }
    }

    /** The JWKS address: configured, or the {@code jwks_uri} of the issuer's discovery document. */
    private String jwks() throws InvalidTokenException {
        if (!jwksUri.isEmpty()) {
            return jwksUri;
        }
        String discovery = issuer.replaceAll("/+$", "") + "/.well-known/openid-configuration";
        try {
            Resource document = new DefaultResourceRetriever(5000, 5000, 512 * 1024).retrieveResource(url(discovery));
            String uri = JSONObjectUtils.getString(JSONObjectUtils.parse(document.getContent()), "jwks_uri");
            if (uri == null || uri.isBlank()) {
                throw new InvalidTokenException("the issuer's discovery document names no jwks_uri");
            }
            return uri;
        } catch (java.io.IOException | ParseException e) {
            throw new InvalidTokenException("the issuer's discovery document could not be read ("
                    + e.getClass().getSimpleName() + ")");
        }
    }

    private static URL url(String address) throws InvalidTokenException {
        try {
            return URI.create(address).toURL();
        } catch (IllegalArgumentException | MalformedURLException e) {
            throw new InvalidTokenException("not a URL: " + address);
        }
    }

    private static String name(JWTClaimsSet claims) {
        for (String claim : List.of("preferred_username", "client_id", "azp", "sub")) {
            Object value = claims.getClaim(claim);
            if (value instanceof String s && !s.isBlank()) {
                return s;
            }
        }
        return null;
    }

    private Set<String> roles(JWTClaimsSet claims) {
        Set<String> roles = new LinkedHashSet<>();
        addRoles(claims.getClaim("realm_access"), roles);
        if (claims.getClaim("resource_access") instanceof Map<?, ?> clients) {
            for (String client : roleClients) {
                addRoles(clients.get(client), roles);
            }
        }
        if (claims.getClaim("scope") instanceof String scope) {
            for (String s : scope.trim().split("\\s+")) {
                if (!s.isEmpty()) {
                    roles.add(s);
                }
            }
        }
        return roles;
    }

    private static void addRoles(Object access, Set<String> roles) {
        if (access instanceof Map<?, ?> map && map.get("roles") instanceof List<?> list) {
            list.stream().filter(String.class::isInstance).map(String.class::cast).forEach(roles::add);
        }
    }
}
