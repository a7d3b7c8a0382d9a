package org.cmm.eventbroker.platform.delivery;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeSet;

import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * The records of one partition that are not delivered yet, in one lane per record key (per patient). A lane delivers
 * its records strictly one after the other, so a patient's later order never overtakes an earlier one that is being
 * retried; other lanes go on meanwhile. The partition's committable offset is its lowest undelivered offset, so a
 * restart resumes at the oldest record still owed to the peer. So that the later records of other patients that were
 * delivered already are not sent again then, each commit carries in its metadata which offsets between the committed
 * one and the last polled one are still owed ({@link #commitMetadata()}); the next owner of the partition skips the
 * others ({@link #restore(String)}). Should that list not fit the broker's metadata limit, it is left out and those
 * records are sent again (at-least-once; the peer recognises them by their MSH-10).
 *
 * <p>Not thread-safe: the consumer guards it with its lock.
 */
final class PartitionLanes {

    /** Records without a key share one lane, in partition order. */
    static final String NO_KEY = "\u0000no-key";

    private final TreeSet<Long> pending = new TreeSet<>();
    private final Map<String, ArrayDeque<ConsumerRecord<String, byte[]>>> lanes = new HashMap<>();
    private long nextOffset = -1;
    private long committedOffset = -1;
    private String committedMetadata = "";
    /** Counts every change of what is owed: the metadata is built again only after one (it was a hot spot). */
    private long version;
    private long metadataVersion = -1;
    private String metadata = "";
    private boolean paused;
    private boolean revoked;
    private int inFlight;
    private boolean handingOver;
    /** From the previous owner's commit: below this offset, only {@link #owedBefore} offsets are still to deliver. */
    private long restoredUpTo = -1;
    private final TreeSet<Long> owedBefore = new TreeSet<>();

    /** Longest metadata written with a commit (brokers accept 4096 bytes by default). */
    static final int MAX_METADATA_CHARS = 3000;

    /**
     * Takes a record polled from the partition.
     *
     * @return true when the record is the head of its lane and may be delivered now
     */
    boolean add(ConsumerRecord<String, byte[]> record) {
        if (record.offset() < restoredUpTo && !owedBefore.contains(record.offset())) {
            // delivered by the previous owner after its committed offset: not again
            nextOffset = Math.max(nextOffset, record.offset() + 1);
            version++;
            return false;
        }
        pending.add(record.offset());
        nextOffset = Math.max(nextOffset, record.offset() + 1);
        version++;
        ArrayDeque<ConsumerRecord<String, byte[]>> lane = lanes.computeIfAbsent(laneOf(record), k -> new ArrayDeque<>());
        lane.addLast(record);
        return lane.size() == 1;
    }

    /**
     * Marks the head of the record's lane delivered.
     *
     * @return the lane's next record, now deliverable, or null when the lane is empty
     */
    ConsumerRecord<String, byte[]> delivered(ConsumerRecord<String, byte[]> record) {
        String key = laneOf(record);
        ArrayDeque<ConsumerRecord<String, byte[]>> lane = lanes.get(key);
        if (lane == null || lane.peekFirst() != record) {
            throw new IllegalStateException("record at offset " + record.offset() + " is not the head of its lane");
        }
        lane.removeFirst();
        pending.remove(record.offset());
        version++;
        if (lane.isEmpty()) {
            lanes.remove(key);
            return null;
        }
        return lane.peekFirst();
    }

    /** The offset a restart must resume from, or -1 when nothing was polled yet. */
    long committableOffset() {
        return pending.isEmpty() ? nextOffset : pending.first();
    }

    /** True when {@link #committableOffset()} moved past what was last committed. */
    boolean hasUncommittedProgress() {
        long offset = committableOffset();
        return offset >= 0 && (offset > committedOffset || offset == committedOffset
                && !commitMetadata().equals(committedMetadata));
    }

    /**
     * What a commit at {@link #committableOffset()} must carry so that the next owner skips what was delivered past
     * it: "next=N;owed=a-b,c" (the polled end and the undelivered offsets), or "" when nothing was delivered past the
     * committed offset or the list is too long.
     */
    String commitMetadata() {
        if (metadataVersion != version) {
            metadata = buildMetadata();
            metadataVersion = version;
        }
        return metadata;
    }

    private String buildMetadata() {
        if (pending.isEmpty()) {
            return "";
        }
        StringBuilder owed = new StringBuilder();
        long start = -1;
        long previous = -1;
        for (long offset : pending) {
            if (start >= 0 && offset == previous + 1) {
                previous = offset;
                continue;
            }
            if (start >= 0) {
                appendRange(owed, start, previous);
            }
            start = offset;
            previous = offset;
        }
        appendRange(owed, start, previous);
        if (owed.length() > MAX_METADATA_CHARS) {
            return "";
        }
        return "next=" + nextOffset + ";owed=" + owed;
    }

    private static void appendRange(StringBuilder b, long from, long to) {
        if (!b.isEmpty()) {
            b.append(',');
        }
        b.append(from);
        if (to > from) {
            b.append('-').append(to);
        }
    }

    /** Takes over what the previous owner's commit metadata says was still owed (see {@link #commitMetadata()}). */
    void restore(String metadata) {
        if (metadata == null || !metadata.startsWith("next=")) {
            return;
        }
        try {
            int semicolon = metadata.indexOf(";owed=");
            long next = Long.parseLong(metadata.substring(5, semicolon));
            TreeSet<Long> owed = new TreeSet<>();
            for (String range : metadata.substring(semicolon + 6).split(",")) {
                if (range.isEmpty()) {
                    continue;
                }
                int dash = range.indexOf('-');
                long from = Long.parseLong(dash < 0 ? range : range.substring(0, dash));
                long to = dash < 0 ? from : Long.parseLong(range.substring(dash + 1));
                for (long o = from; o <= to; o++) {
                    owed.add(o);
                }
            }
            owedBefore.addAll(owed);
            restoredUpTo = next;
        } catch (RuntimeException e) {
            // metadata of another format: deliver everything from the committed offset (at-least-once)
            owedBefore.clear();
            restoredUpTo = -1;
        }
    }

    void committed(long offset, String metadata) {
        if (offset >= committedOffset) {
            committedOffset = offset;
            committedMetadata = metadata;
        }
    }

    /** Records polled and not yet delivered. */
    int pendingCount() {
        return pending.size();
    }

    /** Lanes with records waiting (patients with something undelivered). */
    int laneCount() {
        return lanes.size();
    }

    boolean isPaused() {
        return paused;
    }

    void setPaused(boolean paused) {
        this.paused = paused;
    }

    /** The partition went to another consumer: its records here are dropped and no retry of them may run. */
    void revoke() {
        revoked = true;
        lanes.clear();
        pending.clear();
        version++;
    }

    boolean isRevoked() {
        return revoked;
    }

    /** The partition is being handed over: no new delivery may start; running ones may finish. */
    void handOver() {
        handingOver = true;
    }

    /** True when no delivery of this partition may start (revoked, or being handed over). */
    boolean isClosed() {
        return revoked || handingOver;
    }

    /** A worker started delivering one of this partition's records. */
    void deliveryStarted() {
        inFlight++;
    }

    /** A worker finished a delivery attempt (whatever its outcome). */
    void deliveryEnded() {
        inFlight--;
    }

    /** Deliveries running now. */
    int inFlight() {
        return inFlight;
    }

    private static String laneOf(ConsumerRecord<String, byte[]> record) {
        return record.key() == null ? NO_KEY : record.key();
    }
}
