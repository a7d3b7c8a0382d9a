package org.cmm.eventbroker.platform.security.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Set;

import org.junit.jupiter.api.Test;

class BrowserSessionsTest {

    /** A clock the test moves. */
    private static final class MovingClock extends Clock {
        private Instant now = Instant.parse("2026-12-07T06:00:00Z");

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    private final MovingClock clock = new MovingClock();
    private final Caller pia = new Caller("portal.pia", Set.of("api-admin"));

    @Test
    void aSessionStandsForItsCallerUntilTheTokensExpiryAndNotAfter() {
        BrowserSessions sessions = new BrowserSessions(10, clock);
        String id = sessions.create(pia, clock.now.plusSeconds(300)).orElseThrow();
        assertEquals(43, id.length());
        assertEquals(pia, sessions.caller(id));
        clock.now = clock.now.plus(Duration.ofSeconds(299));
        assertEquals(pia, sessions.caller(id));
        clock.now = clock.now.plus(Duration.ofSeconds(1));
        assertNull(sessions.caller(id), "expired with the token");
        assertEquals(0, sessions.size(), "and forgotten");
    }

    @Test
    void forgedAndEndedIdsNameNoOne() {
        BrowserSessions sessions = new BrowserSessions(10, clock);
        String id = sessions.create(pia, clock.now.plusSeconds(300)).orElseThrow();
        assertNull(sessions.caller("A".repeat(43)));
        assertNull(sessions.caller(id.substring(1)));
        assertNull(sessions.caller(null));
        sessions.end(id);
        assertNull(sessions.caller(id), "logged out");
        assertNotEquals(BrowserSessions.randomId(), BrowserSessions.randomId());
    }

    @Test
    void theCountIsBoundedAndExpiredSessionsMakeRoomButLiveOnesAreNeverEvicted() {
        BrowserSessions sessions = new BrowserSessions(2, clock);
        String first = sessions.create(pia, clock.now.plusSeconds(10)).orElseThrow();
        String second = sessions.create(pia, clock.now.plusSeconds(100)).orElseThrow();
        assertTrue(sessions.create(pia, clock.now.plusSeconds(100)).isEmpty(), "full of live sessions: refused");
        assertEquals(pia, sessions.caller(first));
        clock.now = clock.now.plusSeconds(10);
        String third = sessions.create(pia, clock.now.plusSeconds(100)).orElseThrow();
        assertNull(sessions.caller(first));
        assertEquals(pia, sessions.caller(second));
        assertEquals(pia, sessions.caller(third));
    }
}
