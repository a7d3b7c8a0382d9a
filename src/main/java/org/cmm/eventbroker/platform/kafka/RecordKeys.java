package org.cmm.eventbroker.platform.kafka;

import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * How a flow's de-duplication key is found again in a record it published, so that {@link
 * KafkaWindowedIdempotentRepository} can rebuild the keys a crash lost (written in batches after the publish) from
 * the data topics themselves. The flow knows its topics and its key; the platform only reads.
 */
public interface RecordKeys {

    /** True for the data topics this flow publishes to (never its dead-letter or de-duplication topic). */
    boolean covers(String topic);

    /** The de-duplication key the flow gave this record when it published it, or null when it has none. */
    String keyOf(ConsumerRecord<String, byte[]> record);
}
