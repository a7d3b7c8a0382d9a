package org.cmm.eventbroker.platform.mllp;

import java.util.concurrent.atomic.AtomicLong;

import ca.uhn.hl7v2.util.idgenerator.IDGenerator;

/**
 * Control ids (MSH-10) for the acknowledgements this runtime sends.
 *
 * <p>HAPI's default generator keeps a counter in a file in the working directory; this one keeps it in memory and
 * prefixes the process start time, so ids stay unique across restarts and fit the 20 characters HL7 2.3 allows.
 */
public final class AckControlIdGenerator implements IDGenerator {

    private final String prefix = "A" + Long.toString(System.currentTimeMillis(), 36).toUpperCase();
    private final AtomicLong counter = new AtomicLong();

    @Override
    public String getID() {
        return prefix + counter.incrementAndGet();
    }
}
