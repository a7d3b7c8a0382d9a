package org.cmm.eventbroker.platform.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import org.apache.camel.impl.DefaultCamelContext;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;
import org.apache.kafka.common.TopicPartition;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 17 item 8, the mechanism (not its timing): while the intake has messages in flight, the Kafka consumers of
 * the same runtime do not start their next record; they start it when the intake is quiet, or after the bounded
 * wait. Kafka's MockConsumer stands in for the broker so that "no record started while the intake is busy" is
 * deterministic.
 */
class IntakePriorityMockConsumerTest {

    private static final TopicPartition TP = new TopicPartition("hl7.adt.a08", 0);
    private static final long LONG_WAIT_MS = TimeUnit.MINUTES.toMillis(5);

    private final DefaultCamelContext context = new DefaultCamelContext();
    private KafkaDeliveryConsumer consumer;

    @AfterEach
    void stop() throws Exception {
        if (consumer != null) {
            consumer.stop();
        }
        context.stop();
    }

    @Test
    void aConsumerWaitsWhileTheIntakeIsBusyAndGoesOnWhenItIsQuiet() throws Exception {
        IntakePriority priority = new IntakePriority(1, LONG_WAIT_MS);
        priority.intakeStarted();
        CompletableFuture<Void> turn = CompletableFuture.runAsync(() -> {
            try {
                priority.awaitTurn();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> priority.yields() == 1);
        assertTrue(!turn.isDone(), "the consumer went on while the intake was busy");
        priority.intakeEnded();
        turn.get(30, TimeUnit.SECONDS);
        assertEquals(0, priority.intakeInFlight());
    }

    @Test
    void theWaitIsBoundedSoAFloodOfIntakeNeverStopsAConsumer() throws Exception {
        IntakePriority priority = new IntakePriority(1, 1);
        priority.intakeStarted(); // never ends
        CompletableFuture.runAsync(() -> {
            try {
                priority.awaitTurn();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        }).get(30, TimeUnit.SECONDS);
        assertEquals(1, priority.yields());
    }

    @Test
    void belowTheThresholdOrTurnedOffAConsumerNeverWaits() throws Exception {
        IntakePriority two = new IntakePriority(2, LONG_WAIT_MS);
        two.intakeStarted();
        two.awaitTurn();
        IntakePriority off = new IntakePriority(1, 0);
        off.intakeStarted();
        off.awaitTurn();
        assertEquals(0, two.yields() + off.yields());
    }

    /** The analytics Streams thread holds back only while the intake is saturated (the busy threshold). */
    @Test
    void aConsumerWaitingWhenBusyGoesOnAtAnOrdinaryRateAndWaitsWhenSaturated() throws Exception {
        IntakePriority priority = new IntakePriority(1, 3, LONG_WAIT_MS);
        priority.intakeStarted();
        priority.intakeStarted();
        priority.awaitTurnWhenBusy(); // 2 in flight: below the busy threshold, at once
        assertEquals(0, priority.yields());
        priority.intakeStarted(); // 3: saturated
        CompletableFuture<Void> turn = CompletableFuture.runAsync(() -> {
            try {
                priority.awaitTurnWhenBusy();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> priority.yields() == 1);
        assertTrue(!turn.isDone(), "the consumer went on while the intake was saturated");
        priority.intakeEnded(); // 2 in flight: no longer saturated
        turn.get(30, TimeUnit.SECONDS);
    }

    @Test
    void aDeliveryConsumerStartsNoRecordWhileTheRuntimesIntakeIsBusy() throws Exception {
        context.getPropertiesComponent().addInitialProperty("cmm.delivery.intake-first.max-wait-ms",
                String.valueOf(LONG_WAIT_MS));
        context.start();
        IntakePriority priority = IntakePriority.of(context);
        assertSame(priority, IntakePriority.of(context), "one per CamelContext");
        KafkaDeliveryEndpoint endpoint = context.getEndpoint("kafka-delivery:intake-first?topicPrefix=hl7.adt",
                KafkaDeliveryEndpoint.class);
        MockConsumer<String, byte[]> kafka = new MockConsumer<>(OffsetResetStrategy.EARLIEST);
        List<Long> delivered = new CopyOnWriteArrayList<>();
        consumer = new KafkaDeliveryConsumer(endpoint,
                exchange -> delivered.add(exchange.getMessage().getHeader("kafka.OFFSET", Long.class)), () -> kafka);
        kafka.updateBeginningOffsets(Map.of(TP, 0L));
        priority.intakeStarted(); // an MLLP message is being taken in
        kafka.schedulePollTask(() -> {
            kafka.rebalance(List.of(TP));
            kafka.addRecord(new ConsumerRecord<>(TP.topic(), 0, 0L, "patient-1", new byte[] {1}));
        });
        consumer.start();
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> priority.yields() >= 1);
        assertEquals(List.of(), delivered, "a record was processed while the intake was busy");

        priority.intakeEnded(); // its ACK is written
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> delivered.size() == 1);
        assertEquals(List.of(0L), delivered);
    }
}
