package org.cmm.eventbroker.dev;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.cmm.eventbroker.testsupport.FreePorts;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.cmm.eventbroker.testsupport.TestPeers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What an operator sees: Hawtio (the real io.hawt:hawtio-war, in Jetty) connected to the runtime's Jolokia endpoint,
 * rendered by a real headless Chromium, lists the runtime's Camel context and its routes. The screenshot is kept as
 * target/hawtio-camel.png. Skipped where Chromium is not installed (.ci/run installs it).
 */
class HawtioIT {

    @TempDir
    Path profile;

    @Test
    void hawtiosCamelViewListsTheRuntimesRoutes() throws Exception {
        String chromium = TestPeers.require("chromium").toString();
        try (RuntimeUnderTest env = RuntimeUnderTest.flows("hl7-mllp-inbound").with(Map.of("camel.main.jmx-enabled", "true",
                "camel.main.name", "cmm-hawtio-check")).start()) {
            int port = FreePorts.next();
            try (HawtioServer hawtio = new HawtioServer("127.0.0.1", port, Path.of("target", "hawtio", "hawtio.war"),
                    "127.0.0.1", env.managementPort()).start()) {
                String url = "http://127.0.0.1:" + port + "/";
                String dom = chromium(chromium, profile.resolve("dom"), "--dump-dom", url);
                assertTrue(dom.contains("cmm-hawtio-check"), "the Camel context is listed");
                assertTrue(dom.contains("hl7-mllp-inbound"), "the inbound route is listed");
                Path screenshot = Path.of("target", "hawtio-camel.png").toAbsolutePath();
                chromium(chromium, profile.resolve("shot"), "--screenshot=" + screenshot, url);
                assertTrue(Files.size(screenshot) > 10_000, "a screenshot was taken");
            }
        }
    }

    /** Runs headless Chromium (the flags that work on this machine) and returns what it printed. */
    private static String chromium(String executable, Path userDataDir, String mode, String url) throws Exception {
        List<String> command = new ArrayList<>(List.of("timeout", "120", executable, "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                "--user-data-dir=" + userDataDir, "--window-size=1400,900", "--virtual-time-budget=20000", mode, url));
        Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "Chromium finished");
        return new String(out, StandardCharsets.UTF_8);
    }
}
