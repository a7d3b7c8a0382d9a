package org.cmm.eventbroker.engagement;

import java.io.IOException;
import java.math.BigInteger;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;
import org.apache.camel.support.service.ServiceHelper;
import org.apache.camel.support.service.ServiceSupport;
import org.cmm.eventbroker.platform.security.audit.AuditEvent;
import org.cmm.eventbroker.platform.security.audit.AuditSink;
import org.cmm.eventbroker.platform.security.http.Caller;
import org.cmm.eventbroker.platform.security.http.VerifiedCaller;

/**
 * The device registration API: {@code POST /engagement/devices} checks a registration and stores it in the
 * {@link DeviceRegistry}; {@code DELETE /engagement/devices/{id}} removes one. Body of a registration:
 *
 * <pre>
 * {"platform":"webpush","subscription":{"endpoint":"https://...","keys":{"p256dh":"...","auth":"..."}},"patientId":"..."}
 * {"platform":"apns"|"fcm","token":"...","staffId":"..."}
 * </pre>
 *
 * Exactly one of {@code patientId} and {@code staffId}. A Web Push endpoint must be HTTPS on a host of
 * {@link #setWebPushHosts the allowed push services} (an endpoint is a URL the broker will POST to: no arbitrary
 * targets), its key a point of P-256 and its secret 16 bytes. Every refusal is a 400 naming the field, never quoting it.
 *
 * <p>With access control on, a registration (and a removal) is bound to the verified caller ({@link VerifiedCaller}):
 * a token with a {@code patient} claim registers devices only for that patient, any other token only for the staff
 * member it names ({@code staffId} = the token's name); a caller holding {@link #setRegistrarRoles a registrar role}
 * (a back-office service) registers for anyone. Anything else is a 403 with the reason, audited. With access control
 * off (development posture, loopback only) there is no caller and the body is taken as it is.
 */
public class DeviceRegistrationDesk extends ServiceSupport implements Processor, org.apache.camel.CamelContextAware {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern APNS_TOKEN = Pattern.compile("[0-9a-fA-F]{64,200}");
    private static final Pattern FCM_TOKEN = Pattern.compile("[A-Za-z0-9_:.\\-]{20,4096}");
    private static final BigInteger P = new BigInteger("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff", 16);
    private static final BigInteger B = new BigInteger("5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b", 16);

    private org.apache.camel.CamelContext camelContext;
    private String registryBean;
    private DeviceRegistry registry;
    private List<String> webPushHosts = List.of();
    private boolean allowHttpEndpoints;
    private int maxBodyBytes = 8192;
    private List<String> registrarRoles = List.of("push-device-registrar");

    @Override
    public void setCamelContext(org.apache.camel.CamelContext camelContext) {
        this.camelContext = camelContext;
    }

    @Override
    public org.apache.camel.CamelContext getCamelContext() {
        return camelContext;
    }

    /** The name of the shared {@link DeviceRegistry} bean (routes/engagement/engagement-beans.camel.yaml). */
    public void setRegistryBean(String registryBean) {
        this.registryBean = registryBean;
    }

    /** Hosts a Web Push endpoint may name; {@code *.example.org} matches any sub-domain. */
    public void setWebPushHosts(String hosts) {
        this.webPushHosts = Arrays.stream(hosts.split(",")).map(String::trim).filter(s -> !s.isEmpty())
                .map(s -> s.toLowerCase(Locale.ROOT)).toList();
    }

    /** Plain-HTTP endpoints (a local test push service only). */
    public void setAllowHttpEndpoints(boolean allowHttpEndpoints) {
        this.allowHttpEndpoints = allowHttpEndpoints;
    }

    /** Roles that may register and remove devices of any recipient (a back-office service, not an app). */
    public void setRegistrarRoles(String roles) {
        this.registrarRoles = Arrays.stream(roles.split(",")).map(String::trim).filter(r -> !r.isEmpty()).toList();
    }

    public void setMaxBodyBytes(int maxBodyBytes) {
        this.maxBodyBytes = maxBodyBytes;
    }

    @Override
    protected void doStart() {
        registry = camelContext.getRegistry().lookupByNameAndType(registryBean, DeviceRegistry.class);
        if (registry == null) {
            throw new IllegalArgumentException("DeviceRegistrationDesk needs the registry bean (registryBean: "
                    + registryBean + ")");
        }
        // started here: a route starts its processors, not the beans they use
        ServiceHelper.startService(registry);
    }

    @Override
    protected void doStop() {
        ServiceHelper.stopService(registry);
    }

