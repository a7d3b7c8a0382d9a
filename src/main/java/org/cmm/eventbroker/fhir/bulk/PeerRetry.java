package org.cmm.eventbroker.fhir.bulk;

import java.io.IOException;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import com.fasterxml.jackson.core.JacksonException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkServiceException;

/**
 * Retries a call to a bulk job's peers (the FHIR server, the bulk store) while it fails for a reason that passes: the
 * peer answered 5xx, 429 or 408, or did not answer at all (connection refused or reset, timed out). The wait doubles
 * from {@code initialBackoffMs} to {@code maxBackoffMs}; the call is given up after {@code maxAttempts} attempts or
 * once the next attempt would start later than {@code budgetMs} after the first, whichever comes first, with a
 * {@link PeerUnavailableException} saying how long it tried. A failure that will not pass (a 4xx answer, a body that
 * is not JSON) is thrown at once. The budget is per call: a call that succeeds starts the next one afresh.
 */
final class PeerRetry {

    private static final Logger LOG = LoggerFactory.getLogger(PeerRetry.class);

    private final int maxAttempts;
    private final long budgetMs;
    private final long initialBackoffMs;
    private final long maxBackoffMs;

    PeerRetry(int maxAttempts, long budgetMs, long initialBackoffMs, long maxBackoffMs) {
        if (maxAttempts < 1 || budgetMs < 0 || initialBackoffMs < 0 || maxBackoffMs < initialBackoffMs) {
            throw new IllegalArgumentException("Bulk retry: max-attempts >= 1, budget-ms >= 0 and"
                    + " 0 <= initial-backoff-ms <= max-backoff-ms (cmm.bulk.retry.*)");
        }
        this.maxAttempts = maxAttempts;
        this.budgetMs = budgetMs;
        this.initialBackoffMs = initialBackoffMs;
        this.maxBackoffMs = maxBackoffMs;
    }

    /**
     * @param what      names the call in logs and in the error (job, peer, operation; never a resource)
     * @param abandoned true when the job no longer wants the answer (cancelled, runtime stopping): no more attempts
     */
    <T> T call(String what, BooleanSupplier abandoned, Callable<T> call) throws Exception {
        long start = System.nanoTime();
        long backoff = initialBackoffMs;
        for (int attempt = 1; ; attempt++) {
            try {
                return call.call();
            } catch (Exception e) {
                if (!isTransient(e)) {
                    throw e;
                }
                long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                if (attempt >= maxAttempts || elapsedMs + backoff > budgetMs) {
                    throw new PeerUnavailableException(what + " failed after " + attempt + " attempts over "
                            + elapsedMs + " ms (" + describe(e) + ")", e);
                }
                if (abandoned.getAsBoolean()) {
                    throw e;
                }
                LOG.warn("{} failed ({}), attempt {} of {}; trying again in {} ms", what, describe(e), attempt,
                        maxAttempts, backoff);
                TimeUnit.MILLISECONDS.sleep(backoff); // a back-off between attempts; interrupted when the runtime stops
                backoff = Math.min(maxBackoffMs, Math.max(1, backoff * 2));
            }
        }
    }

    /** Whether the failure may pass: no answer at all, or an answer that says "later" (5xx, 429, 408). */
    static boolean isTransient(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof PeerUnavailableException) {
                return false; // an inner retry already spent its budget
            }
            if (t instanceof FhirServerAnswerException answer) {
                return transientStatus(answer.status());
            }
            if (t instanceof SdkServiceException service) {
                return transientStatus(service.statusCode()) || service.isThrottlingException();
            }
            if (t instanceof SdkClientException) {
                return true; // the store did not answer: refused, reset, timed out
            }
            if (t instanceof JacksonException) {
                return false; // an answer that is not JSON will not become JSON
            }
            if (t instanceof IOException) {
                return true; // refused, reset, timed out, closed in the middle of the answer
            }
        }
        return false;
    }

    private static boolean transientStatus(int status) {
        return status >= 500 || status == 429 || status == 408;
    }

    private static String describe(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String text = e.getClass().getSimpleName();
        if (e instanceof FhirServerAnswerException || e instanceof SdkServiceException) {
            text += " " + (e instanceof FhirServerAnswerException a ? a.status() : ((SdkServiceException) e).statusCode());
        }
        return root == e ? text : text + " caused by " + root.getClass().getSimpleName();
    }
}
