package org.cmm.eventbroker.cds;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

import org.apache.camel.CamelContext;
import org.apache.camel.CamelContextAware;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;
import org.apache.camel.component.kafka.KafkaConstants;
import org.apache.camel.support.service.ServiceSupport;
import org.cmm.eventbroker.platform.delivery.DeliveryRejectedException;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The rules engine of routes/cds/cds-rules-engine.camel.yaml: reads a clinical event from the exchange, evaluates the
 * rules against the patient's state, writes the new state to cds.state (acknowledged by Kafka) and leaves the alerts
 * to publish as the body (a list of {@link CdsAlert}). A patient's events are evaluated one at a time, whatever topic
 * they come from. The rules file is read when the bean is configured, so a bad file stops the runtime at start.
 */
public class ClinicalDecisionSupport extends ServiceSupport implements Processor, CamelContextAware {

    /** Exchange property naming the follow-up a care-gap alert closes once it is on Kafka. */
    public static final String FOLLOW_UP = "CamelCmmCdsFollowUp";
    /** Header with the number of alerts an event raised. */
    public static final String ALERT_COUNT = "cds_alert_count";

    private static final Logger LOG = LoggerFactory.getLogger(ClinicalDecisionSupport.class);
    private static final int LOCK_STRIPES = 256;

    private final Object[] locks = new Object[LOCK_STRIPES];
    private String rulesFile;
    private CdsRuleEngine engine;
    private CamelContext camelContext;
    /** Set by the route from cmm.cds.state-topic; required. */
    private String stateTopic;
    private long stateWriteTimeoutMs = 5000;
    private long stateLoadTimeoutMs = 120_000;
    private String hl7TopicPrefix;
    private String labResultsTopicPrefix;
    private String pharmacyOrdersTopicPrefix;
    private String pharmacyDispensingTopicPrefix;
    private Set<String> ignoredStatuses = Set.of("D", "W", "X");
    private CdsStateStore store;
    private ClinicalEventReader reader;

    public ClinicalDecisionSupport() {
        for (int i = 0; i < LOCK_STRIPES; i++) {
            locks[i] = new Object();
        }
    }

    /** The rules file (path relative to the working folder, file: or classpath:); validated here. */
    public void setRulesFile(String rulesFile) {
        this.rulesFile = rulesFile;
        this.engine = new CdsRuleEngine(CdsRulesFile.load(rulesFile));
        LOG.info("CDS rules from {}: {} critical-result, {} drug-interaction, {} care-gap", rulesFile,
                engine.rules().criticalResults().size(), engine.rules().drugInteractions().size(), engine.rules().careGaps().size());
    }

    @Override
    public void setCamelContext(CamelContext camelContext) {
        this.camelContext = camelContext;
    }

    @Override
    public CamelContext getCamelContext() {
        return camelContext;
    }

    public void setStateTopic(String stateTopic) {
        this.stateTopic = stateTopic;
    }

    public void setStateWriteTimeoutMs(long stateWriteTimeoutMs) {
        this.stateWriteTimeoutMs = stateWriteTimeoutMs;
    }

    public void setStateLoadTimeoutMs(long stateLoadTimeoutMs) {
        this.stateLoadTimeoutMs = stateLoadTimeoutMs;
    }

    public void setHl7TopicPrefix(String hl7TopicPrefix) {
        this.hl7TopicPrefix = hl7TopicPrefix;
    }

    public void setLabResultsTopicPrefix(String labResultsTopicPrefix) {
        this.labResultsTopicPrefix = labResultsTopicPrefix;
    }

    public void setPharmacyOrdersTopicPrefix(String pharmacyOrdersTopicPrefix) {
        this.pharmacyOrdersTopicPrefix = pharmacyOrdersTopicPrefix;
    }

    public void setPharmacyDispensingTopicPrefix(String pharmacyDispensingTopicPrefix) {
        this.pharmacyDispensingTopicPrefix = pharmacyDispensingTopicPrefix;
    }

    /** OBX-11 statuses whose OBX do not count (cmm.lab.results.ignored-statuses). */
    public void setIgnoredStatuses(String statuses) {
        this.ignoredStatuses = java.util.Arrays.stream(statuses.split(",")).map(s -> s.trim().toUpperCase(Locale.ROOT))
                .filter(s -> !s.isEmpty()).collect(Collectors.toUnmodifiableSet());
    }

