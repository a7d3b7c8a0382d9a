package org.cmm.eventbroker.fhir.bulk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ConnectException;
import java.util.concurrent.atomic.AtomicInteger;

import com.fasterxml.jackson.core.JsonParseException;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.s3.model.S3Exception;

class PeerRetryTest {

    private final PeerRetry retry = new PeerRetry(4, 60_000, 1, 2);

    @Test
    void answersThatSayLaterAndNoAnswerAtAllAreTransientOtherAnswersAreNot() {
        assertTrue(PeerRetry.isTransient(new FhirServerAnswerException(503, "a search page")));
        assertTrue(PeerRetry.isTransient(new FhirServerAnswerException(429, "a search page")));
        assertTrue(PeerRetry.isTransient(new FhirServerAnswerException(408, "a search page")));
        assertFalse(PeerRetry.isTransient(new FhirServerAnswerException(400, "a search page")));
        assertFalse(PeerRetry.isTransient(new FhirServerAnswerException(404, "a read")));
        assertTrue(PeerRetry.isTransient(new ConnectException()));
        assertTrue(PeerRetry.isTransient(new RuntimeException(new IOException("reset"))));
        assertTrue(PeerRetry.isTransient(SdkClientException.create("refused")));
        assertTrue(PeerRetry.isTransient(S3Exception.builder().statusCode(503).build()));
        assertFalse(PeerRetry.isTransient(S3Exception.builder().statusCode(403).build()));
        assertFalse(PeerRetry.isTransient(new JsonParseException(null, "not JSON")));
        assertFalse(PeerRetry.isTransient(new IllegalStateException("a bug")));
        assertFalse(PeerRetry.isTransient(new PeerUnavailableException("spent", new ConnectException())));
    }

    @Test
    void aTransientFailureIsRetriedUntilTheCallSucceeds() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        String answer = retry.call("test call", () -> false, () -> {
            if (calls.incrementAndGet() < 4) {
                throw new FhirServerAnswerException(503, "a search page");
            }
            return "page";
        });
        assertEquals("page", answer);
        assertEquals(4, calls.get());
    }

    @Test
    void aFailureOutlastingTheAttemptsGivesUpSayingHowOftenItTried() {
        AtomicInteger calls = new AtomicInteger();
        PeerUnavailableException e = assertThrows(PeerUnavailableException.class, () -> retry.call("test call",
                () -> false, () -> {
                    calls.incrementAndGet();
                    throw new ConnectException();
                }));
        assertEquals(4, calls.get());
        assertTrue(e.getMessage().startsWith("test call failed after 4 attempts over "), e.getMessage());
    }

    @Test
    void aFailureOutlastingTheTimeBudgetGivesUpBeforeTheAttemptsAreSpent() {
        PeerRetry shortBudget = new PeerRetry(100, 0, 1, 1);
        AtomicInteger calls = new AtomicInteger();
        assertThrows(PeerUnavailableException.class, () -> shortBudget.call("test call", () -> false, () -> {
            calls.incrementAndGet();
            throw new ConnectException();
        }));
        assertEquals(1, calls.get());
    }

    @Test
    void aFailureThatWillNotPassAndAnAbandonedCallAreNotRetried() {
        FhirServerAnswerException refused = new FhirServerAnswerException(400, "a search page");
        AtomicInteger calls = new AtomicInteger();
        assertSame(refused, assertThrows(FhirServerAnswerException.class, () -> retry.call("test call", () -> false,
                () -> {
                    calls.incrementAndGet();
                    throw refused;
                })));
        assertEquals(1, calls.get());
        ConnectException refusedConnection = new ConnectException();
        assertSame(refusedConnection, assertThrows(ConnectException.class, () -> retry.call("test call", () -> true,
                () -> {
                    calls.incrementAndGet();
                    throw refusedConnection;
                })));
        assertEquals(2, calls.get());
    }
}
