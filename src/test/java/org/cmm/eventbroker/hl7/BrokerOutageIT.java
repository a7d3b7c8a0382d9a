package org.cmm.eventbroker.hl7;

import static org.cmm.eventbroker.testsupport.KafkaTopicReader.controlId;
import static org.cmm.eventbroker.testsupport.KafkaTopicReader.header;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.cmm.eventbroker.testsupport.HapiSender;
import org.cmm.eventbroker.testsupport.Hl7Samples;
import org.cmm.eventbroker.testsupport.LogCapture;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import static org.awaitility.Awaitility.await;

/**
 * What an ACK promises when Kafka or the runtime goes away: a sender that resends what was not accepted (as HAPI
 * senders and interface engines do) ends with every message on Kafka exactly once, and never waits past its timeout.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class BrokerOutageIT {

    private static RuntimeUnderTest env;
    private static LogCapture logs;

    @BeforeAll
    static void start() throws Exception {
        logs = LogCapture.attach();
        env = RuntimeUnderTest.flows("hl7-mllp-inbound").start();
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

    @Test
    @Order(1)
    void whenKafkaStopsMidStreamSendersGetAeInTimeAndAfterItIsBackEveryMessageIsOnKafkaOnce() throws Exception {
        int messages = 40;
        AtomicInteger accepted = new AtomicInteger();
        AtomicInteger errors = new AtomicInteger();
        java.util.concurrent.atomic.AtomicReference<String> failure = new java.util.concurrent.atomic.AtomicReference<>();
        java.util.concurrent.CountDownLatch brokerStopped = new java.util.concurrent.CountDownLatch(1);
        List<Long> aeMillis = new ArrayList<>();
        Map<String, String> lastCodeById = new LinkedHashMap<>();
        String patient = "OUTAGE" + System.nanoTime();
        ExecutorService senderThread = Executors.newSingleThreadExecutor();
        Future<?> sending = senderThread.submit(() -> {
            try (HapiSender sender = new HapiSender(env.mllpPort())) {
                for (int i = 0; i < messages; i++) {
                    if (i == 10) {
                        // the stop must come mid-stream, however fast a warm JVM sends the first messages
                        assertTrue(brokerStopped.await(60, TimeUnit.SECONDS));
                    }
                    String id = "OUT" + i + "-" + System.nanoTime();
                    String text = Hl7Samples.load("adt-a08.hl7", id).replace("MRN100001", patient);
                    while (true) { // a real sender resends until it gets AA
                        long t0 = System.nanoTime();
                        String code;
                        try {
                            code = sender.send(sender.parse(text));
                        } catch (Exception timeoutOrDisconnect) {
                            code = "NO-ACK after " + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0) + " ms: "
                                    + timeoutOrDisconnect;
                            if (failure.compareAndSet(null, code)) {
                                System.err.println("BrokerOutageIT: " + code + "\n" + threadDump());
                            }
                        }
                        lastCodeById.put(id, code);
                        if ("AA".equals(code)) {
                            accepted.incrementAndGet();
                            break;
                        }
                        errors.incrementAndGet();
                        synchronized (aeMillis) {
                            aeMillis.add(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
                        }
                        assertEquals("AE", code, "a failed write is answered AE, not a timeout");
                    }
                }
            }
            return null;
        });

        await().atMost(Duration.ofSeconds(30)).until(() -> accepted.get() >= 10);
        env.broker().stop();
        brokerStopped.countDown();
        await().atMost(Duration.ofSeconds(60))
                .failFast("the sender got no ACK or stopped", () -> failure.get() != null || sending.isDone())
                .until(() -> errors.get() >= 2);
        env.broker().start();
        sending.get(180, TimeUnit.SECONDS);
        assertEquals(null, failure.get(), "every attempt was answered");
        senderThread.shutdown();

        assertEquals(messages, accepted.get());
        assertTrue(errors.get() >= 2);
        assertTrue(aeMillis.stream().allMatch(ms -> ms < 10_000), "every AE arrived before HAPI's 10 s timeout: " + aeMillis);

        List<ConsumerRecord<String, byte[]>> onTopic = env.topics().readAll("hl7.adt.a08").stream()
                .filter(r -> patient.equals(r.key())).collect(Collectors.toList());
        List<String> idsOnTopic = onTopic.stream().map(r -> header(r, "hl7_control_id")).collect(Collectors.toList());
        assertEquals(new ArrayList<>(lastCodeById.keySet()), idsOnTopic,
                "every message once, in the order sent, nothing acknowledged that is missing");
    }

    /** Where every thread of this JVM (runtime included) is, for a failure that would otherwise say nothing. */
    private static String threadDump() {
        StringBuilder dump = new StringBuilder();
        for (java.lang.management.ThreadInfo t : java.lang.management.ManagementFactory.getThreadMXBean().dumpAllThreads(false, false)) {
            if (t.getThreadName().contains("mllp") || t.getThreadName().contains("kafka-producer")) {
                dump.append(t.getThreadName()).append(' ').append(t.getThreadState()).append('\n');
                for (StackTraceElement e : t.getStackTrace()) {
                    dump.append("    at ").append(e).append('\n');
                }
            }
        }
        return dump.toString();
    }

    @Test
    @Order(2)
    void aResendAfterARestartOfTheRuntimeIsStillRecognised() throws Exception {
        String id = "RESTART-" + System.nanoTime();
        String text = Hl7Samples.load("adt-a01.hl7", id);
        try (HapiSender sender = new HapiSender(env.mllpPort())) {
            assertEquals("AA", sender.send(sender.parse(text)));
        }
        env.topics().awaitRecords("hl7.adt.a01", controlId(id), 1);
        env.stopRuntime();
        env.startRuntime();
        try (HapiSender sender = new HapiSender(env.mllpPort())) {
            assertEquals("AA", sender.send(sender.parse(text)));
            String marker = "MARKER-" + System.nanoTime();
            assertEquals("AA", sender.send(sender.parse(Hl7Samples.load("adt-a01.hl7", marker))));
            env.topics().awaitRecords("hl7.adt.a01", controlId(marker), 1);
        }
        assertEquals(1, env.topics().readAll("hl7.adt.a01").stream().filter(controlId(id)).count());
    }

    @Test
    @Order(3)
    void noPatientDataReachedTheLogsEvenWhenWritesFailed() {
        assertTrue(logs.lines().stream().anyMatch(l -> l.contains("answered AE")), "the failures were logged");
        assertEquals(List.of(), logs.linesContaining(List.of("ZEBEDEE", "ALBERTINE", "HARBOUR", "OUTAGE")));
    }
}
