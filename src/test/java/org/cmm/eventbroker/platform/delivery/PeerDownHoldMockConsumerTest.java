package org.cmm.eventbroker.platform.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;
import org.apache.kafka.common.TopicPartition;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A peer that is down is not hammered: after the first attempts of a few different records failed in a row, the next
 * records wait for the peer instead of each trying it, one is tried per probe interval, and a success lets them all
 * go. One patient's failing record among successes never holds the others. Kafka's MockConsumer stands in for the
 * broker so that "this record was not tried" is deterministic; the peer is the route's processor.
 */
class PeerDownHoldMockConsumerTest {

    private static final TopicPartition TP = new TopicPartition("lab.orders.chemistry", 0);
    /** Retries of the failed records never come within a test: what moves is the hold and its probes. */
    private static final String NO_RETRY_SOON = "&initialBackoffMs=600000&maxBackoffMs=600000";

    private final DefaultCamelContext context = new DefaultCamelContext();
    private final MockConsumer<String, byte[]> kafka = new MockConsumer<>(OffsetResetStrategy.EARLIEST);
    private final List<String> tried = new CopyOnWriteArrayList<>();
    private final Set<String> delivered = ConcurrentHashMap.newKeySet();
    /** The peer refuses this many tries, then takes every record (but the poison ones). */
    private final AtomicInteger downForTries = new AtomicInteger(Integer.MAX_VALUE);
    private KafkaDeliveryConsumer consumer;

    @AfterEach
    void stop() throws Exception {
        if (consumer != null) {
            consumer.stop();
        }
        context.stop();
    }

    private void start(String options, Set<String> poisonKeys, int records) throws Exception {
        context.start();
        // one lane thread: the order of the tries is the records' order
        KafkaDeliveryEndpoint endpoint = context.getEndpoint("kafka-delivery:peer-down?topicPrefix=lab.orders&concurrency=1"
                + options,
                KafkaDeliveryEndpoint.class);
        consumer = new KafkaDeliveryConsumer(endpoint, (Exchange exchange) -> {
            String key = exchange.getMessage().getHeader("kafka.KEY", String.class);
            tried.add(key);
            if (tried.size() <= downForTries.get() || poisonKeys.contains(key)) {
                throw new DeliveryFailedException("peer refused the connection");
            }
            delivered.add(key);
        }, () -> kafka);
        kafka.updateBeginningOffsets(Map.of(TP, 0L));
        kafka.schedulePollTask(() -> {
            kafka.rebalance(List.of(TP));
            for (int i = 0; i < records; i++) {
                kafka.addRecord(new ConsumerRecord<>(TP.topic(), 0, i, "patient-" + i, new byte[] {(byte) i}));
            }
        });
        consumer.start();
    }

    @Test
    void afterAFewFirstAttemptsFailedInARowTheNextRecordsWaitForThePeer() throws Exception {
        start("&holdAfterFailures=3&holdProbeMs=600000" + NO_RETRY_SOON, Set.of(), 10);
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> consumer.heldRecords() == 7);
        assertEquals(3, tried.size(), "only the records that found the peer down were tried: " + tried);
        assertTrue(delivered.isEmpty());
    }

    @Test
    void oneHeldRecordIsTriedPerProbeAndTheFirstSuccessLetsEveryHeldRecordGo() throws Exception {
        downForTries.set(4); // the 3 that start the hold and the first probe find it down; the second probe does not
        start("&holdAfterFailures=3&holdProbeMs=50" + NO_RETRY_SOON, Set.of(), 10);
        // the 4 refused wait for their back-off (10 min): the second probe's success released the 5 others
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> delivered.size() == 6);
        assertEquals(0, consumer.heldRecords());
        assertEquals(List.of("patient-0", "patient-1", "patient-2", "patient-3", "patient-4"), tried.subList(0, 5),
                "the records in order, the held ones one per probe");
        assertEquals(10, tried.size(), "each record tried once: " + tried);
    }

    @Test
    void onePatientsFailingRecordAmongSuccessesHoldsNobody() throws Exception {
        downForTries.set(0);
        // every other patient is refused by the peer, the rest are taken: never 3 first attempts failed in a row
        Set<String> poison = Set.of("patient-0", "patient-2", "patient-4", "patient-6", "patient-8");
        start("&holdAfterFailures=3&holdProbeMs=600000" + NO_RETRY_SOON, poison, 10);
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> delivered.size() == 5);
        assertEquals(0, consumer.heldRecords());
        assertEquals(10, tried.size());
    }
}
