package org.cmm.eventbroker.engagement.push;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import javax.net.ssl.SSLContext;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.camel.CamelContext;
import org.apache.camel.CamelContextAware;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;
import org.apache.camel.support.service.ServiceHelper;
import org.apache.camel.support.service.ServiceSupport;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.cmm.eventbroker.engagement.DeviceRegistration;
import org.cmm.eventbroker.engagement.DeviceRegistry;
import org.cmm.eventbroker.engagement.PushPlatform;
import org.cmm.eventbroker.engagement.Recipient;
import org.cmm.eventbroker.hl7.Hl7Headers;
import org.cmm.eventbroker.platform.delivery.DeliveryFailedException;
import org.cmm.eventbroker.platform.delivery.DeliveryRejectedException;
import org.cmm.eventbroker.platform.delivery.KafkaDeliveryConsumer;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.cmm.eventbroker.platform.security.TlsMaterial;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The notification service: one record of {@code notifications.push.<type>} (kafka-delivery: per key in order,
 * offsets committed only once this returned or the record was dead-lettered) is sent to every device registered for
 * its recipient, through the device's push service.
 *
 * <ul>
 *   <li><b>Recipient</b>: the record's {@code recipient} ({@code patient/<id>} or {@code staff/<id>}); records of type
 *   {@code alert} without one (the Alert System's escalations) go to {@link #setAlertRecipient alertRecipient}. Only
 *   devices registered for exactly that recipient are used.</li>
 *   <li><b>Content</b>: the type's template ({@link PushTemplates}) and a deep link, nothing of the record.</li>
 *   <li><b>Outcomes</b>: per device on the status topic (JSON, key = notification id) and as the counter
 *   {@code cmm.push.deliveries} (platform, type, outcome). A gone token is removed from the registry.</li>
 *   <li><b>Retries</b>: a device that could not be reached makes the record fail, so kafka-delivery retries it with
 *   back-off; devices already reached are not sent it again. After the last attempt the record is dead-lettered
 *   (the route's routeConfiguration). A record that is not a notification is dead-lettered at once.</li>
 *   <li><b>Rate limit</b> per recipient ({@link RecipientRateLimit}); types in {@link #setRateLimitExemptTypes} are
 *   never limited.</li>
 * </ul>
 * Logs carry notification ids, device ids and outcomes, never recipients, tokens or payloads.
 */
public class PushNotificationService extends ServiceSupport implements Processor, CamelContextAware {

    private static final Logger LOG = LoggerFactory.getLogger(PushNotificationService.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private CamelContext camelContext;
    private String registryBean;
    private DeviceRegistry registry;
    private String statusTopic;
    private String alertRecipient = "";
    private Set<String> ignoredTypes = Set.of();
    private final PushTemplates templates = new PushTemplates();
    private int rateLimitMax = 10;
    private long rateLimitWindowMs = 60_000;
    private Set<String> rateLimitExemptTypes = Set.of("alert");
    private long timeoutMs = 10_000;
    // Web Push
    private String vapidPublicKey = "";
    private String vapidPrivateKey = "";
    private String vapidSubject = "";
    private int webPushTtlSeconds = 86_400;
    // APNs
    private String apnsHost = "api.push.apple.com";
    private int apnsPort = 443;
    private String apnsSigningKey = "";
    private String apnsTeamId = "";
    private String apnsKeyId = "";
    private String apnsTopic = "";
    // FCM
    private String fcmServiceAccount = "";
    private String fcmBaseUri = "https://fcm.googleapis.com";
    private String fcmTokenUri = "";

    private final Map<PushPlatform, PushSender> senders = new EnumMap<>(PushPlatform.class);
    private RecipientRateLimit rateLimit;
    private KafkaProducer<String, byte[]> statusProducer;
    private MeterRegistry meters;
    /** notification id -> devices already reached (a retried record skips them). Guarded by itself. */
    private final Map<String, Set<String>> reached = Collections.synchronizedMap(new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Set<String>> eldest) {
            return size() > 50_000;
        }
    });

    @Override
    public void setCamelContext(CamelContext camelContext) {
        this.camelContext = camelContext;
    }

    @Override
    public CamelContext getCamelContext() {
        return camelContext;
    }

    /** The name of the shared {@link DeviceRegistry} bean (routes/engagement/engagement-beans.camel.yaml). */
    public void setRegistryBean(String registryBean) {
        this.registryBean = registryBean;
    }

    public void setStatusTopic(String statusTopic) {
        this.statusTopic = statusTopic;
    }

    /** Where escalated alerts without a recipient go, e.g. {@code staff/care-team}; empty: they are dead-lettered. */
    public void setAlertRecipient(String alertRecipient) {
        this.alertRecipient = alertRecipient;
    }

    /** Topic types that are not notifications (the status topic when it shares the prefix): skipped. */
    public void setIgnoredTypes(String types) {
        this.ignoredTypes = list(types);
    }

    public void setAppointmentTemplate(String template) {
        templates.put("appointment", template);
    }

    public void setResultTemplate(String template) {
        templates.put("result", template);
    }

    public void setMedicationTemplate(String template) {
        templates.put("medication", template);
    }

    public void setAlertTemplate(String template) {
        templates.put("alert", template);
    }

    /** Workflow notification tasks to a care team (workflow task worker, type care-team). */
    public void setCareTeamTemplate(String template) {
        templates.put("care-team", template);
    }

    /** Workflow notification tasks for a staff member (workflow task worker, type task). */
    public void setTaskTemplate(String template) {
        templates.put("task", template);
    }

    public void setRateLimitMax(int rateLimitMax) {
        this.rateLimitMax = rateLimitMax;
    }

    public void setRateLimitWindowMs(long rateLimitWindowMs) {
        this.rateLimitWindowMs = rateLimitWindowMs;
    }

    public void setRateLimitExemptTypes(String types) {
        this.rateLimitExemptTypes = list(types);
    }

    public void setTimeoutMs(long timeoutMs) {
        this.timeoutMs = timeoutMs;
    }

    public void setVapidPublicKey(String vapidPublicKey) {
        this.vapidPublicKey = vapidPublicKey;
    }

    public void setVapidPrivateKey(String vapidPrivateKey) {
        this.vapidPrivateKey = vapidPrivateKey;
    }

    public void setVapidSubject(String vapidSubject) {
        this.vapidSubject = vapidSubject;
    }

    public void setWebPushTtlSeconds(int webPushTtlSeconds) {
        this.webPushTtlSeconds = webPushTtlSeconds;
    }

    public void setApnsHost(String apnsHost) {
        this.apnsHost = apnsHost;
    }

    public void setApnsPort(int apnsPort) {
        this.apnsPort = apnsPort;
    }

    public void setApnsSigningKey(String apnsSigningKey) {
        this.apnsSigningKey = apnsSigningKey;
    }

    public void setApnsTeamId(String apnsTeamId) {
        this.apnsTeamId = apnsTeamId;
    }

    public void setApnsKeyId(String apnsKeyId) {
        this.apnsKeyId = apnsKeyId;
    }

    public void setApnsTopic(String apnsTopic) {
        this.apnsTopic = apnsTopic;
    }

    public void setFcmServiceAccount(String fcmServiceAccount) {
        this.fcmServiceAccount = fcmServiceAccount;
    }

    public void setFcmBaseUri(String fcmBaseUri) {
        this.fcmBaseUri = fcmBaseUri;
    }

    public void setFcmTokenUri(String fcmTokenUri) {
        this.fcmTokenUri = fcmTokenUri;
    }

    @Override
    protected void doStart() throws Exception {
        registry = camelContext.getRegistry().lookupByNameAndType(registryBean, DeviceRegistry.class);
        if (registry == null || statusTopic == null || statusTopic.isBlank()) {
            throw new IllegalArgumentException("PushNotificationService needs the registry bean (registryBean) and a status topic"
                    + " (cmm.engagement.push.status-topic)");
        }
        ServiceHelper.startService(registry);
        Duration timeout = Duration.ofMillis(timeoutMs);
        SSLContext tls = TlsMaterial.of(camelContext).clientContext();
        if (!vapidPrivateKey.isBlank()) {
            senders.put(PushPlatform.WEBPUSH, new WebPushSender(new Vapid(vapidPublicKey, vapidPrivateKey, vapidSubject),
                    tls, timeout, webPushTtlSeconds));
        }
        if (!apnsSigningKey.isBlank()) {
            senders.put(PushPlatform.APNS, new ApnsSender(apnsHost, apnsPort, new File(apnsSigningKey), apnsTeamId,
                    apnsKeyId, apnsTopic, trustedCertificates(), timeout));
        }
        if (!fcmServiceAccount.isBlank()) {
            senders.put(PushPlatform.FCM, new FcmSender(Path.of(fcmServiceAccount), fcmBaseUri, fcmTokenUri, tls, timeout));
        }
        LOG.info("Push notification service: platforms {} configured",
                senders.keySet().stream().map(PushPlatform::wireName).toList());
        rateLimit = new RecipientRateLimit(rateLimitMax, rateLimitWindowMs);
        statusProducer = KafkaClients.of(camelContext).producer("push-notification-status", Map.of());
        meters = camelContext.getRegistry().findSingleByType(MeterRegistry.class);
    }

    @Override
    protected void doStop() {
        senders.values().forEach(PushSender::close);
        senders.clear();
        if (statusProducer != null) {
            statusProducer.close(Duration.ofSeconds(5));
        }
        ServiceHelper.stopService(registry);
    }

    @Override
    public void process(Exchange exchange) throws Exception {
        Message m = exchange.getMessage();
        String type = m.getHeader(KafkaDeliveryConsumer.TOPIC_TYPE, String.class);
        if (type == null || ignoredTypes.contains(type)) {
            return;
        }
        JsonNode record = read(m);
        String notificationId = record.hasNonNull("notificationId") ? record.get("notificationId").asText()
                : m.getHeader(Hl7Headers.CE_ID, String.class);
        if (notificationId == null || notificationId.isBlank() || notificationId.length() > 200) {
            throw new DeliveryRejectedException("notification without notificationId (and without ce_id)");
        }
        Recipient recipient = recipient(record, type);
        PushMessage message = templates.message(type, notificationId).orElseThrow(() ->
                new DeliveryRejectedException("no push template for notification type " + type));
        int attempt = m.getHeader(KafkaDeliveryConsumer.ATTEMPT, 1, Integer.class);
        boolean finalAttempt = m.getHeader(KafkaDeliveryConsumer.FINAL_ATTEMPT, false, Boolean.class);

        Set<String> done;
        boolean first;
        synchronized (reached) {
            first = !reached.containsKey(notificationId);
            done = reached.computeIfAbsent(notificationId, id -> Collections.synchronizedSet(new HashSet<>()));
        }
        if (first && !rateLimitExemptTypes.contains(type)
                && !rateLimit.tryAcquire(recipient.toString(), System.currentTimeMillis())) {
            status(notificationId, type, null, null, "rate-limited", 0, null, attempt).get(30, TimeUnit.SECONDS);
            LOG.info("Notification {} ({}) not sent: recipient over the rate limit", notificationId, type);
            return;
        }
        List<DeviceRegistration> devices = registry.devicesOf(recipient);
        if (devices.isEmpty()) {
            status(notificationId, type, null, null, "no-device", 0, null, attempt).get(30, TimeUnit.SECONDS);
            LOG.info("Notification {} ({}): no device registered for its recipient", notificationId, type);
            return;
        }
        List<String> pending = new ArrayList<>();
        // the devices' outcomes are published as they come and awaited together once every device was tried, before
        // the notification counts as handled (its offset is committed only then)
        List<java.util.concurrent.Future<?>> statuses = new ArrayList<>();
        for (DeviceRegistration device : devices) {
            if (done.contains(device.id())) {
                continue;
            }
            PushSender sender = senders.get(device.platform());
            PushResult result = sender == null
                    ? PushResult.of(PushResult.Outcome.REJECTED, 0, device.platform().wireName() + " not configured")
                    : sender.send(device, message);
            String outcome = result.outcome().name().toLowerCase(Locale.ROOT).replace('_', '-');
            switch (result.outcome()) {
                case ACCEPTED, REJECTED -> done.add(device.id());
                case INVALID_TOKEN -> {
                    done.add(device.id());
                    registry.remove(device.id(), device.platform().wireName() + " says the token is gone ("
                            + result.reason() + ")");
                }
                case RETRY -> {
                    if (finalAttempt) {
                        outcome = "gave-up";
                    }
                    pending.add(device.platform().wireName() + " " + result.reason());
                }
            }
            statuses.add(status(notificationId, type, device.id(), device.platform(), outcome, result.status(),
                    result.reason(), attempt));
            LOG.info("Notification {} ({}) to device {} ({}), attempt {}: {} {}", notificationId, type, device.id(),
                    device.platform().wireName(), attempt, outcome, result.reason());
        }
        for (java.util.concurrent.Future<?> f : statuses) {
            f.get(30, TimeUnit.SECONDS);
        }
        if (!pending.isEmpty()) {
            throw new DeliveryFailedException(pending.size() + " device(s) not reached: " + String.join(", ", pending));
        }
    }

    private Recipient recipient(JsonNode record, String type) throws DeliveryRejectedException {
        String value = record.hasNonNull("recipient") ? record.get("recipient").asText() : null;
        if (value == null && "alert".equals(type) && !alertRecipient.isBlank()) {
            value = alertRecipient;
        }
        if (value == null) {
            throw new DeliveryRejectedException("notification without a recipient");
        }
        return Recipient.parse(value).orElseThrow(() ->
                new DeliveryRejectedException("recipient must be patient/<id> or staff/<id>"));
    }

    private static JsonNode read(Message m) throws DeliveryRejectedException {
        byte[] body = m.getBody(byte[].class);
        if (body == null || body.length == 0) {
            throw new DeliveryRejectedException("empty notification record");
        }
        try {
            JsonNode n = JSON.readTree(body);
            if (n == null || !n.isObject()) {
                throw new DeliveryRejectedException("notification record is not a JSON object");
            }
            return n;
        } catch (IOException e) {
            throw new DeliveryRejectedException("notification record is not JSON");
        }
    }

    /** Publishes a delivery outcome on the status topic; the caller awaits the returned future. */
    private java.util.concurrent.Future<?> status(String notificationId, String type, String deviceId,
            PushPlatform platform, String outcome, int httpStatus, String reason, int attempt) {
        ObjectNode n = JSON.createObjectNode();
        n.put("notificationId", notificationId);
        n.put("notificationType", type);
        if (deviceId != null) {
            n.put("deviceId", deviceId);
            n.put("platform", platform.wireName());
        }
        n.put("outcome", outcome);
        if (httpStatus > 0) {
            n.put("status", httpStatus);
        }
        if (reason != null) {
            n.put("reason", reason);
        }
        n.put("attempt", attempt);
        n.put("at", OffsetDateTime.now(ZoneOffset.UTC).toString());
        java.util.concurrent.Future<?> sent = statusProducer.send(new ProducerRecord<>(statusTopic, notificationId,
                n.toString().getBytes(StandardCharsets.UTF_8)));
        if (meters != null) {
            Counter.builder("cmm.push.deliveries").description("Push notification outcomes per device")
                    .tag("platform", platform == null ? "none" : platform.wireName()).tag("type", type)
                    .tag("outcome", outcome).register(meters).increment();
        }
        return sent;
    }

    /** The CAs of cmm.security.tls.truststore, for Pushy (which builds its own Netty TLS context). */
    private X509Certificate[] trustedCertificates() throws Exception {
        String path = property(TlsMaterial.TRUSTSTORE);
        if (path.isBlank()) {
            return new X509Certificate[0];
        }
        KeyStore store = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(Path.of(path))) {
            store.load(in, property(TlsMaterial.TRUSTSTORE_PASSWORD).toCharArray());
        }
        List<X509Certificate> certificates = new ArrayList<>();
        for (String alias : Collections.list(store.aliases())) {
            Certificate c = store.getCertificate(alias);
            if (c instanceof X509Certificate x) {
                certificates.add(x);
            }
        }
        return certificates.toArray(X509Certificate[]::new);
    }

    private String property(String key) {
        return camelContext.getPropertiesComponent().resolveProperty(key).orElse("").trim();
    }

    private static Set<String> list(String values) {
        return Arrays.stream(values.split(",")).map(String::trim).filter(s -> !s.isEmpty())
                .collect(Collectors.toUnmodifiableSet());
    }
}
