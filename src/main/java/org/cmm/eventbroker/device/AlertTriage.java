package org.cmm.eventbroker.device;

import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;
import org.apache.camel.support.service.ServiceHelper;
import org.apache.camel.support.service.ServiceSupport;
import org.apache.camel.component.kafka.KafkaConstants;
import org.apache.camel.spi.IdempotentRepository;
import org.cmm.eventbroker.hl7.Er7Message;
import org.cmm.eventbroker.hl7.Hl7Headers;
import org.cmm.eventbroker.hl7.Hl7RejectedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Alert System's rules, applied to each record of {@code device.alerts.<kind>} and
 * {@code device.alerts.acknowledgements} (one device's alerts in order, by the kafka-delivery lanes):
 *
 * <ol>
 *   <li>An acknowledgement record is remembered ({@link AcknowledgedAlerts}): that alert is not escalated again.</li>
 *   <li>An alert in state <b>acknowledged</b> becomes an acknowledgement record (decision {@code acknowledge}).</li>
 *   <li>An alert in state <b>inactive</b> ends its condition: the next active alert of that device and code is new
 *   (decision {@code cleared}).</li>
 *   <li>An <b>active</b> alert whose device and code were already seen active within the de-duplication window is a
 *   repeat and is suppressed (decision {@code duplicate}).</li>
 *   <li>Otherwise, an alert whose kind is in {@link #setEscalateKinds escalateKinds} (physiological) and whose priority
 *   is in {@link #setEscalatePriorities escalatePriorities} (high) is escalated to {@code notifications.push.alert}
 *   unless it was acknowledged (decision {@code escalate}); any other alert is only recorded ({@code recorded}).</li>
 * </ol>
 *
 * The decision (made by {@link #process}) is in the header {@value #DECISION}; for {@code escalate} and {@code acknowledge} the body and headers
 * are those of the record to write. {@link #remember} is called once that write succeeded, so a failed write is
 * retried (by kafka-delivery) without being taken for a duplicate. The de-duplication memory is a
 * {@link org.cmm.eventbroker.platform.kafka.KafkaWindowedIdempotentRepository}: it survives restarts. Logs carry alert ids,
 * device ids and decisions, never patient ids or alert text.
 */
public class AlertTriage extends ServiceSupport implements Processor {

    public static final String DECISION = "device_alert_decision";
    /** Set by the device-alerts-source Kamelet: technical, physiological, operational or acknowledgements. */
    public static final String TOPIC_TYPE = "device_alert_topic_type";
    private static final String PENDING_KEY = "CamelCmmAlertDeduplicationKey";
    private static final Logger LOG = LoggerFactory.getLogger(AlertTriage.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private IdempotentRepository repository;
    private AcknowledgedAlerts acknowledgedAlerts;
    private Set<String> escalateKinds = Set.of("physiological");
    private Set<String> escalatePriorities = Set.of("high");
    private final Pcd04AlertReader pcd04 = new Pcd04AlertReader();

    /** Memory of active (device, code) pairs within the window. */
    public void setRepository(IdempotentRepository repository) {
        this.repository = repository;
    }

    public void setAcknowledgedAlerts(AcknowledgedAlerts acknowledgedAlerts) {
        this.acknowledgedAlerts = acknowledgedAlerts;
    }

    public void setEscalateKinds(String kinds) {
        this.escalateKinds = codes(kinds);
    }

    public void setEscalatePriorities(String priorities) {
        this.escalatePriorities = codes(priorities);
    }

    @Override
    protected void doStart() throws Exception {
        if (repository == null || acknowledgedAlerts == null) {
            throw new IllegalArgumentException("AlertTriage needs a repository and acknowledgedAlerts");
        }
        // started here: a route starts its processors, not the beans they use
        ServiceHelper.startService(repository, acknowledgedAlerts);
    }

    @Override
    protected void doStop() {
        ServiceHelper.stopService(repository, acknowledgedAlerts);
    }

    /** Applies the rules; see the class comment. */
    @Override
    public void process(Exchange exchange) throws DeviceAlertRejectedException {
        Message m = exchange.getMessage();
        String topicType = m.getHeader(TOPIC_TYPE, String.class);
        if ("acknowledgements".equals(topicType)) {
            String alertId = m.getHeader(KafkaConstants.KEY, String.class);
            if (alertId == null || alertId.isBlank()) {
                throw new DeviceAlertRejectedException("acknowledgement record without a key (the alert id)");
            }
            acknowledgedAlerts.record(alertId);
            m.setHeader(DECISION, "acknowledgement-recorded");
            LOG.info("Alert {} acknowledged: not escalated again", alertId);
            return;
        }
        String alertId = required(m, DeviceAlertHeaders.ALERT_ID);
        String deviceId = required(m, DeviceAlertHeaders.DEVICE_ID);
        String kind = required(m, DeviceAlertHeaders.KIND);
        String priority = required(m, DeviceAlertHeaders.PRIORITY);
        String code = required(m, DeviceAlertHeaders.CODE);
        String state = required(m, DeviceAlertHeaders.STATE);
        String key = deviceId + '|' + code;
        String decision;
        switch (state) {
            case "acknowledged" -> {
                OffsetDateTime at = time(m.getHeader(Hl7Headers.CE_TIME, String.class));
                m.removeHeaders("*", "kafka.*", "Camel*");
                AlertAcknowledgementReader.fromDevice(m, alertId, at);
                m.setHeader(DeviceAlertHeaders.DEVICE_ID, deviceId);
                decision = "acknowledge";
            }
            case "inactive" -> {
                repository.remove(key);
                decision = "cleared";
            }
            case "active" -> {
                if (repository.contains(key)) {
                    decision = "duplicate";
                } else if (!escalateKinds.contains(kind) || !escalatePriorities.contains(priority)) {
                    repository.add(key);
                    decision = "recorded";
                } else if (acknowledgedAlerts.isAcknowledged(alertId)) {
                    repository.add(key);
                    decision = "already-acknowledged";
                } else {
                    notification(m, alertId, deviceId, kind, priority, code);
                    m.setHeader(PENDING_KEY, key);
                    decision = "escalate";
                }
            }
            default -> throw new DeviceAlertRejectedException("unknown alert state in device_alert_state");
        }
        m.setHeader(DECISION, decision);
        LOG.info("Alert {} of device {} ({} {}, {}): {}", alertId, deviceId, priority, kind, state, decision);
    }

    /** After the record of {@code escalate} or {@code acknowledge} was written. */
    public void remember(Exchange exchange) {
        Message m = exchange.getMessage();
        String key = m.getHeader(PENDING_KEY, String.class);
        if (key != null) {
            repository.add(key);
        }
        if ("acknowledge".equals(m.getHeader(DECISION, String.class))) {
            acknowledgedAlerts.record(m.getHeader(DeviceAlertHeaders.ALERT_ID, String.class));
        }
    }

    /** The push notification: who must look at what, and nothing more (no measured values, no patient name). */
    private void notification(Message m, String alertId, String deviceId, String kind, String priority, String code)
            throws DeviceAlertRejectedException {
        String patientId = m.getHeader(Hl7Headers.CE_SUBJECT, String.class);
        String deviceType = m.getHeader(DeviceAlertHeaders.DEVICE_TYPE, String.class);
        String time = m.getHeader(Hl7Headers.CE_TIME, String.class);
        Map<String, Object> n = new LinkedHashMap<>();
        n.put("alertId", alertId);
        n.put("deviceId", deviceId);
        if (deviceType != null) {
            n.put("deviceType", deviceType);
        }
        if (patientId != null) {
            n.put("patientId", patientId);
        }
        n.put("kind", kind);
        n.put("priority", priority);
        n.put("code", code);
        n.put("text", text(m));
        n.put("timestamp", time);
        byte[] body;
        try {
            body = JSON.writeValueAsBytes(n);
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
        m.removeHeaders("*", "kafka.*", "Camel*");
        m.setBody(body);
        m.setHeader(DeviceAlertHeaders.ALERT_ID, alertId);
        m.setHeader(DeviceAlertHeaders.DEVICE_ID, deviceId);
        m.setHeader(DeviceAlertHeaders.PRIORITY, priority);
        m.setHeader(Hl7Headers.CE_SPECVERSION, "1.0");
        m.setHeader(Hl7Headers.CE_ID, "notify:" + alertId + ':' + System.currentTimeMillis());
        m.setHeader(Hl7Headers.CE_SOURCE, "/devices/alerts/processing");
        if (time != null) {
            m.setHeader(Hl7Headers.CE_TIME, time);
        }
        if (patientId != null) {
            m.setHeader(Hl7Headers.CE_SUBJECT, patientId);
        }
        m.setHeader(Hl7Headers.CONTENT_TYPE, "application/json");
    }

    /** The alert text, from the canonical JSON or the PCD-04 alert type OBX. */
    private String text(Message m) throws DeviceAlertRejectedException {
        byte[] body = m.getBody(byte[].class);
        String contentType = m.getHeader(Hl7Headers.CONTENT_TYPE, "", String.class);
        try {
            if (contentType.startsWith("application/json")) {
                JsonNode node = JSON.readTree(body);
                return node.path("text").asText("");
            }
            String charset = m.getHeader(Hl7Headers.CHARSET, String.class);
            Er7Message message = Er7Message.parse(new String(body,
                    charset == null ? StandardCharsets.ISO_8859_1 : Charset.forName(charset)));
            return pcd04.read(message, false).text();
        } catch (java.io.IOException | RuntimeException | Hl7RejectedException e) {
            throw new DeviceAlertRejectedException("alert body is neither canonical JSON nor a readable PCD-04 message");
        }
    }

    private static OffsetDateTime time(String value) {
        try {
            return value == null ? OffsetDateTime.now() : OffsetDateTime.parse(value);
        } catch (DateTimeParseException e) {
            return OffsetDateTime.now();
        }
    }

    private static String required(Message m, String header) throws DeviceAlertRejectedException {
        String value = m.getHeader(header, String.class);
        if (value == null || value.isBlank()) {
            throw new DeviceAlertRejectedException("record without the header " + header
                    + " (not published by a device alert flow)");
        }
        return value;
    }

    private static Set<String> codes(String list) {
        return Arrays.stream(list.split(",")).map(String::trim).filter(s -> !s.isEmpty())
                .map(s -> s.toLowerCase(Locale.ROOT)).collect(Collectors.toUnmodifiableSet());
    }
}
