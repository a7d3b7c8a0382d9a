package org.cmm.eventbroker.platform.security.kafka;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.kafka.common.Configurable;
import org.apache.kafka.common.config.internals.BrokerSecurityConfigs;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.security.auth.AuthenticationContext;
import org.apache.kafka.common.security.auth.KafkaPrincipal;
import org.apache.kafka.common.security.auth.KafkaPrincipalBuilder;
import org.apache.kafka.common.security.auth.KafkaPrincipalSerde;
import org.apache.kafka.common.security.auth.PlaintextAuthenticationContext;
import org.apache.kafka.common.security.auth.SaslAuthenticationContext;
import org.apache.kafka.common.security.auth.SslAuthenticationContext;
import org.apache.kafka.common.security.authenticator.DefaultKafkaPrincipalBuilder;
import org.apache.kafka.common.security.oauthbearer.OAuthBearerToken;
import org.apache.kafka.common.security.ssl.SslPrincipalMapper;
import org.cmm.eventbroker.platform.security.audit.AuditEvent;

/**
 * The broker's {@code principal.builder.class}: Kafka's own principals (SCRAM and PLAIN user names, certificate
 * subjects mapped with {@code ssl.principal.mapping.rules}, the token's subject for OAUTHBEARER), plus the token's
 * group and role claims for OAUTHBEARER, which the authorizer binds roles to. Every successful authentication is
 * recorded on {@code security.audit.authentication}.
 *
 * <p>Settings (broker configuration): {@value #GROUPS_CLAIM} (default {@code groups}) and {@value #ROLES_CLAIM}
 * (default {@code realm_access.roles}, a dotted path as Keycloak nests it). Principals cross from broker to controller
 * (forwarded requests), so the claims are part of the serialized form.
 */
public class CmmKafkaPrincipalBuilder implements KafkaPrincipalBuilder, KafkaPrincipalSerde, Configurable {

    public static final String GROUPS_CLAIM = "cmm.oauth.groups.claim";
    public static final String ROLES_CLAIM = "cmm.oauth.roles.claim";

    /** The SASL negotiated property under which Kafka's OAUTHBEARER server keeps the validated token. */
    private static final String OAUTHBEARER_TOKEN = "OAUTHBEARER.token";
    private static final ObjectMapper JSON = new ObjectMapper();

    private DefaultKafkaPrincipalBuilder delegate = new DefaultKafkaPrincipalBuilder(null, SslPrincipalMapper.fromRules("DEFAULT"));
    private String groupsClaim = "groups";
    private String rolesClaim = "realm_access.roles";

    @Override
    public void configure(Map<String, ?> configs) {
        Object rules = configs.get(BrokerSecurityConfigs.SSL_PRINCIPAL_MAPPING_RULES_CONFIG);
        delegate = new DefaultKafkaPrincipalBuilder(null,
                SslPrincipalMapper.fromRules(rules == null ? "DEFAULT" : rules.toString()));
        Object groups = configs.get(GROUPS_CLAIM);
        if (groups != null && !groups.toString().isBlank()) {
            groupsClaim = groups.toString().trim();
        }
        Object roles = configs.get(ROLES_CLAIM);
        if (roles != null && !roles.toString().isBlank()) {
            rolesClaim = roles.toString().trim();
        }
    }

    @Override
    public KafkaPrincipal build(AuthenticationContext context) {
        KafkaPrincipal base = delegate.build(context);
        String mechanism = mechanism(context);
        KafkaPrincipal principal = base;
        if (context instanceof SaslAuthenticationContext sasl
                && sasl.server().getNegotiatedProperty(OAUTHBEARER_TOKEN) instanceof OAuthBearerToken token) {
            JsonNode claims = claims(token.value());
            principal = new CmmKafkaPrincipal(base.getPrincipalType(), base.getName(), strings(claims, groupsClaim),
                    strings(claims, rolesClaim));
        }
        if (!(context instanceof PlaintextAuthenticationContext)) {
            KafkaAudit.sink().record(AuditEvent.authentication(KafkaAudit.SOURCE, principal.toString(), mechanism, true,
                    address(context), null));
        }
        return principal;
    }

    private static String mechanism(AuthenticationContext context) {
        if (context instanceof SaslAuthenticationContext sasl) {
            return sasl.server().getMechanismName();
        }
        if (context instanceof SslAuthenticationContext) {
            return "SSL";
        }
        return context.securityProtocol().name;
    }

    private static String address(AuthenticationContext context) {
        return context.clientAddress() == null ? null : context.clientAddress().getHostAddress();
    }

    /** The payload of a JWT the validator already checked (signature, issuer, audience, times). */
    static JsonNode claims(String jwt) {
        String[] parts = jwt.split("\\.");
        if (parts.length < 2) {
            return JSON.createObjectNode();
        }
        try {
            return JSON.readTree(Base64.getUrlDecoder().decode(parts[1]));
        } catch (IOException | IllegalArgumentException e) {
            return JSON.createObjectNode();
        }
    }

    /** The strings at a dotted claim path: an array of strings, or a single string. */
    static Set<String> strings(JsonNode claims, String path) {
        JsonNode node = claims;
        for (String part : path.split("\\.")) {
            node = node == null ? null : node.get(part);
        }
        Set<String> values = new LinkedHashSet<>();
        if (node != null && node.isArray()) {
            node.forEach(v -> {
                if (v.isTextual()) {
                    values.add(v.asText());
                }
            });
        } else if (node != null && node.isTextual()) {
            values.add(node.asText());
        }
        return values;
    }

    @Override
    public byte[] serialize(KafkaPrincipal principal) throws SerializationException {
        ObjectNode node = JSON.createObjectNode();
        node.put("type", principal.getPrincipalType());
        node.put("name", principal.getName());
        node.put("token", principal.tokenAuthenticated());
        if (principal instanceof CmmKafkaPrincipal cmm) {
            ArrayNode groups = node.putArray("groups");
            cmm.groups().forEach(groups::add);
            ArrayNode roles = node.putArray("roles");
            cmm.roleClaims().forEach(roles::add);
        }
        try {
            return JSON.writeValueAsBytes(node);
        } catch (IOException e) {
            throw new SerializationException("Cannot serialize principal " + principal, e);
        }
    }

    @Override
    public KafkaPrincipal deserialize(byte[] bytes) throws SerializationException {
        try {
            JsonNode node = JSON.readTree(new String(bytes, StandardCharsets.UTF_8));
            KafkaPrincipal principal = node.has("groups")
                    ? new CmmKafkaPrincipal(node.path("type").asText(), node.path("name").asText(),
                            strings(node, "groups"), strings(node, "roles"))
                    : new KafkaPrincipal(node.path("type").asText(), node.path("name").asText());
            principal.tokenAuthenticated(node.path("token").asBoolean(false));
            return principal;
        } catch (IOException e) {
            throw new SerializationException("Cannot deserialize a principal", e);
        }
    }
}
