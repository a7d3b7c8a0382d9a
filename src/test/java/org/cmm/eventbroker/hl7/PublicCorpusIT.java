package org.cmm.eventbroker.hl7;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import ca.uhn.hl7v2.preparser.PreParser;
import org.cmm.eventbroker.testsupport.MllpTestClient;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Messages written by other projects (../shared/corpus/hl7v2, see its SOURCES.md): each is acknowledged AA and
 * lands, byte for byte, on the topic its MSH-9 names. Skipped when the corpus is not beside the project.
 */
class PublicCorpusIT {

    private static final Path CORPUS = Path.of("..", "shared", "corpus", "hl7v2");
    private static RuntimeUnderTest env;

    @BeforeAll
    static void start() throws Exception {
        assumeTrue(Files.isDirectory(CORPUS), "public corpus not present at " + CORPUS.toAbsolutePath());
        env = RuntimeUnderTest.flows("hl7-mllp-inbound").start();
    }

    @AfterAll
    static void stop() throws Exception {
        if (env != null) {
            env.close();
        }
    }

    @TestFactory
    Stream<DynamicTest> everyCorpusMessageIsAcceptedAndLandsOnTheTopicItsMsh9Names() throws Exception {
        List<Path> files;
        try (Stream<Path> paths = Files.walk(CORPUS)) {
            files = paths.filter(p -> p.toString().endsWith(".hl7")).sorted().toList();
        }
        Map<String, List<byte[]>> expected = new TreeMap<>();
        Stream<DynamicTest> sends = files.stream().map(file -> DynamicTest.dynamicTest(CORPUS.relativize(file).toString(), () -> {
            byte[] bytes = Files.readAllBytes(file);
            String text = new String(bytes, StandardCharsets.ISO_8859_1).replace("\r\n", "\r").replace('\n', '\r');
            String[] msh9 = PreParser.getFields(text, "MSH-9-1", "MSH-9-2");
            String topic = "hl7." + msh9[0].toLowerCase() + "." + msh9[1].toLowerCase();
            try (MllpTestClient client = new MllpTestClient(env.mllpPort())) {
                client.send(bytes);
                String ack = client.readAck();
                assertEquals("AA", PreParser.getFields(ack, "MSA-1")[0], ack.replace('\r', '\n'));
            }
            expected.computeIfAbsent(topic, t -> new ArrayList<>()).add(bytes);
        }));
        Stream<DynamicTest> landed = Stream.of(DynamicTest.dynamicTest("each accepted message is on its topic", () -> {
            assertEquals(files.size(), expected.values().stream().mapToInt(List::size).sum());
            for (Map.Entry<String, List<byte[]>> e : expected.entrySet()) {
                List<byte[]> onTopic = env.topics().readAll(e.getKey()).stream().map(r -> r.value()).toList();
                for (byte[] bytes : e.getValue()) {
                    assertTrue(onTopic.stream().anyMatch(v -> Arrays.equals(v, bytes)), "a message is missing on " + e.getKey());
                }
            }
        }));
        return Stream.concat(sends, landed);
    }
}
