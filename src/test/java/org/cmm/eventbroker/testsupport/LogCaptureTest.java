package org.cmm.eventbroker.testsupport;

import static org.junit.jupiter.api.Assertions.assertFalse;

import java.time.Duration;
import java.util.List;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/** What the no-patient-data tests look at: SLF4J, and also stderr, where the JVM prints uncaught exceptions. */
class LogCaptureTest {

    @Test
    void anUncaughtExceptionsTracePrintedOnStderrIsCaptured() throws Exception {
        try (LogCapture capture = LogCapture.attach()) {
            Thread t = new Thread(() -> {
                throw new IllegalStateException("PID|1||MRN-STDERR-1||DOE^JOHN");
            }, "log-capture-test");
            t.start();
            t.join(5_000);
            Awaitility.await().atMost(Duration.ofSeconds(5))
                    .until(() -> !capture.linesContaining(List.of("MRN-STDERR-1")).isEmpty());
            assertFalse(capture.linesContaining(List.of("IllegalStateException")).isEmpty());
        }
    }
}
