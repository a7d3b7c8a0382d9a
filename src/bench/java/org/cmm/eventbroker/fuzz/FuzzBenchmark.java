package org.cmm.eventbroker.fuzz;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The long fuzzing runs of issue 17 (bench profile): each target of {@link FuzzTargets} is fuzzed by Jazzer's
 * standalone driver in a child JVM for {@code -Dbench.fuzz.runs} inputs (1,000,000 by default), with libFuzzer's
 * per-input timeout (60 s: the first input also loads and instruments HAPI and Camel, which took more than 10 s on a
 * loaded machine) as the hang detector. A finding ends that target's run with a non-zero exit and the crashing input
 * written to {@code target/fuzz/<target>/}; the benchmark then fails and names it.
 *
 * <pre>mvn -B -Pbench verify -Dbench.suite=fuzz -Dbench.fuzz.runs=1000000 -Dbench.fuzz.targets=frames,framed,inspection,header,http</pre>
 */
public final class FuzzBenchmark {

    private FuzzBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        long runs = Long.getLong("bench.fuzz.runs", 1_000_000);
        String[] targets = System.getProperty("bench.fuzz.targets", "frames,framed,inspection,header,http").split(",");
        List<String> failed = new ArrayList<>();
        for (String target : targets) {
            Path dir = Path.of("target", "fuzz", target.trim());
            Files.createDirectories(dir.resolve("corpus"));
            List<String> command = new ArrayList<>(List.of(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xmx1g", "-Dfuzz.target=" + target.trim(),
                    "-cp", System.getProperty("java.class.path"),
                    "com.code_intelligence.jazzer.Jazzer",
                    "--target_class=" + FuzzTargets.class.getName(),
                    "--instrumentation_includes=org.cmm.eventbroker.**",
                    "--reproducer_path=" + dir,
                    "-runs=" + runs, "-timeout=60", "-rss_limit_mb=2048",
                    "-artifact_prefix=" + dir + File.separator, dir.resolve("corpus").toString()));
            long started = System.nanoTime();
            System.out.println("fuzzing " + target + ": " + runs + " inputs");
            int exit = new ProcessBuilder(command).inheritIO().start().waitFor();
            System.out.printf("fuzzed %s: %d inputs, exit %d, %.1f s%n", target, runs, exit,
                    (System.nanoTime() - started) / 1e9);
            if (exit != 0) {
                failed.add(target + " (exit " + exit + ", inputs in " + dir + ")");
            }
        }
        if (!failed.isEmpty()) {
            System.out.println("FINDINGS: " + failed);
            System.exit(1);
        }
        System.out.println("no finding in " + targets.length + " targets x " + runs + " inputs");
    }
}