    @Override
    protected void doStart() throws Exception {
        org.apache.camel.util.ObjectHelper.notNull(stateTopic, "stateTopic (cmm.cds.state-topic)");
        if (engine == null) {
            throw new IllegalArgumentException("cdsRulesEngine needs rulesFile (cmm.cds.rules-file)");
        }
        if (camelContext == null) {
            throw new IllegalStateException("cdsRulesEngine needs the CamelContext (a bean of the registry)");
        }
        reader = new ClinicalEventReader(new ClinicalEventReader.TopicPrefixes(hl7TopicPrefix, labResultsTopicPrefix,
                pharmacyOrdersTopicPrefix, pharmacyDispensingTopicPrefix), ignoredStatuses);
        CdsStateStore s = new CdsStateStore(KafkaClients.of(camelContext), stateTopic, stateWriteTimeoutMs);
        s.start(stateLoadTimeoutMs);
        store = s;
        for (String patient : store.patients()) {
            PatientState cleaned = engine.forgetCareGapsOfRemovedRules(store.get(patient));
            if (cleaned != null) {
                store.put(patient, cleaned);
            }
        }
    }

    @Override
    protected void doStop() {
        if (store != null) {
            store.close();
            store = null;
        }
    }

    private Object lockOf(String patientId) {
        return locks[Math.floorMod(patientId.hashCode(), LOCK_STRIPES)];
    }

    @Override
    public void process(Exchange exchange) throws Exception {
        start();
        Message in = exchange.getMessage();
        String topic = in.getHeader(KafkaConstants.TOPIC, String.class);
        Integer partition = in.getHeader(KafkaConstants.PARTITION, Integer.class);
        Long offset = in.getHeader(KafkaConstants.OFFSET, Long.class);
        Long timestamp = in.getHeader(KafkaConstants.TIMESTAMP, Long.class);
        if (partition == null || offset == null) {
            throw new DeliveryRejectedException("not a Kafka record (no partition/offset)");
        }
        ClinicalEvent event = reader.read(topic, partition, offset, timestamp == null ? System.currentTimeMillis() : timestamp,
                in.getHeader(KafkaConstants.KEY, String.class), in.getBody(byte[].class), in.getHeader("hl7_charset", String.class));
        CdsRuleEngine.Evaluation result;
        synchronized (lockOf(event.patientId())) {
            result = engine.evaluate(event, store.get(event.patientId()));
            if (result.state() != null) {
                store.put(event.patientId(), result.state()); // before the alerts: see cds-rules.yaml, consistency
            }
        }
        if (!result.alerts().isEmpty()) {
            LOG.info("CDS: {} raised {} alert(s): {}", event.reference(), result.alerts().size(),
                    result.alerts().stream().map(a -> a.ruleId() + "->" + a.kind() + " " + a.alertId()).toList());
        }
        in.setHeader(ALERT_COUNT, result.alerts().size());
        in.setBody(new ArrayList<>(result.alerts()));
    }

    /** Timer step: the body becomes the care gaps due now, over every patient (a list of DueCareGap). */
    public void scanCareGaps(Exchange exchange) throws Exception {
        start();
        long now = System.currentTimeMillis();
        List<CdsRuleEngine.DueCareGap> due = new ArrayList<>();
        for (String patient : store.patients()) {
            PatientState state = store.get(patient);
            if (state != null && !state.followUps.isEmpty()) {
                due.addAll(engine.dueCareGaps(patient, state, now));
            }
        }
        exchange.getMessage().setHeader(ALERT_COUNT, due.size());
        exchange.getMessage().setBody(due);
    }

    /** After a care gap's alert is on Kafka: closes the follow-up so it is not reported again. */
    public void careGapPublished(Exchange exchange) throws Exception {
        CdsRuleEngine.DueCareGap gap = exchange.getProperty(FOLLOW_UP, CdsRuleEngine.DueCareGap.class);
        if (gap == null) {
            return;
        }
        String patient = gap.alert().patientId();
        synchronized (lockOf(patient)) {
            PatientState next = engine.careGapReported(store.get(patient), gap.followUpKey());
            if (next != null) {
                store.put(patient, next);
            }
        }
        LOG.info("CDS: care gap {} reported ({})", gap.alert().alertId(), gap.alert().ruleId());
    }
}
