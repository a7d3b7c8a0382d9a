package org.cmm.eventbroker.platform.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Issue 17 item 8: the consuming threads run at a lower CPU priority than the intake's, as the kernel sees it. */
class ConsumerPriorityTest {

    @BeforeEach
    void linuxWithRenice() {
        assumeTrue(Files.isSymbolicLink(Path.of("/proc/thread-self")), "Linux /proc/thread-self");
        assumeTrue(ConsumerPriority.currentThreadNice() < 10, "the test runs below niceness 10");
    }

    @Test
    void aConsumingThreadIsLoweredAndTheThreadsItMakesInheritIt() throws Exception {
        ConsumerPriority priority = new ConsumerPriority(10);
        int before = ConsumerPriority.currentThreadNice();
        int[] seen = new int[3];
        Thread consumer = new Thread(() -> {
            seen[0] = ConsumerPriority.currentThreadNice();
            priority.lowerCurrentThread();
            seen[1] = ConsumerPriority.currentThreadNice();
            Thread child = new Thread(() -> seen[2] = ConsumerPriority.currentThreadNice());
            child.start();
            try {
                child.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        consumer.start();
        consumer.join(30_000);

        assertEquals(before, seen[0]);
        assertEquals(10, seen[1]);
        assertEquals(10, seen[2], "a thread made by a lowered thread");
        assertEquals(1, priority.threadsLowered()); // the child was already low: no second renice
        assertEquals(before, ConsumerPriority.currentThreadNice(), "the caller's own thread is untouched");
    }

    @Test
    void workDoneInALoweredThreadReturnsItsResultAndItsThreadsAreLow() throws Exception {
        ConsumerPriority priority = new ConsumerPriority(7);
        CompletableFuture<Integer> madeThreadNice = new CompletableFuture<>();
        int result = priority.inLoweredThread("test-maker", () -> {
            Thread made = new Thread(() -> madeThreadNice.complete(ConsumerPriority.currentThreadNice()));
            made.start();
            return ConsumerPriority.currentThreadNice();
        });
        assertEquals(7, result);
        assertEquals(7, madeThreadNice.get(10, TimeUnit.SECONDS));

        IllegalStateException thrown = assertThrows(IllegalStateException.class,
                () -> priority.inLoweredThread("test-failing", () -> {
                    throw new IllegalStateException("refused");
                }));
        assertEquals("refused", thrown.getMessage());
    }

    @Test
    void zeroLeavesThreadsAsTheyAre() throws Exception {
        ConsumerPriority off = new ConsumerPriority(0);
        int before = ConsumerPriority.currentThreadNice();
        int[] seen = new int[1];
        Thread t = new Thread(() -> {
            off.lowerCurrentThread();
            seen[0] = ConsumerPriority.currentThreadNice();
        });
        t.start();
        t.join(10_000);
        assertEquals(before, seen[0]);
        assertEquals(0, off.threadsLowered());
        assertEquals(before, off.inLoweredThread("test-off", ConsumerPriority::currentThreadNice));
    }
}
