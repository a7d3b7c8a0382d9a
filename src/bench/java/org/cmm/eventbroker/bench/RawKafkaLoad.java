package org.cmm.eventbroker.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongFunction;

import org.HdrHistogram.Histogram;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The ceiling for acknowledge-per-message ingest: C threads share one producer with the runtime's settings
 * (acks=all, idempotent, linger 0) and each sends one record and waits for Kafka's acknowledgement before the next.
 */
public final class RawKafkaLoad implements AutoCloseable {

    private final KafkaProducer<String, byte[]> producer;
    private final String topicPrefix;
    private final int threads;

    public RawKafkaLoad(String bootstrapServers, String topicPrefix, int threads) {
        this(bootstrapServers, new Properties(), topicPrefix, threads);
    }

    /** With client security settings (security.protocol, sasl.*, ssl.*): the baseline against the secured broker. */
    public RawKafkaLoad(String bootstrapServers, Properties security, String topicPrefix, int threads) {
        producer = baselineProducer(bootstrapServers, security);
        this.topicPrefix = topicPrefix;
        this.threads = threads;
    }

    /**
     * The producer settings the runtime's hl7-topic-sink uses (acks=all, idempotent, linger 0), for both baselines.
     * Deliberately a plain KafkaProducer, not one from KafkaClients: the baseline measures Kafka alone, against the
     * benchmark's unsecured broker (or, for raw-secure, its secured broker with the same client settings as the runtime).
     */
    static KafkaProducer<String, byte[]> baselineProducer(String bootstrapServers) {
        return baselineProducer(bootstrapServers, new Properties());
    }

    static KafkaProducer<String, byte[]> baselineProducer(String bootstrapServers, Properties security) {
        Properties p = new Properties();
        p.putAll(security);
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "0");
        p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, String.valueOf(16 * 1024 * 1024));
        return new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
    }

    public MllpLoad.Result run(LongFunction<SyntheticMessages.Sample> messages, long first, long count) throws Exception {
        MllpLoad.Result result = new MllpLoad.Result();
        AtomicLong next = new AtomicLong();
        List<Thread> workers = new ArrayList<>();
        List<Histogram> histograms = new ArrayList<>();
        long start = System.nanoTime();
        for (int t = 0; t < threads; t++) {
            Histogram h = new Histogram(60_000_000L, 3);
            histograms.add(h);
            Thread worker = new Thread(() -> {
                long i;
                while ((i = next.getAndIncrement()) < count) {
                    SyntheticMessages.Sample s = messages.apply(first + i);
                    String topic = topicPrefix + "." + s.type().toLowerCase() + "." + s.trigger().toLowerCase();
                    long t0 = System.nanoTime();
                    try {
                        ProducerRecord<String, byte[]> record = new ProducerRecord<>(topic, s.patientId(), s.bytes());
                        record.headers().add("hl7_control_id", s.controlId().getBytes(java.nio.charset.StandardCharsets.UTF_8));
                        producer.send(record).get();
                        h.recordValue((System.nanoTime() - t0) / 1000);
                        result.aa.incrementAndGet();
                        result.accepted.put(s.controlId(), first + i);
                    } catch (Exception e) {
                        result.ae.incrementAndGet();
                    }
                }
            }, "raw-kafka-" + t);
            workers.add(worker);
            worker.start();
        }
        for (Thread w : workers) {
            w.join();
        }
        result.elapsedNanos = System.nanoTime() - start;
        result.sent = count;
        histograms.forEach(result.latencyMicros::add);
        return result;
    }

    @Override
    public void close() {
        producer.close();
    }
}
