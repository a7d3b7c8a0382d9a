package org.cmm.eventbroker.hl7;

import static org.cmm.eventbroker.testsupport.KafkaTopicReader.controlId;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.Map;

import ca.uhn.hl7v2.preparser.PreParser;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.cmm.eventbroker.platform.mllp.MllpClient;
import org.cmm.eventbroker.testsupport.Hl7Samples;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Exactly once across crashes, deterministically: the state a SIGKILL leaves when it comes between Kafka's
 * acknowledgement of a publish and the batch that persists its de-duplication key (the record is on the topic, its
 * key is not on hl7.dedup) is built directly, then the runtime starts and the sender resends, as it does when it got
 * no AA. The resend must be answered AA and not published again. The kill itself, at random instants under load, is
 * {@code ExactlyOnceKillBenchmark} in the bench profile.
 */
class Hl7ExactlyOnceIT {

    private static RuntimeUnderTest env;

    @BeforeAll
    static void start() throws Exception {
        env = RuntimeUnderTest.flows("hl7-mllp-inbound").start();
    }

    @AfterAll
    static void stop() throws Exception {
        if (env != null) {
            env.close();
        }
    }

    private static String send(byte[] message) throws Exception {
        try (MllpClient client = new MllpClient("127.0.0.1", env.mllpPort(), 30_000)) {
            client.send(message);
            return PreParser.getFields(new String(client.readFrame(), StandardCharsets.ISO_8859_1), "MSA-1")[0];
        }
    }

    private static String msh10(byte[] record) {
        try {
            return PreParser.getFields(new String(record, StandardCharsets.ISO_8859_1), "MSH-10")[0];
        } catch (Exception notHl7) {
            return null;
        }
    }

    @Test
    void aResendOfAMessagePublishedJustBeforeACrashIsAnsweredAaAndNotPublishedAgain() throws Exception {
        String id = "EO" + System.nanoTime();
        String first = Hl7Samples.load("adt-a08.hl7", id);
        String marker = Hl7Samples.load("adt-a08.hl7", id + "-M");
        // the runtime published the message, then died before its key's batch was written
        env.stopRuntime();
        try (KafkaProducer<String, byte[]> producer = KafkaClients.forBootstrap(env.bootstrapServers())
                .producer("crashed-runtime", Map.of())) {
            producer.send(new ProducerRecord<>("hl7.adt.a08", "MRN100001", first.getBytes(StandardCharsets.ISO_8859_1))).get();
        }
        env.startRuntime();

        // the sender got no AA and resends (a later MSH-7, as interface engines stamp it)
        String resend = first.replaceFirst("\\|(\\d{8,14})", "|20991231235959");
        assertEquals("AA", send(resend.getBytes(StandardCharsets.ISO_8859_1)));
        assertEquals("AA", send(marker.getBytes(StandardCharsets.ISO_8859_1)));
        env.topics().awaitRecords("hl7.adt.a08", controlId(id + "-M"), 1);
        // counted by the MSH-10 in the record itself (the crashed runtime's copy is counted too)
        assertEquals(1, env.topics().readAll("hl7.adt.a08").stream().filter(r -> id.equals(msh10(r.value()))).count(),
                "the message is on Kafka once");
    }
}
