package org.cmm.eventbroker.eventapi;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The slow-client policy of a stream, with Kafka's MockConsumer standing in for the broker (a unit test: the
 * scheduling and the policy, not Kafka): a client whose connection is full is not polled and is disconnected after
 * the stall timeout with a reason, while another client of the same topic keeps receiving; positions are exact.
 */
class StreamSessionMockConsumerTest {

    private final ScheduledThreadPoolExecutor scheduler = new ScheduledThreadPoolExecutor(2);

    @AfterEach
    void stop() {
        scheduler.shutdownNow();
    }

    private static final class RecordingSink implements StreamSession.Sink {
        final AtomicBoolean full = new AtomicBoolean();
        final List<String> ids = new CopyOnWriteArrayList<>();
        final List<Long> offsets = new CopyOnWriteArrayList<>();
        final AtomicReference<String> closed = new AtomicReference<>();

        @Override
        public boolean full() {
            return full.get();
        }

        @Override
        public void send(String id, ConsumerRecord<String, byte[]> record) {
            ids.add(id);
            offsets.add(record.offset());
        }

        @Override
        public void heartbeat() {
        }

        @Override
        public void close(String reason) {
            closed.set(reason);
        }
    }

    private static MockConsumer<String, byte[]> consumerWith(int records) {
        MockConsumer<String, byte[]> consumer = new MockConsumer<>(OffsetResetStrategy.EARLIEST);
        TopicPartition tp = new TopicPartition("t", 0);
        consumer.updateBeginningOffsets(Map.of(tp, 0L));
        consumer.schedulePollTask(() -> {
            for (int i = 0; i < records; i++) {
                consumer.addRecord(new ConsumerRecord<>("t", 0, i, "k" + (i % 2), new byte[] {(byte) i}));
            }
        });
        return consumer;
    }

    @Test
    void aStalledClientIsDisconnectedWhileAnotherKeepsReceiving() {
        RecordingSink slow = new RecordingSink();
        slow.full.set(true);
        RecordingSink fast = new RecordingSink();
        AtomicBoolean slowEnded = new AtomicBoolean();
        MockConsumer<String, byte[]> slowConsumer = consumerWith(5);
        new StreamSession("t", slowConsumer, Map.of(0, 0L), null, slow, 60_000, 300, () -> slowEnded.set(true))
                .schedule(scheduler, 10);
        new StreamSession("t", consumerWith(5), Map.of(0, 0L), null, fast, 60_000, 300, () -> { })
                .schedule(scheduler, 10);
        await().atMost(Duration.ofSeconds(5)).until(() -> fast.offsets.size() == 5);
        await().atMost(Duration.ofSeconds(5)).until(slowEnded::get);
        assertTrue(slow.closed.get().startsWith("slow consumer"), slow.closed.get());
        assertEquals(List.of(), slow.offsets, "nothing was pushed at a full connection");
        assertTrue(slowConsumer.closed(), "its consumer is closed");
        assertEquals(List.of(0L, 1L, 2L, 3L, 4L), fast.offsets);
        assertEquals(Map.of(0, 3L), Position.decode(fast.ids.get(2), "t").nextOffsets(), "the id is the position after");
    }

    @Test
    void aKeyFilterSkipsOtherKeysButItsPositionsMovePastThem() {
        RecordingSink sink = new RecordingSink();
        new StreamSession("t", consumerWith(5), Map.of(0, 0L), "k1", sink, 60_000, 300, () -> { })
                .schedule(scheduler, 10);
        await().atMost(Duration.ofSeconds(5)).until(() -> sink.offsets.size() == 2);
        assertEquals(List.of(1L, 3L), sink.offsets);
        assertEquals(Map.of(0, 4L), Position.decode(sink.ids.get(1), "t").nextOffsets());
    }
}
