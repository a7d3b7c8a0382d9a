package org.cmm.eventbroker.engagement.push;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RecipientRateLimitTest {

    @Test
    void limitsEachRecipientWithinItsWindowAndNotOthers() {
        RecipientRateLimit limit = new RecipientRateLimit(2, 1_000);
        assertTrue(limit.tryAcquire("patient/A", 0));
        assertTrue(limit.tryAcquire("patient/A", 10));
        assertFalse(limit.tryAcquire("patient/A", 20), "third in the window");
        assertTrue(limit.tryAcquire("patient/B", 20), "another recipient has its own budget");
        assertTrue(limit.tryAcquire("patient/A", 1_000), "a new window");
    }
}
