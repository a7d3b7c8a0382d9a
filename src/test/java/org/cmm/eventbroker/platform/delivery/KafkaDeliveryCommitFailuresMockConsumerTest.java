package org.cmm.eventbroker.platform.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.camel.impl.DefaultCamelContext;
import org.apache.kafka.clients.consumer.CommitFailedException;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RebalanceInProgressException;
import org.apache.kafka.common.errors.TimeoutException;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A commit that times out or meets a rebalance must not end the delivery consumer's poll thread (on main it did:
 * the flow then stopped delivering while readiness said UP). Kafka's own MockConsumer stands in for the broker,
 * because a commit timeout or a rebalance exception at one exact commit cannot be provoked reliably on a real one.
 */
class KafkaDeliveryCommitFailuresMockConsumerTest {

    private static final TopicPartition TP = new TopicPartition("lab.orders.chemistry", 0);

    private final DefaultCamelContext context = new DefaultCamelContext();
    private KafkaDeliveryConsumer consumer;

    /** Fails the first commits with what a broker under trouble answers, then commits. */
    private static final class FailingCommits extends MockConsumer<String, byte[]> {
        final List<RuntimeException> failures = new CopyOnWriteArrayList<>(List.of(
                new TimeoutException("commit timed out"),
                new RebalanceInProgressException("rebalance in progress"),
                new CommitFailedException("the group rebalanced")));
        final AtomicInteger failed = new AtomicInteger();

        FailingCommits() {
            super(OffsetResetStrategy.EARLIEST);
        }

        @Override
        public synchronized void commitSync(Map<TopicPartition, OffsetAndMetadata> offsets) {
            if (!failures.isEmpty()) {
                failed.incrementAndGet();
                throw failures.remove(0);
            }
            super.commitSync(offsets);
        }
    }

    @AfterEach
    void stop() throws Exception {
        if (consumer != null) {
            consumer.stop();
        }
        context.stop();
    }

    @Test
    void thePollThreadKeepsDeliveringAndCommitsAfterCommitTimeoutsAndRebalanceExceptions() throws Exception {
        context.start();
        KafkaDeliveryEndpoint endpoint = context.getEndpoint(
                "kafka-delivery:commit-failures?topicPrefix=lab.orders&initialBackoffMs=50", KafkaDeliveryEndpoint.class);
        FailingCommits kafka = new FailingCommits();
        List<Long> delivered = new CopyOnWriteArrayList<>();
        consumer = new KafkaDeliveryConsumer(endpoint,
                exchange -> delivered.add(exchange.getMessage().getHeader("kafka.OFFSET", Long.class)), () -> kafka);
        kafka.updateBeginningOffsets(Map.of(TP, 0L));
        kafka.schedulePollTask(() -> {
            kafka.rebalance(List.of(TP));
            kafka.addRecord(new ConsumerRecord<>(TP.topic(), 0, 0L, "patient-1", new byte[] {1}));
        });
        consumer.start();
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> kafka.failed.get() >= 3);
        for (long offset = 1; offset <= 3; offset++) {
            long o = offset;
            kafka.schedulePollTask(() -> kafka.addRecord(new ConsumerRecord<>(TP.topic(), 0, o, "patient-" + o, new byte[] {1})));
        }
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> {
            OffsetAndMetadata committed = kafka.committed(Set.of(TP)).get(TP);
            return committed != null && committed.offset() == 4;
        });
        assertEquals(4, delivered.size(), "every record delivered once: " + delivered);
        assertTrue(consumer.isPolling(), "the poll thread is still running");
    }

    @Test
    void aFatalPollErrorIsReportedSoReadinessCanGoDown() throws Exception {
        context.start();
        KafkaDeliveryEndpoint endpoint = context.getEndpoint("kafka-delivery:fatal?topicPrefix=lab.orders",
                KafkaDeliveryEndpoint.class);
        MockConsumer<String, byte[]> kafka = new MockConsumer<>(OffsetResetStrategy.EARLIEST);
        kafka.setPollException(new org.apache.kafka.common.errors.AuthorizationException("not allowed"));
        consumer = new KafkaDeliveryConsumer(endpoint, exchange -> { }, () -> kafka);
        consumer.start();
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> consumer.failure() != null);
        assertTrue(!consumer.isPolling());
    }
}
