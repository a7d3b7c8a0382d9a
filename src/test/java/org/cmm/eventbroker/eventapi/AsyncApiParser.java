package org.cmm.eventbroker.eventapi;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The AsyncAPI initiative's own parser ({@code @asyncapi/parser} 3.6.6 from npm, src/test/node), run with Node: installs
 * it with {@code npm ci} the first time when {@code node_modules} is absent (scripts/run-tests.sh does it up front).
 */
final class AsyncApiParser {

    private static final Path FOLDER = Path.of("src/test/node");

    private AsyncApiParser() {
    }

    /** The parser's verdict: {@code {"parsed":..,"errors":n,"warnings":n,"diagnostics":[...]}}. */
    static JsonNode validate(Path document) throws Exception {
        if (!Files.isDirectory(FOLDER.resolve("node_modules/@asyncapi/parser"))) {
            run(600, "npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts");
        }
        String out = run(120, "node", "validate-asyncapi.mjs", document.toAbsolutePath().toString());
        String last = out.strip().lines().reduce((a, b) -> b).orElse("{}");
        return new ObjectMapper().readTree(last);
    }

    private static String run(int seconds, String... command) throws Exception {
        Process p = new ProcessBuilder(command).directory(FOLDER.toFile()).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(seconds, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " failed: " + out);
        }
        return out;
    }
}
