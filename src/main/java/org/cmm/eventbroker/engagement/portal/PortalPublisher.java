package org.cmm.eventbroker.engagement.portal;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.camel.CamelContext;
import org.apache.camel.CamelContextAware;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;
import org.apache.camel.support.service.ServiceSupport;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.cmm.eventbroker.hl7.Hl7Headers;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Puts a patient-facing FHIR resource (made by a portal mapper) on its portal topic, keyed by patient, and raises the
 * matching push notification ({@code <pushTopicPrefix>.<type>}, recipient {@code patient/<id>}, no clinical content),
 * both acknowledged by Kafka before the source record counts as done.
 *
 * <p><b>Release delay</b>: an update whose class (header {@value #HOLD_CLASS}: the lab result class) is in
 * {@link #setHeldClasses heldClasses} is not published now but written to the held-updates topic with its release
 * time. A releaser (one Kafka consumer of group {@code <heldGroupId>}, started with this bean) publishes each held
 * update once its time has come: a partition whose next update is not due is paused and resumed at that time, the
 * consumer's poll waiting meanwhile; no thread sleeps, and nothing is lost on restart (offsets are committed only past
 * released updates). Logs carry update ids, never patient ids.
 */
public class PortalPublisher extends ServiceSupport implements Processor, CamelContextAware {

    /** The class the hold policy is decided on (set by the mapper). */
    public static final String HOLD_CLASS = "portal_hold_class";

    private static final Logger LOG = LoggerFactory.getLogger(PortalPublisher.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private CamelContext camelContext;
    private String portalTopic;
    private String pushTopicPrefix;
    private String heldTopic;
    private String heldGroupId = "patient-portal-held-release";
    private Set<String> heldClasses = Set.of();
    private long releaseDelayMs;
    private KafkaProducer<String, byte[]> producer;
    private KafkaConsumer<String, byte[]> releaser;
    private Thread releaserThread;
    private volatile boolean running;

    @Override
    public void setCamelContext(CamelContext camelContext) {
        this.camelContext = camelContext;
    }

    @Override
    public CamelContext getCamelContext() {
        return camelContext;
    }

    public void setPortalTopic(String portalTopic) {
        this.portalTopic = portalTopic;
    }

    public void setPushTopicPrefix(String pushTopicPrefix) {
        this.pushTopicPrefix = pushTopicPrefix;
    }

    public void setHeldTopic(String heldTopic) {
        this.heldTopic = heldTopic;
    }

    public void setHeldGroupId(String heldGroupId) {
        this.heldGroupId = heldGroupId;
    }

    /** Classes held back for {@link #setReleaseDelayMs releaseDelayMs}; empty: none. */
    public void setHeldClasses(String classes) {
        this.heldClasses = Arrays.stream(classes.split(",")).map(String::trim).filter(s -> !s.isEmpty())
                .collect(Collectors.toUnmodifiableSet());
    }

    public void setReleaseDelayMs(long releaseDelayMs) {
        this.releaseDelayMs = releaseDelayMs;
    }

    private boolean holds() {
        return !heldClasses.isEmpty() && releaseDelayMs > 0;
    }

    @Override
    protected void doStart() {
        if (portalTopic == null || portalTopic.isBlank() || pushTopicPrefix == null || pushTopicPrefix.isBlank()) {
            throw new IllegalArgumentException("PortalPublisher needs portalTopic and pushTopicPrefix");
        }
        if (holds() && (heldTopic == null || heldTopic.isBlank())) {
            throw new IllegalArgumentException("PortalPublisher holds " + heldClasses + " back but has no heldTopic"
                    + " (cmm.engagement.portal.held-topic)");
        }
        KafkaClients kafka = KafkaClients.of(camelContext);
        producer = kafka.producer("patient-portal-" + portalTopic, Map.of());
        if (holds()) {
            releaser = kafka.consumer("patient-portal-held-release", heldGroupId,
                    Map.of(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false",
                            ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest"));
            running = true;
            releaserThread = new Thread(this::releaseLoop, "patient-portal-held-release");
            releaserThread.setDaemon(true);
            releaserThread.start();
        }
    }

    @Override
    protected void doStop() throws Exception {
        running = false;
        if (releaser != null) {
            releaser.wakeup();
            releaserThread.join(10_000);
        }
        if (producer != null) {
            producer.close(Duration.ofSeconds(5));
        }
    }

    @Override
    public void process(Exchange exchange) throws Exception {
        Message m = exchange.getMessage();
        String patient = m.getHeader(PortalHeaders.PATIENT, String.class);
        String type = m.getHeader(PortalHeaders.NOTIFICATION_TYPE, String.class);
        String updateId = m.getHeader(Hl7Headers.CE_ID, String.class);
        byte[] body = m.getBody(byte[].class);
        RecordHeaders headers = new RecordHeaders();
        headers.add(Hl7Headers.CE_SPECVERSION, bytes("1.0"));
        headers.add(Hl7Headers.CE_ID, bytes(updateId));
        headers.add(Hl7Headers.CE_SOURCE, bytes("/cmm/engagement/portal"));
        headers.add(Hl7Headers.CE_TYPE, bytes(portalTopic));
        headers.add(Hl7Headers.CONTENT_TYPE, bytes("application/fhir+json"));
        headers.add(PortalHeaders.NOTIFICATION_TYPE, bytes(type));
        String holdClass = m.getHeader(HOLD_CLASS, String.class);
        if (holds() && holdClass != null && heldClasses.contains(holdClass)) {
            long releaseAt = System.currentTimeMillis() + releaseDelayMs;
            headers.add(PortalHeaders.RELEASE_AT, bytes(Long.toString(releaseAt)));
            headers.add(PortalHeaders.PORTAL_TOPIC, bytes(portalTopic));
            producer.send(new ProducerRecord<>(heldTopic, null, patient, body, headers)).get(30, TimeUnit.SECONDS);
            LOG.info("Portal update {} ({}) held back for {} ms", updateId, holdClass, releaseDelayMs);
            return;
        }
        publish(portalTopic, patient, type, updateId, body, headers);
    }

    private void publish(String topic, String patient, String type, String updateId, byte[] body,
            Iterable<Header> headers) throws Exception {
        RecordHeaders out = new RecordHeaders();
        for (Header h : headers) {
            if (!h.key().equals(PortalHeaders.RELEASE_AT) && !h.key().equals(PortalHeaders.PORTAL_TOPIC)) {
                out.add(h);
            }
        }
        producer.send(new ProducerRecord<>(topic, null, patient, body, out)).get(30, TimeUnit.SECONDS);
        String notificationId = UUID.nameUUIDFromBytes(("portal|" + updateId).getBytes(StandardCharsets.UTF_8))
                .toString();
        ObjectNode n = JSON.createObjectNode();
        n.put("notificationId", notificationId);
        n.put("notificationType", type);
        n.put("recipient", "patient/" + patient);
        n.put("portalTopic", topic);
        RecordHeaders nh = new RecordHeaders();
        nh.add(Hl7Headers.CE_SPECVERSION, bytes("1.0"));
        nh.add(Hl7Headers.CE_ID, bytes(notificationId));
        nh.add(Hl7Headers.CE_SOURCE, bytes("/cmm/engagement/portal"));
        nh.add(Hl7Headers.CE_TYPE, bytes(pushTopicPrefix + "." + type));
        nh.add(Hl7Headers.CONTENT_TYPE, bytes("application/json"));
        producer.send(new ProducerRecord<>(pushTopicPrefix + "." + type, null, "patient/" + patient,
                n.toString().getBytes(StandardCharsets.UTF_8), nh)).get(30, TimeUnit.SECONDS);
        LOG.info("Portal update {} published on {}, push notification {}", updateId, topic, notificationId);
    }

    private void releaseLoop() {
        Map<TopicPartition, Long> paused = new HashMap<>();
        try {
            releaser.subscribe(List.of(heldTopic), new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                    partitions.forEach(paused::remove);
                }

                @Override
                public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                    // a newly assigned partition starts unpaused, at its committed offset
                }
            });
            while (running) {
                long now = System.currentTimeMillis();
                paused.entrySet().removeIf(e -> {
                    if (e.getValue() <= now) {
                        releaser.resume(List.of(e.getKey()));
                        return true;
                    }
                    return false;
                });
                long wait = paused.values().stream().mapToLong(at -> at - now).min().orElse(500);
                ConsumerRecords<String, byte[]> records = releaser.poll(Duration.ofMillis(Math.max(10, Math.min(500, wait))));
                for (TopicPartition tp : records.partitions()) {
                    for (ConsumerRecord<String, byte[]> r : records.records(tp)) {
                        long releaseAt = longHeader(r, PortalHeaders.RELEASE_AT);
                        long retryAt = releaseAt;
                        if (releaseAt <= System.currentTimeMillis()) {
                            try {
                                publish(header(r, PortalHeaders.PORTAL_TOPIC), r.key(),
                                        header(r, PortalHeaders.NOTIFICATION_TYPE), header(r, Hl7Headers.CE_ID),
                                        r.value(), r.headers());
                                releaser.commitSync(Map.of(tp, new OffsetAndMetadata(r.offset() + 1)));
                                continue;
                            } catch (Exception e) {
                                if (e instanceof InterruptedException) {
                                    Thread.currentThread().interrupt();
                                    return;
                                }
                                LOG.warn("Held portal update {} not released ({}): retried in 1 s",
                                        header(r, Hl7Headers.CE_ID), e.getClass().getSimpleName());
                                retryAt = System.currentTimeMillis() + 1000;
                            }
                        }
                        releaser.seek(tp, r.offset());
                        releaser.pause(List.of(tp));
                        paused.put(tp, retryAt);
                        break;
                    }
                }
            }
        } catch (WakeupException e) {
            // stopping
        } catch (RuntimeException e) {
            LOG.error("Releasing held portal updates stopped ({}): held updates wait for a restart",
                    e.getClass().getSimpleName(), e);
        } finally {
            releaser.close(Duration.ofSeconds(5));
        }
    }

    private static String header(ConsumerRecord<?, ?> r, String name) {
        Header h = r.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    private static long longHeader(ConsumerRecord<?, ?> r, String name) {
        try {
            String v = header(r, name);
            return v == null ? 0 : Long.parseLong(v);
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private static byte[] bytes(String s) {
        return s == null ? new byte[0] : s.getBytes(StandardCharsets.UTF_8);
    }
}
