package org.cmm.eventbroker.hl7;

import static org.cmm.eventbroker.testsupport.KafkaTopicReader.controlId;
import static org.cmm.eventbroker.testsupport.KafkaTopicReader.header;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import ca.uhn.hl7v2.model.Message;
import ca.uhn.hl7v2.preparser.PreParser;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.cmm.eventbroker.testsupport.HapiSender;
import org.cmm.eventbroker.testsupport.Hl7Samples;
import org.cmm.eventbroker.testsupport.LogCapture;
import org.cmm.eventbroker.testsupport.MllpTestClient;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The inbound HL7 v2 flow end to end: a real HAPI MLLP client (or a raw socket where exact bytes matter) sends to
 * the runtime's listener, a real Kafka broker stores, a plain KafkaConsumer reads.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class Hl7MllpInboundIT {

    private static final List<String> PATIENT_DATA = List.of("ZEBEDEE", "ALBERTINE", "QUIXLEY", "VANTERPOOL",
            "OKONKWO", "PEMBERTHY", "MRN1000", "HARBOUR ROAD", "DUPONT-ÉLODIE", "GARBAGE-PATIENT");

    private static LogCapture logs;
    private static RuntimeUnderTest env;

    @BeforeAll
    static void start() throws Exception {
        logs = LogCapture.attach();
        env = RuntimeUnderTest.flows("hl7-mllp-inbound").with(Map.of(
                "cmm.mllp.idle-timeout-ms", "3000",
                "cmm.mllp.max-frame-bytes", String.valueOf(2 * 1024 * 1024))).start();
    }

    @AfterAll
    static void stop() throws Exception {
        if (env != null) {
            env.close();
        }
        if (logs != null) {
            logs.close();
        }
    }

    private static String newControlId() {
        return "T" + UUID.randomUUID().toString().replace("-", "").substring(0, 16);
    }

    @ParameterizedTest(name = "{0} lands on {1}")
    @CsvSource({
        "adt-a01.hl7, hl7.adt.a01, MRN100001",
        "adt-a03.hl7, hl7.adt.a03, MRN100001",
        "adt-a08.hl7, hl7.adt.a08, MRN100001",
        "oru-r01.hl7, hl7.oru.r01, MRN100002",
        "orm-o01.hl7, hl7.orm.o01, MRN100003",
        "siu-s12.hl7, hl7.siu.s12, MRN100004",
        "mdm-t02.hl7, hl7.mdm.t02, MRN100005"
    })
    @Order(1)
    void eachMessageIsAcknowledgedAndPublishedToItsTypeTopicWithKeyHeadersAndTheBytesSent(String sample, String topic,
                                                                                       String patientId) throws Exception {
        String id = newControlId();
        try (HapiSender sender = new HapiSender(env.mllpPort())) {
            Message message = sender.parse(Hl7Samples.load(sample, id));
            assertEquals("AA", sender.send(message));
            byte[] sent = sender.encode(message).getBytes(StandardCharsets.ISO_8859_1);

            List<ConsumerRecord<String, byte[]>> records = env.topics().awaitRecords(topic, controlId(id), 1);
            assertEquals(1, records.size());
            ConsumerRecord<String, byte[]> r = records.get(0);
            assertArrayEquals(sent, r.value(), "the record value is the message exactly as received");
            assertEquals(patientId, r.key(), "key = first PID-3 identifier");
            String[] msh = PreParser.getFields(sender.encode(message), "MSH-3", "MSH-4", "MSH-12", "MSH-9-1", "MSH-9-2");
            assertEquals("1.0", header(r, "ce_specversion"));
            assertEquals(id, header(r, "ce_id"));
            assertEquals("/hl7v2/" + msh[0] + "/" + msh[1], header(r, "ce_source"));
            assertEquals(topic, header(r, "ce_type"));
            assertEquals(patientId, header(r, "ce_subject"));
            assertNotNull(header(r, "ce_time"));
            assertEquals(msh[0], header(r, "hl7_sending_application"));
            assertEquals(msh[1], header(r, "hl7_sending_facility"));
            assertEquals(msh[2], header(r, "hl7_version"));
            assertEquals(msh[3], header(r, "hl7_message_type"));
            assertEquals(msh[4], header(r, "hl7_trigger_event"));
            assertEquals(id, header(r, "hl7_control_id"));
            assertEquals("ISO-8859-1", header(r, "hl7_charset"));
            assertTrue(r.headers().toArray().length > 0);
            assertTrue(java.util.Arrays.stream(r.headers().toArray()).noneMatch(h -> h.key().startsWith("Camel")),
                    "internal Camel headers stay inside the runtime");
        }
    }

    @Test
    @Order(2)
    void ceTimeIsMsh7AsRfc3339WithItsOffset() throws Exception {
        String id = newControlId();
        try (MllpTestClient client = new MllpTestClient(env.mllpPort())) {
            client.sendAndReceive(Hl7Samples.load("adt-a01.hl7", id));
        }
        ConsumerRecord<String, byte[]> r = env.topics().awaitRecords("hl7.adt.a01", controlId(id), 1).get(0);
        assertEquals("2024-03-15T08:30:00-05:00", header(r, "ce_time"));
    }

    @Test
    @Order(3)
    void messageWithoutPidIsKeyedByItsControlId() throws Exception {
        String id = newControlId();
        String message = "MSH|^~\\&|EPIC|GENHOSP|CMM_BROKER|CMM|20240315083000||ADT^A01|" + id + "|P|2.5\rEVN|A01|20240315\r";
        try (MllpTestClient client = new MllpTestClient(env.mllpPort())) {
            // right after a message with a patient on the same connection: nothing carries over (exchanges are pooled)
            assertEquals("AA", msa(client.sendAndReceive(Hl7Samples.load("adt-a01.hl7", newControlId())))[0]);
            assertEquals("AA", msa(client.sendAndReceive(message))[0]);
        }
        ConsumerRecord<String, byte[]> r = env.topics().awaitRecords("hl7.adt.a01", controlId(id), 1).get(0);
        assertEquals(id, r.key());
        assertEquals(null, header(r, "ce_subject"));
        assertEquals(null, header(r, "hl7_patient_id"));
    }

    @Test
    @Order(4)
    void aResendOfTheSameMessageIsAcknowledgedButPublishedOnce() throws Exception {
        String id = newControlId();
        String message = Hl7Samples.load("adt-a01.hl7", id);
        try (MllpTestClient client = new MllpTestClient(env.mllpPort())) {
            assertEquals("AA", msa(client.sendAndReceive(message))[0]);
            assertEquals("AA", msa(client.sendAndReceive(message))[0]);
        }
        try (MllpTestClient other = new MllpTestClient(env.mllpPort())) {
            assertEquals("AA", msa(other.sendAndReceive(message))[0], "a resend on a new connection too");
        }
        // a marker written after the resends proves the topic was read past them
        String marker = newControlId();
        try (MllpTestClient client = new MllpTestClient(env.mllpPort())) {
            client.sendAndReceive(Hl7Samples.load("adt-a01.hl7", marker));
        }
        env.topics().awaitRecords("hl7.adt.a01", controlId(marker), 1);
        assertEquals(1, env.topics().readAll("hl7.adt.a01").stream().filter(controlId(id)).count());
    }

    @Test
    @Order(5)
    void aDifferentMessageReusingAControlIdIsNotTakenForAResend() throws Exception {
        String id = newControlId();
        try (MllpTestClient client = new MllpTestClient(env.mllpPort())) {
            assertEquals("AA", msa(client.sendAndReceive(Hl7Samples.load("adt-a01.hl7", id)))[0]);
            assertEquals("AA", msa(client.sendAndReceive(Hl7Samples.load("adt-a01.hl7", id).replace("4WEST^401", "4WEST^409")))[0]);
        }
        assertEquals(2, env.topics().awaitRecords("hl7.adt.a01", controlId(id), 2).size());
    }

    @Test
    @Order(6)
    void pipelinedFramesInOneWriteAreAllProcessedAndAcknowledgedInOrder() throws Exception {
        // camel-mllp 4.17 (CAMEL-24668) drops the second of two frames that arrive in one read
        List<String> ids = new ArrayList<>();
        ByteArrayOutputStream oneWrite = new ByteArrayOutputStream();
        for (int i = 0; i < 5; i++) {
            String id = newControlId();
            ids.add(id);
            oneWrite.write(MllpTestClient.frame(Hl7Samples.load("oru-r01.hl7", id).getBytes(StandardCharsets.ISO_8859_1)));
        }
        List<String> acked = new ArrayList<>();
        try (MllpTestClient client = new MllpTestClient(env.mllpPort())) {
            client.writeRaw(oneWrite.toByteArray());
            for (int i = 0; i < 5; i++) {
                String[] msa = msa(client.readAck());
                assertEquals("AA", msa[0]);
                acked.add(msa[1]);
            }
        }
        assertEquals(ids, acked, "ACKs come back in the order the messages were sent");
        for (String id : ids) {
            assertEquals(1, env.topics().awaitRecords("hl7.oru.r01", controlId(id), 1).size());
        }
    }

    @Test
    @Order(7)
    void threadsSharingOneHapiConnectionPipelineAndEveryMessageIsAccepted() throws Exception {
        int threads = 6;
        int perThread = 10;
        try (HapiSender shared = new HapiSender(env.mllpPort())) {
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            List<Future<List<String>>> results = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                results.add(pool.submit(() -> {
                    List<String> codes = new ArrayList<>();
                    for (int i = 0; i < perThread; i++) {
                        codes.add(shared.send(shared.parse(Hl7Samples.load("adt-a08.hl7", newControlId()))));
                    }
                    return codes;
                }));
            }
            for (Future<List<String>> f : results) {
                assertEquals(java.util.Collections.nCopies(perThread, "AA"), f.get(60, TimeUnit.SECONDS));
            }
            pool.shutdown();
        }
    }

    @Test
    @Order(8)
    void twentyConcurrentConnectionsAreServedAndEachPatientsMessagesStayInOrder() throws Exception {
        int senders = 20;
        int perSender = 10;
        ExecutorService pool = Executors.newFixedThreadPool(senders);
        List<Future<List<String>>> results = new ArrayList<>();
        for (int s = 0; s < senders; s++) {
            String patient = "PATORDER" + s + "X" + UUID.randomUUID().toString().substring(0, 6);
            results.add(pool.submit((Callable<List<String>>) () -> {
                List<String> sentIds = new ArrayList<>();
                try (HapiSender sender = new HapiSender(env.mllpPort())) {
                    for (int i = 0; i < perSender; i++) {
                        String id = newControlId();
                        String text = Hl7Samples.load("adt-a08.hl7", id).replace("MRN100001", patient);
                        assertEquals("AA", sender.send(sender.parse(text)));
                        sentIds.add(patient + "/" + id);
                    }
                }
                return sentIds;
            }));
        }
        List<List<String>> sent = new ArrayList<>();
        for (Future<List<String>> f : results) {
            sent.add(f.get(120, TimeUnit.SECONDS));
        }
        pool.shutdown();
        String lastId = sent.get(senders - 1).get(perSender - 1).split("/")[1];
        env.topics().awaitRecords("hl7.adt.a08", controlId(lastId), 1);
        List<ConsumerRecord<String, byte[]>> all = env.topics().readAll("hl7.adt.a08");
        for (List<String> bySender : sent) {
            String patient = bySender.get(0).split("/")[0];
            List<String> onTopic = all.stream().filter(r -> patient.equals(r.key()))
                    .map(r -> patient + "/" + header(r, "hl7_control_id")).collect(Collectors.toList());
            assertEquals(bySender, onTopic, "one patient's messages are on Kafka once each, in the order sent");
        }
    }

    @Test
    @Order(9)
    void crLfAndCrLfSegmentSeparatorsAreAllAcceptedAndTheBytesKept() throws Exception {
        for (String separator : List.of("\n", "\r\n", "\r")) {
            String id = newControlId();
            byte[] bytes = Hl7Samples.load("oru-r01.hl7", id).replace("\r", separator).getBytes(StandardCharsets.ISO_8859_1);
            try (MllpTestClient client = new MllpTestClient(env.mllpPort())) {
                client.send(bytes);
                assertEquals("AA", msa(client.readAck())[0]);
            }
            assertArrayEquals(bytes, env.topics().awaitRecords("hl7.oru.r01", controlId(id), 1).get(0).value());
        }
    }

    @Test
    @Order(10)
    void utf8AndIso88591SendersKeepTheirExactBytes() throws Exception {
        String utf8Id = newControlId();
        String utf8 = "MSH|^~\\&|DPI|CHU|CMM_BROKER|CMM|20240315083000||ADT^A01^ADT_A01|" + utf8Id
                + "|P|2.5|||||FRA|UNICODE UTF-8\rPID|1||MRN100009^^^CHU^PI||DUPONT-ÉLODIE^Zoé||19800101|F\r";
        String latinId = newControlId();
        String latin = "MSH|^~\\&|DPI|CHU|CMM_BROKER|CMM|20240315083000||ADT^A01^ADT_A01|" + latinId
                + "|P|2.5|||||FRA|8859/1\rPID|1||MRN100010^^^CHU^PI||DUPONT-ÉLODIE^Zoé||19800101|F\r";
        try (MllpTestClient client = new MllpTestClient(env.mllpPort())) {
            client.send(utf8.getBytes(StandardCharsets.UTF_8));
            assertEquals("AA", msa(client.readAck())[0]);
            client.send(latin.getBytes(StandardCharsets.ISO_8859_1));
            assertEquals("AA", msa(client.readAck())[0]);
        }
        ConsumerRecord<String, byte[]> u = env.topics().awaitRecords("hl7.adt.a01", controlId(utf8Id), 1).get(0);
        assertArrayEquals(utf8.getBytes(StandardCharsets.UTF_8), u.value());
        assertEquals("UTF-8", header(u, "hl7_charset"));
        ConsumerRecord<String, byte[]> l = env.topics().awaitRecords("hl7.adt.a01", controlId(latinId), 1).get(0);
        assertArrayEquals(latin.getBytes(StandardCharsets.ISO_8859_1), l.value());
        assertEquals("ISO-8859-1", header(l, "hl7_charset"));
    }

    @Test
    @Order(11)
    void aOneMegabyteMessageIsAccepted() throws Exception {
        String id = newControlId();
        byte[] bytes = documentWithAttachment(id, 1024 * 1024);
        try (MllpTestClient client = new MllpTestClient(env.mllpPort())) {
            client.send(bytes);
            assertEquals("AA", msa(client.readAck())[0]);
        }
        assertArrayEquals(bytes, env.topics().awaitRecords("hl7.mdm.t02", controlId(id), 1).get(0).value());
    }

    // ---- bad input: each answered, each kept on the dead-letter topic, nothing lost ----

    @Test
    @Order(20)
    void garbageInAFrameIsRejectedAndKeptUntouchedOnTheDeadLetterTopic() throws Exception {
        byte[] garbage = ("\u0001\u0002GARBAGE-PATIENT " + UUID.randomUUID()).getBytes(StandardCharsets.ISO_8859_1);
        assertRejectedAndDeadLettered(garbage, null, "does not start with an MSH segment");
    }

    @Test
    @Order(21)
    void aFrameWithoutMshIsRejected() throws Exception {
        byte[] noMsh = ("PID|1||MRN100001^^^GENHOSP^MR||ZEBEDEE^ALBERTINE\rOBX|1|" + UUID.randomUUID() + "\r")
                .getBytes(StandardCharsets.ISO_8859_1);
        assertRejectedAndDeadLettered(noMsh, null, "does not start with an MSH segment");
    }

    @Test
    @Order(22)
    void aMessageWithoutMsh9IsRejectedWithTheReasonAndItsControlIdEchoed() throws Exception {
        String id = newControlId();
        byte[] noType = Hl7Samples.load("adt-a01.hl7", id).replace("ADT^A01^ADT_A01", "").getBytes(StandardCharsets.ISO_8859_1);
        assertRejectedAndDeadLettered(noType, id, "MSH-9-1 (message type) is empty");
    }

    @Test
    @Order(23)
    void anUnsupportedVersionIsRejected() throws Exception {
        String id = newControlId();
        byte[] v9 = Hl7Samples.load("adt-a01.hl7", id).replace("|2.5.1|", "|9.9|").getBytes(StandardCharsets.ISO_8859_1);
        assertRejectedAndDeadLettered(v9, id, "unsupported HL7 version '9.9'");
    }

    @Test
    @Order(24)
    void bytesThatAreNotValidInTheDeclaredCharsetAreRejected() throws Exception {
        String id = newControlId();
        String declaredUtf8 = "MSH|^~\\&|DPI|CHU|CMM_BROKER|CMM|20240315083000||ADT^A01|" + id
                + "|P|2.5|||||FRA|UNICODE UTF-8\rPID|1||MRN100011^^^CHU^PI||DUPONT-ÉLODIE^Zoé\r";
        assertRejectedAndDeadLettered(declaredUtf8.getBytes(StandardCharsets.ISO_8859_1), id, "not valid UTF-8");
    }

    @Test
    @Order(25)
    void anUnknownDeclaredCharsetIsRejected() throws Exception {
        String id = newControlId();
        String unknown = Hl7Samples.load("adt-a01.hl7", id).replace("|AL|NE", "|AL|NE||KLINGON-8");
        assertRejectedAndDeadLettered(unknown.getBytes(StandardCharsets.ISO_8859_1), id, "'KLINGON-8' is not supported");
    }

    @Test
    @Order(26)
    void aMessageOverTheSizeLimitIsRejectedAndItsHeadKept() throws Exception {
        String id = newControlId();
        byte[] bytes = documentWithAttachment(id, 3 * 1024 * 1024);
        try (MllpTestClient client = new MllpTestClient(env.mllpPort())) {
            client.send(bytes);
            String[] msa = msa(client.readAck());
            assertEquals("AR", msa[0]);
            assertEquals(id, msa[1]);
        }
        ConsumerRecord<String, byte[]> dead = env.topics().awaitRecords("hl7.dlq",
                r -> header(r, "dlq_reason") != null && new String(r.value(), 0, Math.min(400, r.value().length), StandardCharsets.ISO_8859_1).contains(id), 1).get(0);
        assertTrue(header(dead, "dlq_reason").contains("exceeds the limit"), header(dead, "dlq_reason"));
        assertEquals(2 * 1024 * 1024, dead.value().length);
    }

    @Test
    @Order(27)
    void aFrameCutOffByAHangUpIsKeptOnTheDeadLetterTopic() throws Exception {
        String id = newControlId();
        byte[] half = Hl7Samples.load("oru-r01.hl7", id).substring(0, 120).getBytes(StandardCharsets.ISO_8859_1);
        try (MllpTestClient client = new MllpTestClient(env.mllpPort())) {
            client.writeRaw(new byte[] {MllpTestClient.START});
            client.writeRaw(half);
        }
        ConsumerRecord<String, byte[]> dead = env.topics().awaitRecords("hl7.dlq",
                r -> new String(r.value(), StandardCharsets.ISO_8859_1).contains(id), 1).get(0);
        assertArrayEquals(half, dead.value());
        assertTrue(header(dead, "dlq_reason").contains("cut off"), header(dead, "dlq_reason"));
        assertEquals("hl7-mllp-inbound", header(dead, "dlq_source"));
    }

    @Test
    @Order(28)
    void bytesBetweenFramesAreDeadLetteredAndTheNextFrameIsStillAccepted() throws Exception {
        String stray = "STRAY-" + UUID.randomUUID();
        String id = newControlId();
        ByteArrayOutputStream write = new ByteArrayOutputStream();
        write.write(stray.getBytes(StandardCharsets.ISO_8859_1));
        write.write(MllpTestClient.frame(Hl7Samples.load("adt-a03.hl7", id).getBytes(StandardCharsets.ISO_8859_1)));
        try (MllpTestClient client = new MllpTestClient(env.mllpPort())) {
            client.writeRaw(write.toByteArray());
            String[] msa = msa(client.readAck());
            assertEquals("AA", msa[0]);
            assertEquals(id, msa[1], "no stray ACK for the unframed bytes");
        }
        ConsumerRecord<String, byte[]> dead = env.topics().awaitRecords("hl7.dlq",
                r -> new String(r.value(), StandardCharsets.ISO_8859_1).equals(stray), 1).get(0);
        assertTrue(header(dead, "dlq_reason").contains("outside an MLLP frame"));
        env.topics().awaitRecords("hl7.adt.a03", controlId(id), 1);
    }

    @Test
    @Order(29)
    void anIdleConnectionIsClosedAfterTheConfiguredTimeout() throws Exception {
        try (MllpTestClient client = new MllpTestClient(env.mllpPort())) {
            assertTrue(client.serverClosed(10_000), "the listener closes a connection idle for 3 s");
        }
    }

    @Test
    @Order(30)
    void theDeadLetterTopicKeepsItsRecordsForever() throws Exception {
        java.util.Properties p = new java.util.Properties();
        p.put("bootstrap.servers", env.bootstrapServers());
        try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(p)) {
            var resource = new org.apache.kafka.common.config.ConfigResource(
                    org.apache.kafka.common.config.ConfigResource.Type.TOPIC, "hl7.dlq");
            var config = admin.describeConfigs(List.of(resource)).all().get(30, TimeUnit.SECONDS).get(resource);
            assertEquals("-1", config.get("retention.ms").value(), "not the broker's 7 days");
        }
    }

    @Test
    @Order(100)
    void noPatientDataReachedTheLogs() {
        assertTrue(logs.lines().size() > 10, "the runtime logged while these tests ran");
        assertEquals(List.of(), logs.linesContaining(PATIENT_DATA));
    }

    private static void assertRejectedAndDeadLettered(byte[] payload, String expectedMsa2, String reason) throws Exception {
        try (MllpTestClient client = new MllpTestClient(env.mllpPort())) {
            client.send(payload);
            String ack = client.readAck();
            String[] msa = msa(ack);
            assertEquals("AR", msa[0], ack);
            if (expectedMsa2 != null) {
                assertEquals(expectedMsa2, msa[1]);
            }
            assertTrue(ack.contains(reason), "the ACK says why: " + ack.replace('\r', '\n'));
        }
        ConsumerRecord<String, byte[]> dead = env.topics().awaitRecords("hl7.dlq",
                r -> java.util.Arrays.equals(r.value(), payload), 1).get(0);
        assertTrue(header(dead, "dlq_reason").contains(reason), header(dead, "dlq_reason"));
        assertNotNull(header(dead, "dlq_time"));
    }

    /** An MDM^T02 carrying a base64 "PDF" in an ED OBX, at least {@code size} bytes long. */
    private static byte[] documentWithAttachment(String controlId, int size) {
        StringBuilder m = new StringBuilder(Hl7Samples.load("mdm-t02.hl7", controlId)).append("OBX|2|ED|PDF^Report||^AP^PDF^Base64^");
        while (m.length() < size) {
            m.append("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODkw");
        }
        return m.append("||||||F\r").toString().getBytes(StandardCharsets.ISO_8859_1);
    }

    private static String[] msa(String ack) throws Exception {
        return PreParser.getFields(ack, "MSA-1", "MSA-2");
    }
}
