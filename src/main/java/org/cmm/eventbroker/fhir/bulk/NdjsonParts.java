package org.cmm.eventbroker.fhir.bulk;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.IntFunction;

/**
 * The NDJSON parts of one resource type of an export being written, whichever way the resources come (paged searches
 * or the FHIR server's own files): the current part in a local file of the work folder, uploaded to bulk storage
 * (through the peer retry) when it is full or the type ends, then deleted; the line counts of the parts uploaded, in
 * order. One line in memory at a time.
 */
final class NdjsonParts {

    private static final String NDJSON = "application/fhir+ndjson";

    private final Path work;
    private final String tempPrefix;
    private final BulkStorage storage;
    private final PeerRetry retry;
    private final String what;
    private final IntFunction<String> keyOfPart;
    private final BooleanSupplier abandoned;
    private final long maxLines;
    private final List<Long> counts = new ArrayList<>();
    private Path file;
    private BufferedWriter writer;
    private long lines;

    /**
     * @param what what the retry's log lines name, e.g. {@code Bulk export <job>: upload of Observation}
     * @param keyOfPart the object key of part n (from 1)
     * @param abandoned the job was cancelled, lost or the runtime is stopping: an upload is not retried any more
     */
    NdjsonParts(Path work, String tempPrefix, BulkStorage storage, PeerRetry retry, String what,
            IntFunction<String> keyOfPart, BooleanSupplier abandoned, long maxLines) {
        this.work = work;
        this.tempPrefix = tempPrefix;
        this.storage = storage;
        this.retry = retry;
        this.what = what;
        this.keyOfPart = keyOfPart;
        this.abandoned = abandoned;
        this.maxLines = maxLines;
    }

    /** Where the next line's text goes (the part's file, opened if need be); end it with {@link #endLine()}. */
    Writer line() throws IOException {
        if (writer == null) {
            file = Files.createTempFile(work, tempPrefix, ".ndjson");
            writer = Files.newBufferedWriter(file, StandardCharsets.UTF_8);
            lines = 0;
        }
        return writer;
    }

    /** Ends the line; true when the part is full (upload it). */
    boolean endLine() throws IOException {
        writer.write('\n');
        return ++lines >= maxLines;
    }

    /** One whole line; true when the part is full. */
    boolean write(String line) throws IOException {
        line().write(line);
        return endLine();
    }

    /** Uploads the current part (if it has lines) under the next part's key. */
    void upload() throws Exception {
        if (writer == null || lines == 0) {
            return;
        }
        writer.close();
        writer = null;
        int part = counts.size() + 1;
        Path written = file;
        retry.call(what + " part " + part, abandoned, () -> {
            storage.upload(keyOfPart.apply(part), written, NDJSON);
            return null;
        });
        Files.deleteIfExists(file);
        counts.add(lines);
        lines = 0;
    }

    /** Drops the part not uploaded (a job ended or stopped in the middle). */
    void discard() throws IOException {
        if (writer != null) {
            writer.close();
            writer = null;
        }
        if (file != null) {
            Files.deleteIfExists(file);
        }
    }

    /** The line counts of the parts uploaded, in order. */
    List<Long> counts() {
        return counts;
    }
}
