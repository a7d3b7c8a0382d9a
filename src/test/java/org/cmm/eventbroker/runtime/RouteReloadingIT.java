package org.cmm.eventbroker.runtime;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.cmm.eventbroker.testsupport.LogCapture;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Edits without a restart (camel.main.routes-reload-enabled): a route file saved on disk takes effect in the running
 * runtime, its broker untouched; a saved file that no longer parses is refused with its line and the route keeps
 * answering as before. The routes folder is a copy of routes/ plus a probe flow of this test (only the probe flow and
 * what it needs run, cmm.flows), so the project's own files are never edited.
 */
class RouteReloadingIT {

    private static final String PROBE = """
            # a flow of this test: GET /reload-probe answers which version of this file is running
            - route:
                id: reload-probe
                description: Answers the version of its file
                from:
                  id: reload-probe-http
                  uri: platform-http:/reload-probe
                  steps:
                    - setBody:
                        id: answer-version
                        constant: "%s"
            """;

    @TempDir
    Path folder;

    @Test
    void aSavedRouteFileTakesEffectAndABrokenOneIsRefusedWithItsLineWhileTheRouteKeepsRunning() throws Exception {
        Path routes = folder.resolve("routes");
        copy(Path.of("routes"), routes);
        Path probe = routes.resolve("probe").resolve("reload-probe.camel.yaml");
        Files.createDirectories(probe.getParent());
        Files.writeString(probe, PROBE.formatted("version-1"));
        // another flow in the folder, not selected: saving it must not load it into this runtime
        Path other = routes.resolve("probe").resolve("other-probe.camel.yaml");
        Files.writeString(other, PROBE.formatted("other").replace("reload-probe", "other-probe"));

        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        try (LogCapture logs = LogCapture.attach();
             RuntimeUnderTest env = RuntimeUnderTest.flows("reload-probe").with(Map.of(
                     "cmm.routes.folder", routes.toString(),
                     "camel.main.routes-reload-enabled", "true")).start()) {
            String url = "http://127.0.0.1:" + env.httpPort() + "/reload-probe";
            assertEquals("version-1", get(http, url));
            var brokerBefore = env.broker();

            Files.writeString(probe, PROBE.formatted("version-2"));
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
                    .until(() -> "version-2".equals(get(http, url)));

            // an unclosed flow sequence on line 11: not YAML any more
            Files.writeString(probe, PROBE.formatted("version-3").replace("constant: \"version-3\"", "constant: [\"version-3\""));
            await().atMost(Duration.ofSeconds(30)).until(() -> !withAll(logs, "Refused the change of", "reload-probe.camel.yaml").isEmpty());
            String refusal = withAll(logs, "Refused the change of", "reload-probe.camel.yaml").get(0);
            assertTrue(refusal.contains("line"), "the refusal names the line: " + refusal);
            assertEquals("version-2", get(http, url), "the running route stays as it was");

            // valid YAML, but not a route Camel can build (an unknown step on line 10): refused too, the route stays
            int before = withAll(logs, "Refused the change of", "reload-probe.camel.yaml").size();
            Files.writeString(probe, PROBE.formatted("version-5").replace("- setBody:", "- setBodyy:"));
            await().atMost(Duration.ofSeconds(30)).until(() -> withAll(logs, "Refused the change of", "reload-probe.camel.yaml").size() > before);
            String dslRefusal = withAll(logs, "Refused the change of", "reload-probe.camel.yaml").get(before);
            assertTrue(dslRefusal.contains("setBodyy") && dslRefusal.contains("line"), "names the step and its line: " + dslRefusal);
            assertEquals("version-2", get(http, url), "the running route stays as it was");

            // fixed again: taken
            Files.writeString(probe, PROBE.formatted("version-4"));
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
                    .until(() -> "version-4".equals(get(http, url)));

            Files.writeString(other, PROBE.formatted("other-2").replace("reload-probe", "other-probe"));
            await().atMost(Duration.ofSeconds(30)).until(() -> !withAll(logs, "other-probe.camel.yaml",
                    "not one of this runtime's flows").isEmpty());
            assertEquals(404, status(http, "http://127.0.0.1:" + env.httpPort() + "/other-probe"));

            assertTrue(env.broker() == brokerBefore && env.runtime().camelContext().isStarted(),
                    "neither the runtime nor its broker restarted");
        }
    }

    private static List<String> withAll(LogCapture logs, String... parts) {
        return logs.lines().stream().filter(l -> Stream.of(parts).allMatch(l::contains)).toList();
    }

    private static String get(HttpClient http, String url) throws Exception {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
        return response.statusCode() == 200 ? response.body() : "HTTP " + response.statusCode();
    }

    private static int status(HttpClient http, String url) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    private static void copy(Path from, Path to) throws Exception {
        try (Stream<Path> paths = Files.walk(from)) {
            for (Path source : paths.toList()) {
                Path target = to.resolve(from.relativize(source).toString());
                if (Files.isDirectory(source)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(source, target, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }
}
