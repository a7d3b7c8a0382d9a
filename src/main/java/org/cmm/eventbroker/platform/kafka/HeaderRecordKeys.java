package org.cmm.eventbroker.platform.kafka;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;

/**
 * A flow's de-duplication key found again in a Kafka header of the records it published, for the flows whose key
 * travels with the record (the HTTP intakes key on the CloudEvents id {@code ce_id}, a name-based UUID of what makes
 * a resend a resend). Lets {@link KafkaWindowedIdempotentRepository} rebuild, at start, the keys a crash lost between
 * the publish and the key's batch, as {@code Hl7RecordKeys} does for HL7 (issue 17, docs/reliability.md).
 *
 * <p>The data topics are {@code <topicPrefix>.<level>...} with exactly {@code levels} levels after the prefix, minus
 * the {@code excludedTopics} (the flow's de-duplication and dead-letter topics when they have that shape) and the
 * topics starting with one of the {@code excludedTopicPrefixes} (another family living under the same prefix, such as
 * {@code device.alerts.<kind>} under {@code device.<device-type>.<data-type>}). Where other flows write the same
 * topics with the same kind of key (device readings over MQTT and over HTTP), {@code requiredHeader} keeps only this
 * flow's records, so the keys rebuilt at start are exactly those the flow remembered while running.
 */
public class HeaderRecordKeys implements RecordKeys {

    private Pattern topics;
    private String topicPrefix;
    private int levels = 2;
    private String header = "ce_id";
    private Set<String> excluded = Set.of();
    private List<String> excludedPrefixes = List.of();
    private String requiredName;
    private byte[] requiredValue;

    /** The flow's topic prefix (e.g. {@code ehr}). */
    public void setTopicPrefix(String topicPrefix) {
        this.topicPrefix = topicPrefix;
        topics = null;
    }

    /** How many dot-separated levels follow the prefix in a data topic (ehr.vendor.type.operation: 3). */
    public void setLevels(int levels) {
        this.levels = levels;
        topics = null;
    }

    /** The header holding the key (default {@code ce_id}). */
    public void setHeader(String header) {
        this.header = header;
    }

    /** Topics of that shape that are not data topics, comma-separated. */
    public void setExcludedTopics(String excludedTopics) {
        this.excluded = excludedTopics == null || excludedTopics.isBlank() ? Set.of()
                : Set.copyOf(Arrays.asList(excludedTopics.trim().split("\\s*,\\s*")));
    }

    /** Topic name prefixes of that shape that are not data topics, comma-separated (e.g. {@code device.alerts.}). */
    public void setExcludedTopicPrefixes(String excludedTopicPrefixes) {
        this.excludedPrefixes = excludedTopicPrefixes == null || excludedTopicPrefixes.isBlank() ? List.of()
                : List.of(excludedTopicPrefixes.trim().split("\\s*,\\s*"));
    }

    /**
     * {@code name=value}: only records carrying this header with this value hold this flow's keys (e.g.
     * {@code device_ingest=http}); unset, every record of the data topics does.
     */
    public void setRequiredHeader(String requiredHeader) {
        if (requiredHeader == null || requiredHeader.isBlank()) {
            requiredName = null;
            requiredValue = null;
            return;
        }
        int equals = requiredHeader.indexOf('=');
        if (equals <= 0) {
            throw new IllegalArgumentException("requiredHeader must be name=value, not " + requiredHeader);
        }
        requiredName = requiredHeader.substring(0, equals).trim();
        requiredValue = requiredHeader.substring(equals + 1).trim().getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public boolean covers(String topic) {
        if (topicPrefix == null || excluded.contains(topic)) {
            return false;
        }
        for (String prefix : excludedPrefixes) {
            if (topic.startsWith(prefix)) {
                return false;
            }
        }
        Pattern p = topics;
        if (p == null) {
            p = Pattern.compile(Pattern.quote(topicPrefix) + "(\\.[^.]+){" + levels + "}");
            topics = p;
        }
        return p.matcher(topic).matches();
    }

    @Override
    public String keyOf(ConsumerRecord<String, byte[]> record) {
        if (requiredName != null) {
            Header required = record.headers().lastHeader(requiredName);
            if (required == null || !Arrays.equals(requiredValue, required.value())) {
                return null;
            }
        }
        Header h = record.headers().lastHeader(header);
        if (h == null || h.value() == null || h.value().length == 0) {
            return null;
        }
        return new String(h.value(), StandardCharsets.UTF_8);
    }
}
