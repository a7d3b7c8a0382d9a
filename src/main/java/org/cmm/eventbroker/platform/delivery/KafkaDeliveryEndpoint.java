package org.cmm.eventbroker.platform.delivery;

import org.apache.camel.Category;
import org.apache.camel.Consumer;
import org.apache.camel.Processor;
import org.apache.camel.Producer;
import org.apache.camel.spi.UriEndpoint;
import org.apache.camel.support.DefaultEndpoint;

/** A consumer group delivering the records of the topics matching a pattern, in order per key. */
@UriEndpoint(scheme = "kafka-delivery", title = "Kafka Delivery", syntax = "kafka-delivery:groupId",
             consumerOnly = true, category = {Category.MESSAGING})
public class KafkaDeliveryEndpoint extends DefaultEndpoint {

    private String groupId;
    private String topic;
    private String topicPrefix;
    private String topicTypes;
    private int concurrency = 4;
    private long initialBackoffMs = 1_000;
    private long maxBackoffMs = 60_000;
    private double backoffMultiplier = 2.0;
    private int maxAttempts = -1;
    private int maxPendingPerPartition = 1_000;
    private Integer holdAfterFailures;
    private Long holdProbeMs;
    private int maxPollRecords = 500;
    private long shutdownTimeoutMs = 20_000;

    public KafkaDeliveryEndpoint(String uri, KafkaDeliveryComponent component) {
        super(uri, component);
    }

    @Override
    public Producer createProducer() {
        throw new UnsupportedOperationException("kafka-delivery only consumes; publish with the kafka component");
    }

    @Override
    public Consumer createConsumer(Processor processor) throws Exception {
        if (groupId == null || groupId.isBlank()) {
            throw new IllegalArgumentException("kafka-delivery needs a groupId (kafka-delivery:<groupId>)");
        }
        topicPattern(); // exactly one of topic and topicPrefix, named in the error otherwise
        KafkaDeliveryConsumer consumer = new KafkaDeliveryConsumer(this, processor);
        configureConsumer(consumer);
        return consumer;
    }

    public String getGroupId() {
        return groupId;
    }

    /** The Kafka consumer group; instances with the same group share the partitions. */
    public void setGroupId(String groupId) {
        this.groupId = groupId;
    }

    public String getTopic() {
        return topic;
    }

    /** One topic to consume (fhir.resource.changed), instead of a family by {@link #setTopicPrefix topicPrefix}. */
    public void setTopic(String topic) {
        this.topic = topic;
    }

    public String getTopicPrefix() {
        return topicPrefix;
    }

    /**
     * The topics consumed are {@code <topicPrefix>.<type>} (lab.orders.chemistry): the prefix without the trailing dot.
     * Topics created later are picked up within seconds.
     */
    public void setTopicPrefix(String topicPrefix) {
        this.topicPrefix = topicPrefix;
    }

    public String getTopicTypes() {
        return topicTypes;
    }

    /** Comma separated types to consume (normal,abnormal,critical); empty: every {@code <topicPrefix>.<type>}. */
    public void setTopicTypes(String topicTypes) {
        this.topicTypes = topicTypes;
    }

    /** The subscription: the prefix, a dot, then one of the types (or any single topic segment). */
    public java.util.regex.Pattern topicPattern() {
        boolean one = topic != null && !topic.isBlank();
        boolean family = topicPrefix != null && !topicPrefix.isBlank();
        if (one == family) {
            throw new IllegalArgumentException("kafka-delivery:" + groupId + " needs either a topic (fhir.resource.changed)"
                    + " or a topicPrefix (e.g. lab.orders, with topicTypes), not both");
        }
        if (one) {
            return java.util.regex.Pattern.compile(java.util.regex.Pattern.quote(topic));
        }
        String types = topicTypes == null || topicTypes.isBlank() ? "[^.]+"
                : "(" + String.join("|", java.util.Arrays.stream(topicTypes.split(",")).map(String::trim)
                        .filter(t -> !t.isEmpty()).map(java.util.regex.Pattern::quote).toList()) + ")";
        return java.util.regex.Pattern.compile(java.util.regex.Pattern.quote(topicPrefix + ".") + types);
    }

    public int getConcurrency() {
        return concurrency;
    }

    /** Records (of different keys) processed at once. */
    public void setConcurrency(int concurrency) {
        this.concurrency = concurrency;
    }

    public long getInitialBackoffMs() {
        return initialBackoffMs;
    }

    /** Wait before the first retry of a failed record. */
    public void setInitialBackoffMs(long initialBackoffMs) {
        this.initialBackoffMs = initialBackoffMs;
    }

    public long getMaxBackoffMs() {
        return maxBackoffMs;
    }

    /** Longest wait between two attempts. */
    public void setMaxBackoffMs(long maxBackoffMs) {
        this.maxBackoffMs = maxBackoffMs;
    }

    public double getBackoffMultiplier() {
        return backoffMultiplier;
    }

    /** Each retry waits this many times longer than the previous one, up to maxBackoffMs. */
    public void setBackoffMultiplier(double backoffMultiplier) {
        this.backoffMultiplier = backoffMultiplier;
    }

    public int getMaxAttempts() {
        return maxAttempts;
    }

    /**
     * Attempts per record; -1 (default) retries forever. The last attempt carries the header
     * {@value KafkaDeliveryConsumer#FINAL_ATTEMPT} so the route can dead-letter instead of failing again.
     */
    public void setMaxAttempts(int maxAttempts) {
        this.maxAttempts = maxAttempts;
    }

    public Integer getHoldAfterFailures() {
        return holdAfterFailures;
    }

    /**
     * First attempts of different records failing in a row after which the peer counts as down and new records wait
     * for it (KafkaDeliveryConsumer); 0 turns it off, for a flow whose records go to many peers. Unset: the runtime's
     * cmm.delivery.peer-down.hold-after-failures (5).
     */
    public void setHoldAfterFailures(Integer holdAfterFailures) {
        this.holdAfterFailures = holdAfterFailures;
    }

    public Long getHoldProbeMs() {
        return holdProbeMs;
    }

    /** While the peer counts as down, one waiting record is tried this often. Unset: cmm.delivery.peer-down.probe-ms (1000). */
    public void setHoldProbeMs(Long holdProbeMs) {
        this.holdProbeMs = holdProbeMs;
    }

    public int getMaxPendingPerPartition() {
        return maxPendingPerPartition;
    }

    /** Undelivered records held per partition before its fetching pauses. */
    public void setMaxPendingPerPartition(int maxPendingPerPartition) {
        this.maxPendingPerPartition = maxPendingPerPartition;
    }

    public int getMaxPollRecords() {
        return maxPollRecords;
    }

    /** Kafka's max.poll.records. */
    public void setMaxPollRecords(int maxPollRecords) {
        this.maxPollRecords = maxPollRecords;
    }

    public long getShutdownTimeoutMs() {
        return shutdownTimeoutMs;
    }

    /** On stop, how long records being delivered may take to finish before they are left to the next start. */
    public void setShutdownTimeoutMs(long shutdownTimeoutMs) {
        this.shutdownTimeoutMs = shutdownTimeoutMs;
    }
}
