package org.cmm.eventbroker.platform.security.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.cmm.eventbroker.dev.EmbeddedKafkaBroker;
import org.cmm.eventbroker.platform.security.audit.AuditEvent;
import org.cmm.eventbroker.platform.security.audit.KafkaAuditWriter;
import org.cmm.eventbroker.testsupport.FreePorts;
import org.cmm.eventbroker.testsupport.KafkaTopicReader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The audit writer never blocks its caller, keeps events while Kafka is unavailable and writes them when it comes
 * (a real broker started late on the writer's port), and counts what a full buffer drops.
 */
class KafkaAuditWriterIT {

    @TempDir
    Path dir;

    @Test
    void eventsRecordedWhileKafkaIsDownArriveWhenItComesAndAFullBufferCountsDrops() throws Exception {
        int port = FreePorts.next();
        Properties producer = new Properties();
        producer.put("bootstrap.servers", "127.0.0.1:" + port);
        producer.put("reconnect.backoff.max.ms", "500");
        try (KafkaAuditWriter writer = new KafkaAuditWriter(producer, 5)) {
            long started = System.nanoTime();
            for (int i = 0; i < 20; i++) {
                writer.record(AuditEvent.authorization("kafka", "User:u" + i, "Read", "Topic", "hl7.adt.a01", false,
                        "127.0.0.1", "test"));
            }
            assertTrue(Duration.ofNanos(System.nanoTime() - started).toMillis() < 1000, "record never waits for Kafka");
            assertTrue(writer.dropped() >= 14, "a buffer of 5 (plus the one in hand) drops the rest: " + writer.dropped());

            try (EmbeddedKafkaBroker broker = new EmbeddedKafkaBroker("127.0.0.1", port, FreePorts.next(),
                    dir.resolve("kafka"), Map.of("num.partitions", "1"))) {
                broker.start();
                long kept = 20 - writer.dropped();
                List<ConsumerRecord<String, byte[]>> records = new KafkaTopicReader(broker.bootstrapServers())
                        .awaitRecords("security.audit.authorization", r -> true, (int) kept);
                assertEquals(kept, records.size());
                String first = new String(records.get(0).value(), StandardCharsets.UTF_8);
                assertTrue(first.contains("\"specversion\":\"1.0\""), first);
                assertTrue(first.contains("\"granted\":false"), first);
            }
        }
    }
}
