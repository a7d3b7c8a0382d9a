package org.cmm.eventbroker.dev;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import ca.uhn.hl7v2.preparser.PreParser;
import org.cmm.eventbroker.testsupport.FreePorts;
import org.cmm.eventbroker.testsupport.Hl7Samples;
import org.cmm.eventbroker.testsupport.MllpTestClient;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Disk full under the embedded broker (issue 17 item 7): its data folder is a small tmpfs this test mounts (it must
 * run as root; skipped with the reason otherwise), the HL7 intake works, the tmpfs is filled: every message is then
 * answered AE (never AA), readiness is DOWN, and this JVM is still alive although Kafka, in KRaft, answers a failed
 * metadata log dir with {@code Exit.halt(1)} (before the fix the whole test JVM died there). When the space returns
 * the broker is started again and messages are answered AA.
 */
class EmbeddedBrokerDiskFullIT {

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private Path mount;
    private boolean mounted;
    private EmbeddedKafkaBroker broker;
    private RuntimeUnderTest env;

    @AfterEach
    void cleanUp() throws Exception {
        if (env != null) {
            env.close();
        }
        if (broker != null) {
            broker.stop();
        }
        if (mounted) {
            run("umount", "-l", mount.toString());
        }
    }

    @Test
    void aFullDiskIsAnsweredAeWithReadinessDownNotAHaltAndTheBrokerComesBackWhenSpaceReturns() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")),
                "mounting the tmpfs needs root (user is " + System.getProperty("user.name") + ")");
        mount = Files.createTempDirectory("cmm-disk-full");
        mounted = run("mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", mount.toString()) == 0;
        assumeTrue(mounted, "could not mount a tmpfs on " + mount + " (no CAP_SYS_ADMIN in this container?)");

        broker = new EmbeddedKafkaBroker("127.0.0.1", FreePorts.next(), FreePorts.next(), mount.resolve("kafka"), Map.of());
        broker.setRecovery(8L * 1024 * 1024, 500);
        broker.start();
        env = RuntimeUnderTest.flows("hl7-mllp-inbound").broker(broker).start();
        await().atMost(Duration.ofSeconds(60)).until(() -> ready() == 200);
        assertEquals("AA", send("DF-BEFORE"));

        Path filler = mount.resolve("filler");
        fill(filler);
        List<String> answers = new ArrayList<>();
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(200)).until(() -> {
            answers.add(send("DF-" + answers.size()));
            return answers.get(answers.size() - 1).equals("AE");
        });
        // the JVM is alive (this line runs); Kafka's halt became a stopped broker
        await().atMost(Duration.ofSeconds(60)).until(() -> broker.failure().isPresent() || !broker.isRunning());
        await().atMost(Duration.ofSeconds(60)).until(() -> ready() == 503);
        for (int i = 0; i < 3; i++) {
            assertEquals("AE", send("DF-FULL-" + i), "never AA while the disk is full");
        }

        Files.delete(filler);
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofSeconds(1)).until(() -> ready() == 200);
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1)).until(() -> "AA".equals(send("DF-AFTER")));
        assertTrue(broker.failure().isEmpty());
        assertNotEquals(0, answers.size());
    }

    /** Writes zeros until the file system is full. */
    private static void fill(Path filler) {
        byte[] block = new byte[64 * 1024];
        try (OutputStream out = Files.newOutputStream(filler)) {
            while (true) {
                out.write(block);
            }
        } catch (IOException full) {
            // No space left on device: the point
        }
    }

    private String send(String controlId) {
        try (MllpTestClient client = new MllpTestClient(env.mllpPort())) {
            String ack = client.sendAndReceive(Hl7Samples.load("adt-a08.hl7", controlId + "-" + System.nanoTime()));
            return PreParser.getFields(ack, "MSA-1")[0];
        } catch (Exception e) {
            return "no answer: " + e.getClass().getSimpleName();
        }
    }

    private int ready() {
        try {
            return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + env.managementPort()
                    + "/observe/health/ready")).timeout(Duration.ofSeconds(10)).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode();
        } catch (Exception e) {
            return -1;
        }
    }

    private static int run(String... command) throws Exception {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            return -1;
        }
        if (process.exitValue() != 0) {
            System.err.println(String.join(" ", command) + ": " + output.strip());
        }
        return process.exitValue();
    }
}
