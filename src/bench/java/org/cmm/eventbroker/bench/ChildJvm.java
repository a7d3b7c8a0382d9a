package org.cmm.eventbroker.bench;

import java.io.File;
import java.io.IOException;
import java.lang.management.MemoryType;
import java.net.Socket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.openmbean.CompositeData;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

/** A system under test in its own JVM (same classpath, fixed heap), with its heap watched over JMX. */
final class ChildJvm implements AutoCloseable {

    /**
     * The runtime's own JVM options, as the README's first command ({@code exec:exec}) and the Docker image start it:
     * ZGC, whose pauses stay under a millisecond; with every flow in one JVM, G1's young pauses (10-45 ms at a few
     * hundred MB/s of allocation) were the p99 of the intake's ACKs (issue 17 item 8).
     */
    static final List<String> RUNTIME_JVM_OPTIONS = List.of("-XX:+UseZGC");

    private final Process process;
    private final int jmxPort;
    private JMXConnector jmx;

    ChildJvm(String name, String heap, int jmxPort, List<String> systemProperties, String mainClass, List<String> args,
             Path log) throws IOException {
        this.jmxPort = jmxPort;
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xms" + heap);
        command.add("-Xmx" + heap);
        command.add("-Dcom.sun.management.jmxremote.port=" + jmxPort);
        command.add("-Dcom.sun.management.jmxremote.rmi.port=" + jmxPort);
        command.add("-Dcom.sun.management.jmxremote.host=127.0.0.1");
        command.add("-Djava.rmi.server.hostname=127.0.0.1");
        command.add("-Dcom.sun.management.jmxremote.authenticate=false");
        command.add("-Dcom.sun.management.jmxremote.ssl=false");
        command.addAll(systemProperties);
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(mainClass);
        command.addAll(args);
        process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile())
                .directory(new File(System.getProperty("user.dir"))).start();
        System.out.println("started " + name + " (pid " + process.pid() + "), log " + log);
    }

    long pid() {
        return process.pid();
    }

    /** SIGKILL: the process dies at once, with no shutdown hook and no graceful close of anything. */
    void kill() throws InterruptedException {
        process.toHandle().destroyForcibly();
        process.waitFor(30, java.util.concurrent.TimeUnit.SECONDS);
    }

    /** Waits until a TCP port of the child accepts connections. */
    void awaitPort(int port, long timeoutMs) throws Exception {
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (System.currentTimeMillis() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("child JVM exited with " + process.exitValue());
            }
            try (Socket ignored = new Socket("127.0.0.1", port)) {
                return;
            } catch (IOException notYet) {
                java.util.concurrent.locks.LockSupport.parkNanos(200_000_000L);
            }
        }
        throw new IllegalStateException("port " + port + " did not open in " + timeoutMs + " ms");
    }

    /** Resets the heap pools' peak usage, so the next reading covers only what follows. */
    void resetPeakHeap() throws Exception {
        MBeanServerConnection c = connection();
        for (ObjectName pool : heapPools(c)) {
            c.invoke(pool, "resetPeakUsage", null, null);
        }
    }

    /** CPU time the child process has used so far, in nanoseconds (user + system, all threads). */
    long processCpuNanos() throws Exception {
        return (Long) connection().getAttribute(new ObjectName("java.lang:type=OperatingSystem"), "ProcessCpuTime");
    }

    /** Milliseconds the child's JIT compilers have spent compiling so far (its CompilationMXBean). */
    long compilationMillis() throws Exception {
        return (Long) connection().getAttribute(new ObjectName("java.lang:type=Compilation"), "TotalCompilationTime");
    }

    /** Heap in use now, in MB (issue 17 soak). */
    double heapUsedMb() throws Exception {
        CompositeData usage = (CompositeData) connection().getAttribute(new ObjectName("java.lang:type=Memory"),
                "HeapMemoryUsage");
        return (Long) usage.get("used") / (1024.0 * 1024.0);
    }

    /** Live threads now (issue 17 soak). */
    int threadCount() throws Exception {
        return (Integer) connection().getAttribute(new ObjectName("java.lang:type=Threading"), "ThreadCount");
    }

    /** Open file descriptors now, sockets included (issue 17 soak). */
    long openFileDescriptors() throws Exception {
        return (Long) connection().getAttribute(new ObjectName("java.lang:type=OperatingSystem"),
                "OpenFileDescriptorCount");
    }

    /** Sum of the heap pools' peak usage since the last reset, in MB. */
    double peakHeapMb() throws Exception {
        MBeanServerConnection c = connection();
        long bytes = 0;
        for (ObjectName pool : heapPools(c)) {
            CompositeData peak = (CompositeData) c.getAttribute(pool, "PeakUsage");
            bytes += (Long) peak.get("used");
        }
        return bytes / (1024.0 * 1024.0);
    }

    private Set<ObjectName> heapPools(MBeanServerConnection c) throws Exception {
        Set<ObjectName> heap = new java.util.HashSet<>();
        for (ObjectName pool : c.queryNames(new ObjectName("java.lang:type=MemoryPool,*"), null)) {
            if (MemoryType.HEAP.name().equals(c.getAttribute(pool, "Type"))) {
                heap.add(pool);
            }
        }
        return heap;
    }

    private MBeanServerConnection connection() throws IOException {
        if (jmx == null) {
            jmx = JMXConnectorFactory.connect(new JMXServiceURL(
                    "service:jmx:rmi:///jndi/rmi://127.0.0.1:" + jmxPort + "/jmxrmi"));
        }
        return jmx.getMBeanServerConnection();
    }

    @Override
    public void close() throws Exception {
        if (jmx != null) {
            jmx.close();
        }
        process.destroy();
        if (!process.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
    }
}
