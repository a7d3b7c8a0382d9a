package org.cmm.eventbroker.testsupport;

import java.nio.charset.StandardCharsets;
import java.util.Properties;
import java.util.concurrent.ExecutionException;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/** Publishes order records the way the EHR side does: keyed by patient, acknowledged by all replicas. */
public final class OrderMessages implements AutoCloseable {

    private final KafkaProducer<String, byte[]> producer;

    public OrderMessages(String bootstrapServers) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        producer = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
    }

    /** An HL7 v2.5.1 ORM^O01 new order for one test. */
    public static String labOrder(String controlId, String patientId) {
        return "MSH|^~\\&|EHR|HOSP|LIS|LAB|20261126120000||ORM^O01^ORM_O01|" + controlId + "|P|2.5.1\r"
                + "PID|1||" + patientId + "^^^HOSP^MR||DOE^JANE||19800101|F\r"
                + "ORC|NW|" + controlId + "\r"
                + "OBR|1|" + controlId + "||2345-7^Glucose^LN\r";
    }

    /** An HL7 v2.5.1 RDE^O11 new medication order. */
    public static String pharmacyOrder(String controlId, String patientId) {
        return "MSH|^~\\&|EHR|HOSP|PHARMACY|PHARM|20261126120000||RDE^O11^RDE_O11|" + controlId + "|P|2.5.1\r"
                + "PID|1||" + patientId + "^^^HOSP^MR||DOE^JANE||19800101|F\r"
                + "ORC|NW|" + controlId + "\r"
                + "RXE|^BID^^20261126|197361^Amlodipine 5 MG Oral Tablet^RXNORM|5||mg\r";
    }

    public void publish(String topic, String key, String body) throws ExecutionException, InterruptedException {
        publish(topic, key, body.getBytes(StandardCharsets.ISO_8859_1));
    }

    public void publish(String topic, String key, byte[] body) throws ExecutionException, InterruptedException {
        producer.send(new ProducerRecord<>(topic, key, body)).get();
    }

    @Override
    public void close() {
        producer.close();
    }
}
