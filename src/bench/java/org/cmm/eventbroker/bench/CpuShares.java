package org.cmm.eventbroker.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Where the machine's CPU went during a phase: the system under test (its own JVM), mosquitto (a child process of
 * the benchmark), the benchmark's JVM (the Kafka broker, the simulated gateways and the consumer that watches the
 * topic), and how busy all cores were (/proc/stat). On a machine the whole setup shares, this says whether a rate is
 * bound by the system under test or by everything around it.
 */
final class CpuShares {

    private final long mosquittoNanos;
    private final long harnessNanos;
    private final long[] machineTicks;
    private final long systemNanos;

    private CpuShares(long systemNanos) {
        this.systemNanos = systemNanos;
        this.mosquittoNanos = mosquittoCpuNanos();
        this.harnessNanos = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
        this.machineTicks = machineTicks();
    }

    static CpuShares now(long systemCpuNanos) {
        return new CpuShares(systemCpuNanos);
    }

    /** CPU µs per reading of each part between {@code before} and this snapshot, and the cores' busy share. */
    Map<String, Object> since(CpuShares before, long readings) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("systemMicrosPerReading", perReading(systemNanos - before.systemNanos, readings));
        m.put("mosquittoMicrosPerReading", perReading(mosquittoNanos - before.mosquittoNanos, readings));
        m.put("harnessMicrosPerReading", perReading(harnessNanos - before.harnessNanos, readings));
        if (machineTicks.length == 2 && before.machineTicks.length == 2) {
            long busy = machineTicks[0] - before.machineTicks[0];
            long all = machineTicks[1] - before.machineTicks[1];
            m.put("machineBusy", all == 0 ? 0 : Math.round(1000.0 * busy / all) / 1000.0);
        }
        return m;
    }

    private static double perReading(long nanos, long readings) {
        return readings == 0 || nanos < 0 ? 0 : Math.round(nanos / 10.0 / readings) / 100.0;
    }

    private static long mosquittoCpuNanos() {
        return ProcessHandle.current().children()
                .filter(p -> p.info().command().map(c -> c.endsWith("mosquitto")).orElse(false))
                .mapToLong(p -> p.info().totalCpuDuration().map(Duration::toNanos).orElse(0L))
                .sum();
    }

    /** {busy, total} jiffies over all cores; busy excludes idle and iowait. */
    private static long[] machineTicks() {
        try {
            String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
            long total = 0;
            for (int i = 1; i < f.length && i <= 8; i++) {
                total += Long.parseLong(f[i]);
            }
            long idle = Long.parseLong(f[4]) + Long.parseLong(f[5]);
            return new long[] {total - idle, total};
        } catch (IOException | RuntimeException e) {
            return new long[0];
        }
    }
}
