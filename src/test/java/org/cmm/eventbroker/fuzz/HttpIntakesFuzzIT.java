package org.cmm.eventbroker.fuzz;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;

import org.apache.kafka.clients.consumer.ConsumerRecord;

import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * End to end over the real HTTP port and Kafka broker (issue 17 item 5), the JSON/XML intakes: EHR webhooks and FHIR
 * change events. Each input, a seed or a deterministic mutation of one (cut, bytes inserted, deleted or flipped,
 * structure characters spliced in) or random bytes, is POSTed once: every answer is 2xx or 4xx (a 5xx would mean an
 * exception escaped: the sender would retry a bad request for ever), and the body of every 4xx is on the intake's
 * dead-letter topic byte for byte. The Jazzer target over the same readers is {@code HttpIntakesFuzzTest}.
 */
class HttpIntakesFuzzIT {

    /** The Jazzer target's seeds and the input the 1,000,000-input run found (a 500 before its fix). */
    private static final String[] SEEDS = Stream.concat(Arrays.stream(HttpIntakesFuzzTest.JSON_SEEDS),
            Stream.of("{\"resourceType\":\"Patient\",\"id\":\"1\",\"\":1}")).toArray(String[]::new);
    private static final String[] SPLICES = {"{", "}", "[", "]", "\"", ",", ":", "<", ">", "&", "\\u", "1e400",
        "null", "<!--", "]]>", "\u0000"};

    private record Intake(String path, String contentType, String deadLetterTopic) {
    }

    private static final Intake[] INTAKES = {
        new Intake("/ehr/epic/Patient/updated", "application/json", "ehr.dlq"),
        new Intake("/ehr/cerner/Observation/created", "application/xml", "ehr.dlq"),
        new Intake("/fhir/changes", "application/fhir+json", "fhir.dlq"),
    };

    private static RuntimeUnderTest env;
    private static HttpClient http;

    @BeforeAll
    static void start() throws Exception {
        env = RuntimeUnderTest.flows("ehr-api-events", "fhir-change-intake").start();
        http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    }

    @AfterAll
    static void stop() throws Exception {
        if (env != null) {
            env.close();
        }
    }

    @Test
    void everyRequestIsAnswered2xxOr4xxAndEvery4xxBodyIsDeadLetteredUntouched() throws Exception {
        Random random = new Random(17); // deterministic: the same inputs in every run
        Map<String, List<byte[]>> rejected = new HashMap<>();
        int sent = 0;
        for (Intake intake : INTAKES) {
            Set<String> seen = new HashSet<>();
            List<byte[]> inputs = new ArrayList<>();
            for (String seed : SEEDS) {
                inputs.add(seed.getBytes(StandardCharsets.UTF_8));
                for (int m = 0; m < 3; m++) {
                    inputs.add(mutate(seed, random));
                }
            }
            for (int r = 0; r < 4; r++) {
                byte[] bytes = new byte[random.nextInt(256)];
                random.nextBytes(bytes);
                inputs.add(bytes);
            }
            for (byte[] input : inputs) {
                // one POST per distinct body and intake: a resent body would be a duplicate, answered from memory
                if (!seen.add(Arrays.toString(input))) {
                    continue;
                }
                int status = post(intake, input);
                assertTrue(status >= 200 && status < 500, intake.path() + " answered " + status + " to "
                        + new String(input, StandardCharsets.UTF_8));
                if (status >= 400) {
                    rejected.computeIfAbsent(intake.deadLetterTopic(), t -> new ArrayList<>()).add(input);
                }
                sent++;
            }
        }
        assertTrue(sent > 90, "inputs sent: " + sent);
        assertTrue(rejected.values().stream().mapToInt(List::size).sum() > 20, "some inputs were rejected: " + rejected);
        for (Map.Entry<String, List<byte[]>> e : rejected.entrySet()) {
            // every rejected body is on its dead-letter topic untouched (read until all are there, or 30 s)
            List<byte[]> missing = new ArrayList<>(e.getValue());
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500))
                    .until(() -> {
                        List<ConsumerRecord<String, byte[]>> dead = env.topics().readAll(e.getKey());
                        missing.removeIf(body -> dead.stream().anyMatch(r -> Arrays.equals(body, r.value())));
                        return missing.isEmpty();
                    });
        }
    }

    private static int post(Intake intake, byte[] body) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + env.httpPort() + intake.path()))
                .timeout(Duration.ofSeconds(30))
                .header("Content-Type", intake.contentType())
                .header("Authorization", "Bearer fuzz-token")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
        return http.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    private static byte[] mutate(String seed, Random random) {
        StringBuilder text = new StringBuilder(seed);
        int mutations = 1 + random.nextInt(4);
        for (int i = 0; i < mutations && text.length() > 0; i++) {
            int at = random.nextInt(text.length() + 1);
            switch (random.nextInt(4)) {
                case 0 -> text.setLength(at);
                case 1 -> text.insert(at, (char) (0x20 + random.nextInt(0x5f)));
                case 2 -> text.delete(at, Math.min(text.length(), at + 1 + random.nextInt(16)));
                default -> text.insert(at, SPLICES[random.nextInt(SPLICES.length)]);
            }
        }
        byte[] bytes = text.toString().getBytes(StandardCharsets.UTF_8);
        if (random.nextInt(4) == 0 && bytes.length > 0) {
            bytes[random.nextInt(bytes.length)] ^= (byte) (1 << random.nextInt(8)); // a flipped bit: maybe bad UTF-8
        }
        return bytes;
    }
}
