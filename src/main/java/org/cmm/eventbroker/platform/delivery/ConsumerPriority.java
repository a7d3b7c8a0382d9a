package org.cmm.eventbroker.platform.delivery;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.camel.CamelContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The consuming flows' threads at a lower CPU priority than the intake's (issue 17 item 8): with every flow in one JVM
 * the consumers (every {@code kafka-delivery} lane and poll thread: CDS, workflow triggers, outbound deliveries; the
 * analytics Kafka Streams threads) need about 0.7 ms of CPU per ADT, and on a small machine they took it from the
 * intake's ACKs. {@link IntakePriority} only holds a delivery lane back between records; this lowers the thread
 * itself, so that the operating system runs an intake thread first whenever both are ready, in every library's
 * code alike (Kafka Streams' own threads included). Under a saturating intake the consumers fall behind, and catch up
 * when the intake is quiet: their lag is on Kafka, nothing is lost.
 *
 * <p>How: a thread that is about to consume calls {@link #lowerCurrentThread()} once; on Linux its own task id is
 * read from {@code /proc/thread-self} and {@code renice} gives that task the niceness
 * {@code cmm.consumers.nice} (10; 0 turns it off). Lowering one's own priority needs no privilege. Java's
 * {@link Thread#setPriority} is not used for this: by default the JVM ignores it on Linux. Where {@code renice} or
 * {@code /proc} is missing, nothing is changed and it is said once at INFO.
 */
public final class ConsumerPriority {

    static final String BEAN = "cmmConsumerPriority";
    private static final Logger LOG = LoggerFactory.getLogger(ConsumerPriority.class);
    private static final Path THREAD_SELF = Path.of("/proc/thread-self");
    private static final AtomicBoolean UNAVAILABLE_SAID = new AtomicBoolean();

    private final int nice;
    private final ThreadLocal<Boolean> lowered = ThreadLocal.withInitial(() -> Boolean.FALSE);
    private final AtomicLong threadsLowered = new AtomicLong();

    public ConsumerPriority(int nice) {
        this.nice = Math.max(0, Math.min(19, nice));
    }

    /** The CamelContext's, made from {@code cmm.consumers.nice} on first use. */
    public static ConsumerPriority of(CamelContext context) {
        ConsumerPriority existing = context.getRegistry().lookupByNameAndType(BEAN, ConsumerPriority.class);
        if (existing != null) {
            return existing;
        }
        synchronized (ConsumerPriority.class) {
            existing = context.getRegistry().lookupByNameAndType(BEAN, ConsumerPriority.class);
            if (existing == null) {
                existing = new ConsumerPriority(Integer.parseInt(context.getPropertiesComponent()
                        .resolveProperty("cmm.consumers.nice").orElse("10").trim()));
                context.getRegistry().bind(BEAN, ConsumerPriority.class, existing);
            }
            return existing;
        }
    }

    /** The niceness given to consuming threads (0: unchanged). */
    public int nice() {
        return nice;
    }

    /** How many threads were lowered so far. */
    public long threadsLowered() {
        return threadsLowered.get();
    }

    /**
     * Lowers the calling thread's CPU priority to {@link #nice()}, once per thread: later calls return at once. Never
     * throws; a thread that cannot be lowered keeps its priority.
     */
    public void lowerCurrentThread() {
        if (nice == 0 || lowered.get()) {
            return;
        }
        lowered.set(Boolean.TRUE);
        if (currentThreadNice() >= nice) {
            return; // made by a thread already lowered: Linux gives a new thread its maker's niceness
        }
        String tid = currentTaskId();
        if (tid == null) {
            sayUnavailable("no /proc/thread-self");
            return;
        }
        try {
            Process renice = new ProcessBuilder("renice", "-n", String.valueOf(nice), "-p", tid)
                    .redirectErrorStream(true).start();
            renice.getOutputStream().close();
            byte[] said = renice.getInputStream().readAllBytes();
            if (!renice.waitFor(10, TimeUnit.SECONDS)) {
                renice.destroyForcibly();
                sayUnavailable("renice did not end within 10 s");
            } else if (renice.exitValue() != 0) {
                sayUnavailable("renice answered " + renice.exitValue() + ": "
                        + new String(said, StandardCharsets.UTF_8).trim());
            } else {
                threadsLowered.incrementAndGet();
            }
        } catch (IOException e) {
            sayUnavailable(e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Runs {@code work} on a new thread lowered first, and waits for it: every thread that {@code work} makes (a
     * Kafka Streams application's stream threads, their consumers' and producers' threads) inherits the lowered
     * priority. Returns what {@code work} returns, or throws what it throws.
     */
    public <T> T inLoweredThread(String name, java.util.concurrent.Callable<T> work) throws Exception {
        if (nice == 0) {
            return work.call();
        }
        java.util.concurrent.FutureTask<T> task = new java.util.concurrent.FutureTask<>(() -> {
            lowerCurrentThread();
            return work.call();
        });
        Thread maker = new Thread(task, name);
        maker.start();
        try {
            return task.get();
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof Exception cause) {
                throw cause;
            }
            throw e;
        }
    }

    /** The niceness of the calling thread as the kernel has it, or -100 where it cannot be read. */
    public static int currentThreadNice() {
        try {
            String stat = Files.readString(THREAD_SELF.resolve("stat"), StandardCharsets.US_ASCII);
            // fields after the command name, which is in parentheses and may hold spaces: state is field 3, nice 19
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Integer.parseInt(fields[19 - 3]);
        } catch (IOException | RuntimeException e) {
            return -100;
        }
    }

    private static String currentTaskId() {
        try {
            Path link = Files.readSymbolicLink(THREAD_SELF); // "<pid>/task/<tid>"
            return link.getFileName().toString();
        } catch (IOException | UnsupportedOperationException e) {
            return null;
        }
    }

    private static void sayUnavailable(String why) {
        if (UNAVAILABLE_SAID.compareAndSet(false, true)) {
            LOG.info("Consuming threads keep their CPU priority (cmm.consumers.nice not applied: {})", why);
        }
    }
}