    /** POST registers, DELETE removes. */
    @Override
    public void process(Exchange exchange) throws Exception {
        if ("DELETE".equals(exchange.getMessage().getHeader(Exchange.HTTP_METHOD, String.class))) {
            unregister(exchange);
        } else {
            register(exchange);
        }
    }

    /** POST: registers the device; the answer is 201 with its id. */
    public void register(Exchange exchange) throws Exception {
        Message m = exchange.getMessage();
        byte[] body = m.getBody(byte[].class);
        if (body == null || body.length == 0) {
            throw new DeviceRegistrationRejectedException(400, "empty body: a JSON device registration is expected");
        }
        if (body.length > maxBodyBytes) {
            throw new DeviceRegistrationRejectedException(413, "body larger than " + maxBodyBytes + " bytes");
        }
        JsonNode n;
        try {
            n = JSON.readTree(body);
        } catch (IOException e) {
            throw new DeviceRegistrationRejectedException(400, "body is not JSON");
        }
        if (n == null || !n.isObject()) {
            throw new DeviceRegistrationRejectedException(400, "body is not a JSON object");
        }
        PushPlatform platform = PushPlatform.of(n.path("platform").asText(""))
                .orElseThrow(() -> new DeviceRegistrationRejectedException(400, "platform must be webpush, apns or fcm"));
        Recipient recipient = recipient(n);
        requireOwnRecipient(m, recipient, "RegisterPushDevice");
        String now = OffsetDateTime.now(ZoneOffset.UTC).toString();
        DeviceRegistration registration = switch (platform) {
            case WEBPUSH -> webPush(n, recipient, now);
            case APNS -> tokenDevice(n, platform, recipient, now, APNS_TOKEN, "token must be an APNs device token (hex)");
            case FCM -> tokenDevice(n, platform, recipient, now, FCM_TOKEN, "token must be an FCM registration token");
        };
        boolean known = registry.find(registration.id()).isPresent();
        if (!known && registry.devicesOf(recipient).size() >= registry.getMaxDevicesPerRecipient()) {
            throw new DeviceRegistrationRejectedException(400, "too many devices registered for this recipient (at most "
                    + registry.getMaxDevicesPerRecipient() + ")");
        }
        registry.register(registration);
        ObjectNode answer = JSON.createObjectNode();
        answer.put("id", registration.id());
        answer.put("platform", platform.wireName());
        answer.put("recipient", recipient.toString());
        answer(m, known ? 200 : 201, answer.toString());
    }

    /** DELETE: removes the device named in the path; 204, or 404 when it is not registered. */
    public void unregister(Exchange exchange) throws Exception {
        Message m = exchange.getMessage();
        String id = m.getHeader("deviceId", String.class);
        if (id == null || !id.matches("[0-9a-f-]{36}")) {
            throw new DeviceRegistrationRejectedException(400, "the path must name a device id");
        }
        java.util.Optional<DeviceRegistration> device = registry.find(id);
        if (device.isPresent()) {
            requireOwnRecipient(m, device.get().recipient(), "RemovePushDevice");
        }
        if (!registry.remove(id, "unregistered by the app")) {
            throw new DeviceRegistrationRejectedException(404, "no device registered with this id");
        }
        answer(m, 204, null);
    }

    /**
     * Refuses (403, audited) a caller that acts for another recipient than its own: a patient token for anyone but its
     * {@code patient} claim, a staff token for anyone but itself. No caller (access control off): allowed.
     */
    private void requireOwnRecipient(Message m, Recipient recipient, String operation)
            throws DeviceRegistrationRejectedException {
        java.util.Optional<Caller> verified = VerifiedCaller.caller(m);
        if (verified.isEmpty()) {
            return;
        }
        Caller caller = verified.get();
        if (caller.holdsAny(registrarRoles)) {
            return;
        }
        String refusal;
        if (caller.patient() != null) {
            refusal = Recipient.PATIENT.equals(recipient.kind()) && caller.patient().equals(recipient.id()) ? null
                    : Recipient.PATIENT.equals(recipient.kind()) ? "patientId is not the patient of the token"
                    : "a patient's token cannot register devices for staff";
        } else if (Recipient.PATIENT.equals(recipient.kind())) {
            refusal = "the token carries no patient claim: patientId is not its own";
        } else {
            refusal = caller.name().equals(recipient.id()) ? null : "staffId is not the caller of the token";
        }
        if (refusal != null) {
            try {
                // the reason names the rule, never the ids (the audit record carries the caller's name only)
                AuditSink.of(camelContext).record(AuditEvent.authorization("http", caller.name(), operation,
                        "PushDevice", "/engagement/devices", false, null, refusal));
            } catch (RuntimeException e) {
                // the refusal stands even when the audit sink fails; it logs its own failure
            }
            throw new DeviceRegistrationRejectedException(403, refusal);
        }
    }

