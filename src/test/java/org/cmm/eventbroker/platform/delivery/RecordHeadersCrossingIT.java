package org.cmm.eventbroker.platform.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.apache.camel.Message;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.impl.DefaultCamelContext;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.cmm.eventbroker.dev.EmbeddedKafkaBroker;
import org.cmm.eventbroker.testsupport.FreePorts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A record written by anyone allowed to produce to an outbound topic must not steer the flow that delivers it: its
 * {@code CamelHttpUri} (the workflow engine call), {@code CamelMllpCharset} (the MLLP sender) or
 * {@code kafka.OVERRIDE_TOPIC} (a later Kafka write) stay on the record; the project's own headers cross.
 */
class RecordHeadersCrossingIT {

    @TempDir
    Path dataDir;

    @Test
    void onlyTheProjectsOwnRecordHeadersBecomeExchangeHeaders() throws Exception {
        try (EmbeddedKafkaBroker broker = new EmbeddedKafkaBroker("127.0.0.1", FreePorts.next(), FreePorts.next(),
                dataDir, Map.of())) {
            broker.start();
            BlockingQueue<Message> delivered = new LinkedBlockingQueue<>();
            DefaultCamelContext camel = new DefaultCamelContext();
            camel.getRegistry().bind(KafkaClients.REGISTRY_NAME, KafkaClients.forBootstrap(broker.bootstrapServers()));
            camel.addRoutes(new RouteBuilder() {
                @Override
                public void configure() {
                    from("kafka-delivery:headers-test?topicPrefix=test.outbound&initialBackoffMs=100")
                            .process(e -> delivered.add(e.getMessage().copy()));
                }
            });
            camel.start();
            try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(Map.of(
                    ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()),
                    new StringSerializer(), new ByteArraySerializer())) {
                ProducerRecord<String, byte[]> record = new ProducerRecord<>("test.outbound.orders", "patient-1",
                        "body".getBytes(StandardCharsets.UTF_8));
                header(record, "ce_id", "evt-1");
                header(record, "hl7_control_id", "MSG0001");
                header(record, "workflow_type", "admission");
                header(record, "dlq_reason", "earlier refusal");
                header(record, "CamelHttpUri", "http://attacker.example/steal");
                header(record, "CamelMllpCharset", "UTF-16");
                header(record, "kafka.OVERRIDE_TOPIC", "hl7.adt.a01");
                header(record, "Content-Type", "text/evil");
                header(record, "CamelHttpPath", "/admin");
                header(record, "CE_ID", "upper case is not ours");
                producer.send(record).get(30, TimeUnit.SECONDS);
            }
            Message message = delivered.poll(60, TimeUnit.SECONDS);
            camel.stop();
            assertNotNull(message, "the record was delivered through the route");
            assertNull(message.getHeader("CamelHttpUri"), "a record must not redirect an HTTP call");
            assertNull(message.getHeader("CamelMllpCharset"), "a record must not change the MLLP sender's charset");
            assertNull(message.getHeader("kafka.OVERRIDE_TOPIC"), "a record must not re-route a Kafka write");
            assertNull(message.getHeader("CamelHttpPath"));
            assertNull(message.getHeader("Content-Type"), "only the lower-case CloudEvents content-type crosses");
            // exchange headers ignore case: CE_ID would overwrite ce_id
            assertEquals("evt-1", message.getHeader("ce_id"));
            assertEquals("MSG0001", message.getHeader("hl7_control_id"));
            assertEquals("admission", message.getHeader("workflow_type"));
            assertEquals("earlier refusal", message.getHeader("dlq_reason"));
            // what the consumer itself sets from the record is still there
            assertEquals("test.outbound.orders", message.getHeader("kafka.TOPIC"));
            assertEquals("patient-1", message.getHeader("kafka.KEY"));
            assertEquals("orders", message.getHeader(KafkaDeliveryConsumer.TOPIC_TYPE));
        }
    }

    @Test
    void allowedNamesAreLowerCaseWithAKnownPrefixAndAnUnderscore() {
        assertTrue(RecordHeaders.mayCross("ce_specversion"));
        assertTrue(RecordHeaders.mayCross("fhir_subscription_id"));
        assertTrue(RecordHeaders.mayCross("device_alert_id"));
        assertTrue(RecordHeaders.mayCross("content-type"), "the CloudEvents binding's content type");
        assertFalse(RecordHeaders.mayCross("Content-Type"));
        assertFalse(RecordHeaders.mayCross("CamelHttpPath"));
        assertFalse(RecordHeaders.mayCross("ce_"), "a prefix alone is not a header of ours");
        assertFalse(RecordHeaders.mayCross("cmm_anything"));
        assertFalse(RecordHeaders.mayCross("ce-id"));
        assertFalse(RecordHeaders.mayCross(null));
    }

    private static void header(ProducerRecord<String, byte[]> record, String name, String value) {
        record.headers().add(name, value.getBytes(StandardCharsets.UTF_8));
    }
}
