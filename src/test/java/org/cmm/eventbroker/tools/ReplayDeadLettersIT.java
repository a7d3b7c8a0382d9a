package org.cmm.eventbroker.tools;

import static org.cmm.eventbroker.testsupport.KafkaTopicReader.controlId;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import ca.uhn.hl7v2.preparser.PreParser;
import org.cmm.eventbroker.testsupport.MllpTestClient;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.junit.jupiter.api.Test;

/**
 * The operator's path for rejected messages: a sender's Latin-1 message without MSH-18 is rejected while the runtime
 * assumes UTF-8; the operator sets the default charset, restarts, replays the dead-letter topic, and the message is
 * accepted with its original bytes.
 */
class ReplayDeadLettersIT {

    @Test
    void aRejectedMessageIsAcceptedWhenReplayedAfterTheCauseWasFixed() throws Exception {
        String id = "REPLAY" + System.nanoTime();
        byte[] latin1 = ("MSH|^~\\&|LEGACY|CLINIQUE|CMM_BROKER|CMM|20240315083000||ADT^A01|" + id + "|P|2.3\r"
                + "PID|1||MRN777^^^CLINIQUE^MR||LEFÈVRE^HÉLÈNE\r").getBytes(StandardCharsets.ISO_8859_1);
        try (RuntimeUnderTest env = RuntimeUnderTest.flows("hl7-mllp-inbound").with(Map.of("cmm.hl7.default-charset", "UTF-8")).start()) {
            try (MllpTestClient client = new MllpTestClient(env.mllpPort())) {
                client.send(latin1);
                assertEquals("AR", PreParser.getFields(client.readAck(), "MSA-1")[0]);
            }
            env.topics().awaitRecords("hl7.dlq", r -> java.util.Arrays.equals(r.value(), latin1), 1);

            env.stopRuntime();
            env.startRuntime(Map.of("cmm.hl7.default-charset", "ISO-8859-1"));

            List<ReplayDeadLetters.Outcome> outcomes = ReplayDeadLetters.replay(
                    KafkaClients.forBootstrap(env.bootstrapServers()), "hl7.dlq",
                    "127.0.0.1", env.mllpPort(), 0, null);
            assertEquals(1, outcomes.size());
            assertEquals("AA", outcomes.get(0).ackCode());
            assertEquals(id, outcomes.get(0).acknowledgedControlId());
            assertTrue(outcomes.get(0).originalReason().contains("not valid UTF-8"));
            assertArrayEquals(latin1, env.topics().awaitRecords("hl7.adt.a01", controlId(id), 1).get(0).value());
        }
    }
}
