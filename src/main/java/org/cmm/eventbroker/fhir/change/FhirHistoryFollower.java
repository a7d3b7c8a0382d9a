package org.cmm.eventbroker.fhir.change;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.apache.camel.CamelContext;
import org.apache.camel.CamelContextAware;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.support.service.ServiceSupport;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.cmm.eventbroker.platform.kafka.CompactedTopic;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.cmm.eventbroker.platform.kafka.TopicsToEnd;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.InstantType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The steps of the history connector (routes/fhir/fhir-history-connector.camel.yaml) that follows a FHIR server's
 * {@code _history}: where the next poll starts ({@link #prepare}), the changes of each page ({@link #collect}), which
 * of them are new and in which order ({@link #order}), what Kafka acknowledged ({@link #passed}) and the durable
 * cursor ({@link #saveCursor}).
 *
 * <p>The cursor lives on a compacted topic (key: the server base URL), read at the first poll and written only after
 * the records it passes were acknowledged, so a restart resumes without loss and, unless the runtime died between a
 * record's acknowledgement and the cursor write, without repeats. Polls ask for {@code _since = latest - overlap}, so a
 * version the server committed late with a slightly earlier time is still seen; versions already published in that
 * window are skipped. History entries that cannot be read are logged by position and skipped. Logs name ids only.
 */
public class FhirHistoryFollower extends ServiceSupport implements CamelContextAware {

    private static final Logger LOG = LoggerFactory.getLogger(FhirHistoryFollower.class);
    static final String CHANGES = "fhirHistoryChanges";
    static final String HAS_NEXT = "fhirHistoryHasNextPage";

    private final FhirChangeReader reader = new FhirChangeReader();
    private CamelContext camelContext;
    private KafkaClients kafka;
    /** Set by the route from cmm.fhir.history.cursor-topic; required. */
    private String cursorTopic;
    private String serverBaseUrl;
    private String topicPrefix = "fhir";
    private long overlapMs = 2000;
    private long writeTimeoutMs = 5000;
    private long loadTimeoutMs = 60_000;
    private int pageSize = 100;
    private FhirHistoryCursor cursor;
    private KafkaProducer<String, byte[]> producer;

    @Override
    public void setCamelContext(CamelContext camelContext) {
        this.camelContext = camelContext;
    }

    @Override
    public CamelContext getCamelContext() {
        return camelContext;
    }

    public void setCursorTopic(String cursorTopic) {
        this.cursorTopic = cursorTopic;
    }

    public void setServerBaseUrl(String serverBaseUrl) {
        this.serverBaseUrl = serverBaseUrl;
    }

    public void setTopicPrefix(String topicPrefix) {
        this.topicPrefix = topicPrefix;
    }

    public void setOverlapMs(long overlapMs) {
        this.overlapMs = overlapMs;
    }

    public void setWriteTimeoutMs(long writeTimeoutMs) {
        this.writeTimeoutMs = writeTimeoutMs;
    }

    public void setPageSize(int pageSize) {
        this.pageSize = pageSize;
    }

    /** Starts a poll: loads the cursor once, sets the history call's {@code _since} and {@code _count}. */
    public synchronized void prepare(Exchange exchange) throws Exception {
        start();
        if (cursor == null) {
            cursor = loadCursor();
            LOG.info("FHIR history of {}: resuming from {}", serverBaseUrl, cursor);
        }
        Message in = exchange.getMessage();
        Long since = cursor.sinceMs(overlapMs);
        if (since != null) {
            in.setHeader("CamelFhir.cutoff", new Date(since));
        }
        in.setHeader("CamelFhir.count", pageSize);
        exchange.setProperty(CHANGES, new ArrayList<FhirChange>());
    }

    /** Adds the changes of the history page in the body; notes whether there is a next page (header for load-page). */
    @SuppressWarnings("unchecked")
    public void collect(Exchange exchange) throws org.apache.camel.InvalidPayloadException {
        Bundle page = exchange.getMessage().getMandatoryBody(Bundle.class);
        List<FhirChange> changes = exchange.getProperty(CHANGES, List.class);
        int index = 0;
        for (Bundle.BundleEntryComponent entry : page.getEntry()) {
            Bundle single = new Bundle().setType(Bundle.BundleType.HISTORY);
            single.addEntry(entry);
            try {
                changes.addAll(reader.changes(single));
            } catch (FhirChangeRejectedException e) {
                LOG.warn("FHIR history of {}: entry {} of a page skipped: {}", serverBaseUrl, index, e.getReason());
            }
            index++;
        }
        boolean hasNext = page.getLink(Bundle.LINK_NEXT) != null;
        LOG.debug("FHIR history of {}: page of {} entries, next page: {}", serverBaseUrl, page.getEntry().size(), hasNext);
        exchange.setProperty(HAS_NEXT, hasNext);
        exchange.getMessage().setHeader("CamelFhir.bundle", page);
    }

    /** The new changes of this poll, oldest first (a resource's versions in order). */
    @SuppressWarnings("unchecked")
    public synchronized List<FhirChange> order(Exchange exchange) {
        List<FhirChange> changes = exchange.getProperty(CHANGES, List.class);
        List<FhirChange> fresh = new ArrayList<>();
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (FhirChange change : changes) {
            if (!cursor.isPublished(change.eventId()) && seen.add(change.eventId())) {
                fresh.add(change);
            }
        }
        fresh.sort(Comparator.comparingLong(FhirHistoryFollower::lastUpdatedMs)
                .thenComparing(FhirChange::key)
                .thenComparingLong(c -> versionNumber(c.versionId())));
        exchange.getMessage().removeHeader("CamelFhir.bundle");
        if (!fresh.isEmpty()) {
            LOG.info("FHIR history of {}: {} new versions", serverBaseUrl, fresh.size());
        }
        return fresh;
    }

    /** Makes the exchange the record of the change in its body (ce_source = the server base URL). */
    public void describe(Exchange exchange) throws org.apache.camel.InvalidPayloadException {
        FhirChange change = exchange.getMessage().getMandatoryBody(FhirChange.class);
        exchange.setProperty("fhirHistoryChange", change);
        change.applyTo(exchange.getMessage(), serverBaseUrl, topicPrefix);
    }

    /** Kafka acknowledged the change's records: the cursor passes it (in memory; {@link #saveCursor} makes it durable). */
    public synchronized void passed(Exchange exchange) {
        FhirChange change = exchange.getProperty("fhirHistoryChange", FhirChange.class);
        cursor.passed(change.eventId(), change.lastUpdated() == null ? null : lastUpdatedMs(change), overlapMs);
    }

    /** Writes the cursor to the compacted topic; returns once Kafka acknowledged it. */
    public synchronized void saveCursor() throws Exception {
        if (cursor == null || cursor.isEmpty()) {
            return;
        }
        try {
            producer.send(new ProducerRecord<>(cursorTopic, serverBaseUrl, cursor.toJson()))
                    .get(writeTimeoutMs + 1000, TimeUnit.MILLISECONDS);
        } catch (ExecutionException | TimeoutException e) {
            Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
            throw new IllegalStateException("FHIR history cursor not written to " + cursorTopic + ": "
                    + cause.getClass().getSimpleName(), cause);
        }
    }

    /** The change's lastUpdated in epoch ms; unknown times sort last. */
    public static long lastUpdatedMs(FhirChange change) {
        if (change.lastUpdated() == null) {
            return Long.MAX_VALUE;
        }
        return new InstantType(change.lastUpdated()).getValue().getTime();
    }

    private static long versionNumber(String versionId) {
        try {
            return versionId == null ? 0 : Long.parseLong(versionId);
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private FhirHistoryCursor loadCursor() throws Exception {
        byte[][] last = new byte[1][];
        try (KafkaConsumer<String, byte[]> consumer = kafka.consumer("fhir-history-cursor-loader", null, Map.of(
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false",
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"))) {
            TopicsToEnd.read(consumer, List.of(cursorTopic), 0, Duration.ofMillis(loadTimeoutMs), r -> {
                if (serverBaseUrl.equals(r.key())) {
                    last[0] = r.value();
                }
            });
        }
        return FhirHistoryCursor.fromJson(last[0]);
    }

    @Override
    protected void doStart() throws Exception {
        org.apache.camel.util.ObjectHelper.notNull(cursorTopic, "cursorTopic (cmm.fhir.history.cursor-topic)");
        if (camelContext == null) {
            throw new IllegalStateException("fhirHistoryFollower needs the CamelContext (a bean of the registry)");
        }
        if (serverBaseUrl == null || serverBaseUrl.isBlank()) {
            throw new IllegalArgumentException("fhirHistoryFollower needs serverBaseUrl (cmm.fhir.server.base-url)");
        }
        kafka = KafkaClients.of(camelContext);
        CompactedTopic.ensure(kafka, cursorTopic, 1);
        producer = kafka.producer("fhir-history-cursor", Map.of(
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true",
                ProducerConfig.LINGER_MS_CONFIG, "0",
                ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, String.valueOf(writeTimeoutMs),
                ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, String.valueOf(Math.max(1000, writeTimeoutMs / 2)),
                ProducerConfig.MAX_BLOCK_MS_CONFIG, String.valueOf(Math.max(1000, writeTimeoutMs / 2))));
    }

    @Override
    protected void doStop() {
        if (producer != null) {
            producer.close(Duration.ofSeconds(10));
            producer = null;
        }
        cursor = null;
    }
}
