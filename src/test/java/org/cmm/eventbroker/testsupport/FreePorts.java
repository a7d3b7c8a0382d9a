package org.cmm.eventbroker.testsupport;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Picks loopback ports that are free right now, so parallel or repeated test runs do not collide.
 *
 * <p>Failsafe runs the integration tests in several JVMs at once ({@code forkCount} in the pom). Ports the kernel
 * hands out for {@code bind(0)} could then be picked by two JVMs in the window between "free now" and "bound by the
 * peer", so each fork takes its ports from its own block below the kernel's ephemeral range (32768 and up on Linux,
 * where outgoing connections take theirs), walking it in order and skipping ports in use: fork N (Failsafe's
 * {@code surefire.forkNumber}, passed as {@code cmm.test.fork}) uses {@code 12000 + (N - 1) * 4000} to the next 4000
 * ports, from a random point of the block on (other builds on the same machine use the same blocks). Outside a fork
 * (an IDE run), the kernel picks.
 */
public final class FreePorts {

    private static final int FIRST = 12000;
    private static final int BLOCK = 4000;
    private static final int FORK = forkNumber();
    /** Where this JVM starts in its block: anywhere, so two builds on one machine (fork 1 of each) rarely meet. */
    private static final AtomicInteger NEXT = new AtomicInteger(ThreadLocalRandom.current().nextInt(BLOCK));

    private FreePorts() {
    }

    public static int next() {
        if (FORK < 1) {
            return kernelPick();
        }
        int base = FIRST + (FORK - 1) * BLOCK;
        for (int tries = 0; tries < BLOCK; tries++) {
            int port = base + Math.floorMod(NEXT.getAndIncrement(), BLOCK);
            if (free(port)) {
                return port;
            }
        }
        throw new IllegalStateException("No free loopback port in " + base + "-" + (base + BLOCK - 1));
    }

    private static boolean free(int port) {
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(true);
            socket.bind(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static int kernelPick() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            socket.setReuseAddress(true);
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static int forkNumber() {
        // cmm.test.fork = fork-<n>, set per fork by the failsafe configuration (pom.xml)
        String value = System.getProperty("cmm.test.fork", "").replace("fork-", "");
        try {
            int fork = Integer.parseInt(value.trim());
            return fork >= 1 && fork <= 5 ? fork : 0;
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
