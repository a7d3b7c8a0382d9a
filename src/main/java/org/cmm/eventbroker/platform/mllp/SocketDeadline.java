package org.cmm.eventbroker.platform.mllp;

import java.io.IOException;
import java.net.Socket;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * A deadline for blocking socket I/O: closes the socket when it passes, so a blocked read or write returns. A
 * socket's read timeout applies per read (a peer sending a byte now and then stretches it for ever) and there is no
 * write timeout at all; this bounds the whole operation.
 */
final class SocketDeadline implements AutoCloseable {

    private static final ScheduledExecutorService TIMER = timer();

    private final ScheduledFuture<?> task;
    private volatile boolean passed;

    private SocketDeadline(Socket socket, long timeoutMs) {
        this.task = TIMER.schedule(() -> {
            passed = true;
            try {
                socket.close();
            } catch (IOException ignored) {
                // closing is all we wanted
            }
        }, timeoutMs, TimeUnit.MILLISECONDS);
    }

    /** Starts the clock: the socket is closed {@code timeoutMs} from now unless {@link #close()} comes first. */
    static SocketDeadline start(Socket socket, long timeoutMs) {
        return new SocketDeadline(socket, timeoutMs);
    }

    /** True when the deadline passed (and the socket was closed). */
    boolean passed() {
        return passed;
    }

    @Override
    public void close() {
        task.cancel(false);
    }

    private static ScheduledExecutorService timer() {
        ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "mllp-socket-deadlines");
            t.setDaemon(true);
            return t;
        });
        timer.setRemoveOnCancelPolicy(true);
        return timer;
    }
}
