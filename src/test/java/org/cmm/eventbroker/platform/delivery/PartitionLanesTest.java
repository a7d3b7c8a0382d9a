package org.cmm.eventbroker.platform.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

class PartitionLanesTest {

    private static ConsumerRecord<String, byte[]> record(long offset, String key) {
        return new ConsumerRecord<>("lab.orders.chemistry", 0, offset, key, new byte[0]);
    }

    @Test
    void onlyTheFirstRecordOfEachPatientIsDeliverableAndTheNextFollowsWhenItIsDone() {
        PartitionLanes lanes = new PartitionLanes();
        ConsumerRecord<String, byte[]> a0 = record(0, "A");
        ConsumerRecord<String, byte[]> b1 = record(1, "B");
        ConsumerRecord<String, byte[]> a2 = record(2, "A");
        assertTrue(lanes.add(a0));
        assertTrue(lanes.add(b1));
        assertFalse(lanes.add(a2), "A's second record waits behind its first");
        assertSame(a2, lanes.delivered(a0));
        assertNull(lanes.delivered(b1));
        assertThrows(IllegalStateException.class, () -> lanes.delivered(b1));
    }

    @Test
    void theCommittableOffsetIsTheOldestUndeliveredRecord() {
        PartitionLanes lanes = new PartitionLanes();
        assertEquals(-1, lanes.committableOffset());
        ConsumerRecord<String, byte[]> a0 = record(10, "A");
        ConsumerRecord<String, byte[]> b1 = record(11, "B");
        ConsumerRecord<String, byte[]> c2 = record(12, "C");
        lanes.add(a0);
        lanes.add(b1);
        lanes.add(c2);
        lanes.delivered(b1);
        lanes.delivered(c2);
        assertEquals(10, lanes.committableOffset(), "A is still being retried");
        assertEquals("next=13;owed=10", lanes.commitMetadata());
        lanes.delivered(a0);
        assertEquals(13, lanes.committableOffset());
        assertEquals("", lanes.commitMetadata());
    }

    @Test
    void theNextOwnerSkipsWhatWasDeliveredPastTheCommittedOffset() {
        PartitionLanes before = new PartitionLanes();
        java.util.List<ConsumerRecord<String, byte[]>> records = new java.util.ArrayList<>();
        for (long o = 0; o < 6; o++) {
            records.add(record(o, o % 2 == 0 ? "A" : "B"));
            before.add(records.get((int) o));
        }
        // B's records 1, 3, 5 were delivered; A's 0 is being retried, so 2 and 4 wait
        before.delivered(records.get(1));
        before.delivered(records.get(3));
        before.delivered(records.get(5));
        assertEquals(0, before.committableOffset());
        String metadata = before.commitMetadata();
        assertEquals("next=6;owed=0,2,4", metadata);

        PartitionLanes after = new PartitionLanes();
        after.restore(metadata);
        for (long o = 0; o < 7; o++) {
            boolean deliverable = after.add(record(o, o % 2 == 0 ? "A" : "B"));
            assertEquals(o == 0, deliverable, "offset " + o + " (A waits behind 0)");
        }
        assertEquals(4, after.pendingCount(), "0, 2, 4 and the new 6 are owed; 1, 3, 5 are not sent again");
    }

    @Test
    void unreadableMetadataMeansEverythingFromTheCommittedOffsetIsDeliveredAgain() {
        PartitionLanes after = new PartitionLanes();
        after.restore("next=x;owed=");
        assertTrue(after.add(record(3, "A")));
        assertTrue(after.add(record(4, "B")));
        assertEquals(2, after.pendingCount());
    }
}
