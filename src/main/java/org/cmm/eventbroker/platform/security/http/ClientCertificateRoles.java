package org.cmm.eventbroker.platform.security.http;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import javax.security.auth.x500.X500Principal;

import io.vertx.ext.web.RoutingContext;

/**
 * Client certificates as an alternative to bearer tokens on the HTTP ways in: the subject of a certificate the TLS
 * handshake verified against {@code cmm.security.tls.truststore} is the caller, and its roles come from configuration
 * ({@code cmm.access.client-certificate.<name> = <subject DN> -> <roles>}, subjects compared as X.500 names, so
 * attribute case and spacing do not matter). A verified certificate whose subject is not listed is a caller without
 * roles: authenticated, and refused (403) wherever a role is needed.
 */
public final class ClientCertificateRoles {

    public static final String PREFIX = "cmm.access.client-certificate.";

    private final boolean enabled;
    private final Map<X500Principal, Set<String>> roles;

    ClientCertificateRoles(boolean enabled, Map<X500Principal, Set<String>> roles) {
        this.enabled = enabled;
        this.roles = Map.copyOf(roles);
    }

    /** Parses the {@value #PREFIX}{@code <name>} entries; a broken one names its key. */
    static ClientCertificateRoles parse(boolean enabled, Map<String, String> entries) {
        Map<X500Principal, Set<String>> roles = new LinkedHashMap<>();
        entries.forEach((key, value) -> {
            if (!key.startsWith(PREFIX) || value == null || value.isBlank()) {
                return;
            }
            int arrow = value.lastIndexOf("->");
            if (arrow < 0) {
                throw new IllegalArgumentException(key + ": expected '<subject DN> -> <roles>'");
            }
            X500Principal subject;
            try {
                subject = new X500Principal(value.substring(0, arrow).trim());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(key + ": not an X.500 subject name: " + e.getMessage());
            }
            Set<String> granted = Stream.of(value.substring(arrow + 2).split(",")).map(String::trim)
                    .filter(s -> !s.isEmpty()).collect(Collectors.toUnmodifiableSet());
            roles.merge(subject, granted, (a, b) -> Stream.concat(a.stream(), b.stream())
                    .collect(Collectors.toUnmodifiableSet()));
        });
        return new ClientCertificateRoles(enabled, roles);
    }

    /** Whether the HTTPS servers ask for client certificates ({@code cmm.access.client-certificates.enabled}). */
    public boolean enabled() {
        return enabled;
    }

    /** The caller a verified certificate subject is: named by its RFC 2253 subject, with its configured roles. */
    public Caller callerFor(X500Principal subject) {
        return new Caller(subject.getName(X500Principal.RFC2253), roles.getOrDefault(subject, Set.of()));
    }

    /** The subject of the client certificate the handshake of this request's connection verified, if any. */
    static Optional<X500Principal> verifiedSubject(RoutingContext ctx) {
        SSLSession session = ctx.request().sslSession();
        if (session == null) {
            return Optional.empty();
        }
        try {
            var chain = session.getPeerCertificates();
            if (chain.length > 0 && chain[0] instanceof java.security.cert.X509Certificate leaf) {
                return Optional.of(leaf.getSubjectX500Principal());
            }
        } catch (SSLPeerUnverifiedException e) {
            // no certificate presented
        }
        return Optional.empty();
    }
}
