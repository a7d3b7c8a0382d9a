package org.cmm.eventbroker.engagement.push;

import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * At most {@code max} notifications per recipient in a fixed window: a burst of events (a panel of twenty results)
 * does not become twenty buzzes. Over the limit a notification is not sent (its status says {@code rate-limited});
 * the portal still has the update.
 */
public final class RecipientRateLimit {

    private final int max;
    private final long windowMs;
    /** recipient -> {window start, count}. Guarded by itself. */
    private final Map<String, long[]> windows = new HashMap<>();

    public RecipientRateLimit(int max, long windowMs) {
        this.max = max;
        this.windowMs = windowMs;
    }

    /** Counts one notification for the recipient; false when it is over the limit. */
    public boolean tryAcquire(String recipient, long now) {
        synchronized (windows) {
            if (windows.size() > 100_000) {
                for (Iterator<long[]> it = windows.values().iterator(); it.hasNext();) {
                    if (now - it.next()[0] >= windowMs) {
                        it.remove();
                    }
                }
            }
            long[] w = windows.computeIfAbsent(recipient, r -> new long[] {now, 0});
            if (now - w[0] >= windowMs) {
                w[0] = now;
                w[1] = 0;
            }
            if (w[1] >= max) {
                return false;
            }
            w[1]++;
            return true;
        }
    }
}
