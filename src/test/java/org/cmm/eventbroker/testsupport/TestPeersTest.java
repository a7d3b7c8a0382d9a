package org.cmm.eventbroker.testsupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.opentest4j.TestAbortedException;

/** A missing test peer fails its test with the install hint; it is skipped only when explicitly allowed. */
class TestPeersTest {

    private static final TestPeers.Peer ABSENT = new TestPeers.Peer("nosuchpeer", "nosuchpeer-server",
            List.of("cmm-no-such-executable-1", "cmm-no-such-executable-2"));

    @Test
    void aMissingPeerFailsWithTheInstallHint() {
        String before = System.getProperty(TestPeers.ALLOW_MISSING);
        System.clearProperty(TestPeers.ALLOW_MISSING);
        try {
            AssertionError e = assertThrows(AssertionError.class, () -> TestPeers.require(ABSENT));
            assertTrue(e.getMessage().contains("scripts/run-tests.sh") && e.getMessage().contains("apt-get install nosuchpeer-server")
                    && e.getMessage().contains(TestPeers.ALLOW_MISSING), e.getMessage());
        } finally {
            restore(before);
        }
    }

    @Test
    void aMissingPeerIsSkippedOnlyWhenAllowed() {
        String before = System.getProperty(TestPeers.ALLOW_MISSING);
        System.setProperty(TestPeers.ALLOW_MISSING, "true");
        try {
            TestAbortedException e = assertThrows(TestAbortedException.class, () -> TestPeers.require(ABSENT));
            assertTrue(e.getMessage().contains("nosuchpeer is not installed"), e.getMessage());
        } finally {
            restore(before);
        }
    }

    @Test
    void theListedPeersAreTheOnesTheScriptInstalls() throws Exception {
        assertEquals(List.of("kcat", "chromium", "mosquitto"), List.copyOf(TestPeers.all().keySet()).subList(0, 3));
        String script = Files.readString(java.nio.file.Path.of("scripts", "run-tests.sh"));
        assertTrue(script.contains("src/test/resources/test-peers.txt"), "the script installs from the same list");
        assertThrows(IllegalArgumentException.class, () -> TestPeers.require("not-a-listed-peer"));
    }

    private static void restore(String value) {
        if (value == null) {
            System.clearProperty(TestPeers.ALLOW_MISSING);
        } else {
            System.setProperty(TestPeers.ALLOW_MISSING, value);
        }
    }
}
