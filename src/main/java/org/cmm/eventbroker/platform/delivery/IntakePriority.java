package org.cmm.eventbroker.platform.delivery;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import org.apache.camel.CamelContext;

/**
 * The intake first: while messages are being taken in (a sender waits for its ACK), the flows that consume Kafka
 * (CDS, workflow triggers, outbound deliveries, all {@code kafka-delivery} consumers) hold back before starting their
 * next record, so that with every flow in one JVM the consumers do not take the CPU the intake's ACKs need (issue 17
 * item 8: a p99 of 93 ms at 1,000 msg/s once CDS and the workflow triggers shared the JVM).
 *
 * <p>Back-pressure, bounded: a delivery lane waits while at least {@code threshold} intake exchanges are in flight,
 * at most {@code maxWaitMs} per record, then goes on anyway, so a consumer is slowed under a flood of intake but
 * never stopped (its lag is caught up as soon as the intake is quiet). One per CamelContext ({@link #of});
 * {@code kafka-delivery} waits ({@link #awaitTurn()}), the analytics Streams application only while the intake is
 * saturated ({@link #awaitTurnWhenBusy()}). Settings: {@code cmm.delivery.intake-first.threshold} (1),
 * {@code cmm.delivery.intake-first.busy-threshold} (4) and {@code cmm.delivery.intake-first.max-wait-ms} (20; 0 turns
 * it off).
 *
 * <p>Who reports intake ({@link #intakeStarted()}, {@link #intakeEnded()}): the MLLP listener, per message from its
 * read to its ACK; and every route that names the route policy {@code intakeFirst} ({@link IntakeRoutePolicy}, from
 * the exchange's start in the route to its end on any path): the HTTP intakes (EHR webhooks, FHIR changes, device
 * readings, device alerts and their acknowledgements, workflow callbacks) and the MQTT device intakes (readings,
 * alerts). A route-level marker rather than a list of route ids or a rule on endpoints: a route file says itself that
 * it is an intake, and only short exchanges a sender waits on may say so. SSE and WebSocket streams, event API reads,
 * the portal and other GET APIs never count: an exchange that lasts would hold the consumers back for its whole life.
 */
public final class IntakePriority {

    static final String BEAN = "cmmIntakePriority";

    private final int threshold;
    private final int busyThreshold;
    private final long maxWaitNanos;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition quiet = lock.newCondition();
    private final java.util.concurrent.atomic.AtomicLong yields = new java.util.concurrent.atomic.AtomicLong();

    public IntakePriority(int threshold, long maxWaitMs) {
        this(threshold, 4, maxWaitMs);
    }

    /**
     * @param busyThreshold intake exchanges in flight from which the intake counts as saturated: the consumers that
     *                      process every message in one thread (the analytics Streams application) hold back only then,
     *                      so that at an ordinary rate they are never slowed
     */
    public IntakePriority(int threshold, int busyThreshold, long maxWaitMs) {
        this.threshold = Math.max(1, threshold);
        this.busyThreshold = Math.max(this.threshold, busyThreshold);
        this.maxWaitNanos = TimeUnit.MILLISECONDS.toNanos(Math.max(0, maxWaitMs));
    }

    /** The CamelContext's, made from its properties on first use. */
    public static IntakePriority of(CamelContext context) {
        IntakePriority existing = context.getRegistry().lookupByNameAndType(BEAN, IntakePriority.class);
        if (existing != null) {
            return existing;
        }
        synchronized (IntakePriority.class) {
            existing = context.getRegistry().lookupByNameAndType(BEAN, IntakePriority.class);
            if (existing == null) {
                existing = new IntakePriority(
                        Integer.parseInt(property(context, "cmm.delivery.intake-first.threshold", "1")),
                        Integer.parseInt(property(context, "cmm.delivery.intake-first.busy-threshold", "4")),
                        Long.parseLong(property(context, "cmm.delivery.intake-first.max-wait-ms", "20")));
                context.getRegistry().bind(BEAN, IntakePriority.class, existing);
            }
            return existing;
        }
    }

    private static String property(CamelContext context, String key, String fallback) {
        return context.getPropertiesComponent().resolveProperty(key).orElse(fallback).trim();
    }

    /** An intake exchange began (a message read, its ACK not yet written). */
    public void intakeStarted() {
        inFlight.incrementAndGet();
    }

    /** An intake exchange ended (ACK written or the exchange failed). */
    public void intakeEnded() {
        if (inFlight.decrementAndGet() < busyThreshold) {
            lock.lock();
            try {
                quiet.signalAll();
            } finally {
                lock.unlock();
            }
        }
    }

    /** Intake exchanges in flight now. */
    public int intakeInFlight() {
        return inFlight.get();
    }

    /** How many times a consumer held back so far. */
    public long yields() {
        return yields.get();
    }

    /**
     * Called by a consumer before it processes its next record: returns at once while the intake is quiet, else
     * when it becomes quiet or after the bounded wait.
     */
    public void awaitTurn() throws InterruptedException {
        await(threshold);
    }

    /**
     * As {@link #awaitTurn()}, but holds back only while the intake is saturated (at least the busy threshold in
     * flight, {@code cmm.delivery.intake-first.busy-threshold}, 4): for a consumer that runs every message through
     * one thread, where a wait at each ordinary intake message would add up to a lag.
     */
    public void awaitTurnWhenBusy() throws InterruptedException {
        await(busyThreshold);
    }

    private void await(int threshold) throws InterruptedException {
        if (maxWaitNanos == 0 || inFlight.get() < threshold) {
            return;
        }
        yields.incrementAndGet();
        long remaining = maxWaitNanos;
        lock.lock();
        try {
            while (inFlight.get() >= threshold && remaining > 0) {
                remaining = quiet.awaitNanos(remaining);
            }
        } finally {
            lock.unlock();
        }
    }
}
