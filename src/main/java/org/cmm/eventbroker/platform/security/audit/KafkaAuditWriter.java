package org.cmm.eventbroker.platform.security.audit;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link AuditSink} that writes to the audit topics. {@link #record} only offers the event to a bounded buffer and
 * returns: a broker's authorizer calls it on its request threads, and the writer's own requests to that same broker
 * pass through that authorizer, so nothing here may wait for Kafka. One daemon thread sends; while the topics are
 * unavailable the producer retries (up to {@code delivery.timeout.ms}) and an event whose send failed goes back into
 * the buffer. When the buffer is full the newest event is dropped and counted ({@link #dropped()}, WARN once per
 * 1,000 drops). Its client id, {@value #CLIENT_ID}, is how the authorizer recognises and skips its own writes.
 */
public final class KafkaAuditWriter implements AuditSink, AutoCloseable {

    public static final String CLIENT_ID = "cmm-audit-writer";
    public static final int DEFAULT_CAPACITY = 10_000;

    private static final Logger LOG = LoggerFactory.getLogger(KafkaAuditWriter.class);

    private final Properties producerProperties;
    private final BlockingQueue<AuditEvent> buffer;
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong written = new AtomicLong();
    private final Thread sender;
    private volatile boolean running = true;

    /**
     * @param producerProperties connection and security settings of the producer (bootstrap servers, TLS, SASL)
     * @param capacity           events kept while Kafka cannot take them
     */
    public KafkaAuditWriter(Properties producerProperties, int capacity) {
        this.producerProperties = new Properties();
        this.producerProperties.putAll(producerProperties);
        this.producerProperties.put(ProducerConfig.CLIENT_ID_CONFIG, CLIENT_ID);
        this.producerProperties.putIfAbsent(ProducerConfig.ACKS_CONFIG, "all");
        this.producerProperties.putIfAbsent(ProducerConfig.LINGER_MS_CONFIG, "20");
        this.producerProperties.putIfAbsent(ProducerConfig.MAX_BLOCK_MS_CONFIG, "10000");
        this.producerProperties.putIfAbsent(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "120000");
        this.buffer = new ArrayBlockingQueue<>(capacity);
        this.sender = new Thread(this::sendLoop, "cmm-audit-writer");
        this.sender.setDaemon(true);
        this.sender.start();
    }

    @Override
    public void record(AuditEvent event) {
        if (event == null || !running) {
            return;
        }
        if (!buffer.offer(event)) {
            drop();
        }
    }

    /** Events dropped because the buffer was full (the audit topics unavailable for long). */
    public long dropped() {
        return dropped.get();
    }

    /** Events Kafka acknowledged. */
    public long written() {
        return written.get();
    }

    private void drop() {
        long count = dropped.incrementAndGet();
        if (count % 1000 == 1) {
            LOG.warn("Audit buffer full ({} events): {} audit events dropped so far; the audit topics are not taking "
                    + "writes", buffer.size(), count);
        }
    }

    private void sendLoop() {
        Producer<String, String> producer = null;
        while (running || !buffer.isEmpty()) {
            AuditEvent event = null;
            try {
                event = buffer.poll(200, TimeUnit.MILLISECONDS);
                if (event == null) {
                    continue;
                }
                if (producer == null) {
                    createTopics();
                    producer = new KafkaProducer<>(producerProperties, new StringSerializer(), new StringSerializer());
                }
                AuditEvent sent = event;
                producer.send(new ProducerRecord<>(AuditCloudEvents.topic(event.kind()), event.principal(),
                        AuditCloudEvents.toJson(event)), (metadata, failure) -> {
                            if (failure == null) {
                                written.incrementAndGet();
                            } else if (!running || !buffer.offer(sent)) {
                                drop();
                            }
                        });
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } catch (RuntimeException e) {
                // e.g. no metadata within max.block.ms: keep the event for the next attempt
                LOG.warn("Audit writer could not send yet: {}", e.getMessage());
                if (event != null && (!running || !buffer.offer(event))) {
                    drop();
                }
            }
        }
        if (producer != null) {
            producer.close(Duration.ofSeconds(5));
        }
    }

    /** The three audit topics, with the cluster's default partitions and replication (existing ones are kept). */
    private void createTopics() {
        Properties admin = new Properties();
        producerProperties.forEach((k, v) -> {
            if (AdminClientConfig.configNames().contains(String.valueOf(k))) {
                admin.put(k, v);
            }
        });
        admin.put(AdminClientConfig.CLIENT_ID_CONFIG, CLIENT_ID + "-admin");
        try (Admin client = Admin.create(admin)) {
            List<NewTopic> topics = Arrays.stream(AuditEvent.Kind.values())
                    .map(k -> new NewTopic(AuditCloudEvents.topic(k), Optional.empty(), Optional.empty())).toList();
            for (var result : client.createTopics(topics).values().entrySet()) {
                try {
                    result.getValue().get(30, TimeUnit.SECONDS);
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw new IllegalStateException("Cannot create " + result.getKey() + ": " + e.getCause(), e);
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (TimeoutException e) {
            throw new IllegalStateException("Audit topics not created within 30 s", e);
        }
    }

    @Override
    public void close() {
        running = false;
        try {
            sender.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