    private static void answer(Message m, int status, String body) {
        m.removeHeaders("*");
        m.setHeader(Exchange.HTTP_RESPONSE_CODE, status);
        if (body != null) {
            m.setHeader(Exchange.CONTENT_TYPE, "application/json");
        }
        m.setBody(body);
    }

    private static Recipient recipient(JsonNode n) throws DeviceRegistrationRejectedException {
        boolean patient = n.hasNonNull("patientId");
        boolean staff = n.hasNonNull("staffId");
        if (patient == staff) {
            throw new DeviceRegistrationRejectedException(400, "exactly one of patientId and staffId is required");
        }
        return (patient ? Recipient.of(Recipient.PATIENT, n.get("patientId").asText())
                : Recipient.of(Recipient.STAFF, n.get("staffId").asText()))
                .orElseThrow(() -> new DeviceRegistrationRejectedException(400, (patient ? "patientId" : "staffId")
                        + " must be 1 to 64 letters, digits, dots, hyphens or underscores"));
    }

    private static DeviceRegistration tokenDevice(JsonNode n, PushPlatform platform, Recipient recipient, String now,
            Pattern format, String refusal) throws DeviceRegistrationRejectedException {
        String token = n.path("token").asText("");
        if (!format.matcher(token).matches()) {
            throw new DeviceRegistrationRejectedException(400, refusal);
        }
        if (platform == PushPlatform.APNS) {
            token = token.toLowerCase(Locale.ROOT);
        }
        return new DeviceRegistration(DeviceRegistration.idOf(platform, token), platform, recipient, token, null, null,
                null, now);
    }

    private DeviceRegistration webPush(JsonNode n, Recipient recipient, String now)
            throws DeviceRegistrationRejectedException {
        JsonNode s = n.path("subscription");
        String endpoint = s.path("endpoint").asText("");
        URI uri;
        try {
            uri = URI.create(endpoint);
        } catch (IllegalArgumentException e) {
            throw new DeviceRegistrationRejectedException(400, "subscription.endpoint is not a URL");
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!("https".equals(scheme) || (allowHttpEndpoints && "http".equals(scheme))) || uri.getHost() == null
                || uri.getUserInfo() != null || endpoint.length() > 2048) {
            throw new DeviceRegistrationRejectedException(400, "subscription.endpoint must be an https URL");
        }
        if (!allowedHost(uri.getHost().toLowerCase(Locale.ROOT))) {
            throw new DeviceRegistrationRejectedException(400, "subscription.endpoint is not on an allowed push service");
        }
        String p256dh = s.path("keys").path("p256dh").asText("");
        String auth = s.path("keys").path("auth").asText("");
        byte[] key = base64Url(p256dh, "subscription.keys.p256dh");
        if (key.length != 65 || key[0] != 4 || !onCurve(key)) {
            throw new DeviceRegistrationRejectedException(400, "subscription.keys.p256dh is not a P-256 public key");
        }
        if (base64Url(auth, "subscription.keys.auth").length != 16) {
            throw new DeviceRegistrationRejectedException(400, "subscription.keys.auth must be 16 bytes");
        }
        return new DeviceRegistration(DeviceRegistration.idOf(PushPlatform.WEBPUSH, endpoint), PushPlatform.WEBPUSH,
                recipient, null, endpoint, p256dh, auth, now);
    }

    private boolean allowedHost(String host) {
        for (String allowed : webPushHosts) {
            if (allowed.startsWith("*.") ? host.endsWith(allowed.substring(1)) : host.equals(allowed)) {
                return true;
            }
        }
        return false;
    }

    private static byte[] base64Url(String value, String field) throws DeviceRegistrationRejectedException {
        try {
            return Base64.getUrlDecoder().decode(value.replace("=", "").getBytes(StandardCharsets.US_ASCII));
        } catch (IllegalArgumentException e) {
            throw new DeviceRegistrationRejectedException(400, field + " is not base64url");
        }
    }

    /** y^2 = x^3 - 3x + b (mod p): an invalid point would make the key agreement leak or fail. */
    static boolean onCurve(byte[] point) {
        BigInteger x = new BigInteger(1, Arrays.copyOfRange(point, 1, 33));
        BigInteger y = new BigInteger(1, Arrays.copyOfRange(point, 33, 65));
        if (x.compareTo(P) >= 0 || y.compareTo(P) >= 0) {
            return false;
        }
        BigInteger left = y.multiply(y).mod(P);
        BigInteger right = x.pow(3).subtract(x.multiply(BigInteger.valueOf(3))).add(B).mod(P);
        return left.equals(right);
    }
}
