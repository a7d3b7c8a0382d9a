package org.cmm.eventbroker.platform.kafka;

import java.nio.charset.StandardCharsets;
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
 * the {@code excludedTopics} (the flow's de-duplication and dead-letter topics when they have that shape).
 */
public class HeaderRecordKeys implements RecordKeys {

    private Pattern topics;
    private String topicPrefix;
    private int levels = 2;
    private String header = "ce_id";
    private Set<String> excluded = Set.of();

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
                : Set.of(excludedTopics.trim().split("\\s*,\\s*"));
    }

    @Override
    public boolean covers(String topic) {
        if (topicPrefix == null || excluded.contains(topic)) {
            return false;
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
        Header h = record.headers().lastHeader(header);
        if (h == null || h.value() == null || h.value().length == 0) {
            return null;
        }
        return new String(h.value(), StandardCharsets.UTF_8);
    }
}
