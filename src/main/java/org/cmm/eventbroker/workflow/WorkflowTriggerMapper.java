package org.cmm.eventbroker.workflow;

import java.nio.charset.StandardCharsets;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;
import org.apache.camel.component.kafka.KafkaConstants;
import org.cmm.eventbroker.platform.delivery.DeliveryRejectedException;
import org.cmm.eventbroker.platform.delivery.KafkaDeliveryConsumer;
import org.cmm.eventbroker.hl7.Er7Message;
import org.cmm.eventbroker.platform.mllp.Er7Segment;
import org.cmm.eventbroker.hl7.Hl7Headers;
import org.cmm.eventbroker.hl7.Hl7RejectedException;

/**
 * Turns a clinical event (an HL7 v2 record of hl7.adt.*, hl7.ref.*) into the workflow trigger the table
 * ({@link WorkflowTriggerTable}) assigns it, for {@code workflow.triggers.<workflow-type>}; events without an entry
 * trigger nothing.
 *
 * <p>Why the trigger id is derived, not random: the source record may be processed twice (a crash between publishing
 * the trigger and committing the offset), and the engine must then see the same id, which it gets as the
 * idempotency key, so an admission is never started twice. It is a name-based UUID of the sender (MSH-3, MSH-4), the
 * control id (MSH-10), the workflow type and the action.
 *
 * <p>The trigger carries as little patient data as a workflow needs: identifiers (patient, visit, referral), no names,
 * no clinical content. The HL7 record's headers are dropped; the trigger record gets its own.
 */
public class WorkflowTriggerMapper implements Processor {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_ID_LENGTH = 128;

    private String mapping;
    private String events;
    private WorkflowTriggerTable table;

    /** The table, cmm.workflow.triggers.mapping. */
    public void setMapping(String mapping) {
        this.mapping = mapping;
    }

    /** The consumed events (cmm.workflow.triggers.events): every entry of the table must be among them. */
    public void setEvents(String events) {
        this.events = events;
    }

    /** Checks the configuration at start, naming the key that is wrong. */
    public void validate() {
        table = WorkflowTriggerTable.parse(mapping);
        Set<String> consumed = events == null ? Set.of() : Arrays.stream(events.split(",")).map(String::trim)
                .map(s -> s.toLowerCase(Locale.ROOT)).filter(s -> !s.isEmpty()).collect(Collectors.toSet());
        List<String> missing = new ArrayList<>();
        for (String event : table.events()) {
            if (!consumed.contains(event)) {
                missing.add(event);
            }
        }
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException("cmm.workflow.triggers.mapping names " + missing + ", which"
                    + " cmm.workflow.triggers.events does not consume: add them there, or they never trigger");
        }
    }

    WorkflowTriggerTable table() {
        if (table == null) {
            validate();
        }
        return table;
    }

    @Override
    public void process(Exchange exchange) throws DeliveryRejectedException {
        OriginalRecord.keep(exchange);
        Message in = exchange.getMessage();
        String event = in.getHeader(KafkaDeliveryConsumer.TOPIC_TYPE, String.class);
        Optional<WorkflowTriggerTable.Rule> rule = table().ruleFor(event);
        if (rule.isEmpty()) {
            return; // consumed, not mapped: no trigger, and nothing owed
        }
        String sourceTopic = in.getHeader(KafkaConstants.TOPIC, String.class);
        Er7Message message;
        try {
            message = Er7Message.of(in);
        } catch (Hl7RejectedException e) {
            throw new DeliveryRejectedException("not an HL7 v2 message: " + e.getMessage());
        } catch (RuntimeException e) {
            throw new DeliveryRejectedException("unreadable HL7 v2 message (" + e.getClass().getSimpleName() + ")");
        }
        String eventTime = in.getHeader(Hl7Headers.CE_TIME, String.class);
        Trigger trigger = trigger(message, rule.get(), eventTime, sourceTopic,
                in.getHeader(KafkaConstants.PARTITION, Integer.class), in.getHeader(KafkaConstants.OFFSET, Long.class));

        for (String name : new ArrayList<>(in.getHeaders().keySet())) {
            if (!name.startsWith("Camel")) {
                in.removeHeader(name);
            }
        }
        in.setHeader(WorkflowHeaders.WORKFLOW_TYPE, trigger.workflowType());
        in.setHeader(WorkflowHeaders.ACTION, trigger.action().code());
        in.setHeader(Hl7Headers.CE_SPECVERSION, "1.0");
        in.setHeader(Hl7Headers.CE_ID, trigger.triggerId());
        in.setHeader(Hl7Headers.CE_SOURCE, "/cmm/workflow-triggers/" + sourceTopic);
        in.setHeader(Hl7Headers.CE_SUBJECT, trigger.patientId());
        in.setHeader(Hl7Headers.CE_TIME, eventTime != null ? eventTime
                : OffsetDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        in.setHeader(Hl7Headers.CONTENT_TYPE, "application/json");
        in.setBody(trigger.json().getBytes(StandardCharsets.UTF_8));
    }

    /** A trigger event; {@link #json()} is the documented schema (README, Workflow). */
    public record Trigger(String triggerId, String workflowType, WorkflowAction action, String businessKey,
                          String patientId, String encounterId, String referralId, String occurredAt,
                          String sourceTopic, Integer sourcePartition, Long sourceOffset, String messageType,
                          String controlId, String sendingApplication, String sendingFacility) {

        public String json() {
            ObjectNode root = JSON.createObjectNode();
            root.put("triggerId", triggerId);
            root.put("workflowType", workflowType);
            root.put("action", action.code());
            root.put("businessKey", businessKey);
            root.put("patientId", patientId);
            putIfPresent(root, "encounterId", encounterId);
            putIfPresent(root, "referralId", referralId);
            putIfPresent(root, "occurredAt", occurredAt);
            ObjectNode source = root.putObject("source");
            putIfPresent(source, "topic", sourceTopic);
            if (sourcePartition != null) {
                source.put("partition", sourcePartition);
            }
            if (sourceOffset != null) {
                source.put("offset", sourceOffset);
            }
            source.put("messageType", messageType);
            source.put("controlId", controlId);
            putIfPresent(source, "sendingApplication", sendingApplication);
            putIfPresent(source, "sendingFacility", sendingFacility);
            return root.toString();
        }

        private static void putIfPresent(ObjectNode node, String name, String value) {
            if (value != null) {
                node.put(name, value);
            }
        }
    }

    /** The trigger of a message under a rule; the reasons of rejections name fields, never their values. */
    static Trigger trigger(Er7Message message, WorkflowTriggerTable.Rule rule, String occurredAt, String sourceTopic,
                           Integer partition, Long offset) throws DeliveryRejectedException {
        Er7Segment msh = message.header();
        String controlId = blankToNull(msh.field(10));
        if (controlId == null) {
            throw new DeliveryRejectedException("no MSH-10 control id");
        }
        String patientId = first(message, "PID", 3, 1);
        if (patientId == null) {
            throw new DeliveryRejectedException("no PID-3 patient identifier");
        }
        String encounterId = first(message, "PV1", 19, 1);
        String referralId = first(message, "RF1", 6, 1);
        for (String[] id : new String[][] {{"PID-3", patientId}, {"PV1-19", encounterId}, {"RF1-6", referralId}}) {
            if (id[1] != null && (id[1].length() > MAX_ID_LENGTH || !id[1].chars().allMatch(c -> c > 0x20 && c < 0x7F))) {
                throw new DeliveryRejectedException(id[0] + " is not an identifier of at most " + MAX_ID_LENGTH
                        + " printable characters");
            }
        }
        // the instance a trigger addresses: the referral, else the visit, else the patient
        String businessKey = referralId != null ? referralId : encounterId != null ? encounterId : patientId;
        String sendingApplication = blankToNull(msh.component(3, 1));
        String sendingFacility = blankToNull(msh.component(4, 1));
        String triggerId = UUID.nameUUIDFromBytes(("hl7|" + nullToEmpty(sendingApplication) + '|'
                + nullToEmpty(sendingFacility) + '|' + controlId + '|' + rule.workflowType() + '|' + rule.action().code())
                .getBytes(StandardCharsets.UTF_8)).toString();
        return new Trigger(triggerId, rule.workflowType(), rule.action(), businessKey, patientId, encounterId, referralId,
                occurredAt, sourceTopic, partition, offset, message.messageType(), controlId, sendingApplication,
                sendingFacility);
    }

    private static String first(Er7Message message, String segment, int field, int component) {
        List<Er7Segment> found = message.segments(segment);
        return found.isEmpty() ? null : blankToNull(found.get(0).component(field, component));
    }

    private static String blankToNull(String value) {
        return value == null || value.isBlank() ? null : value.trim();
    }

    private static String nullToEmpty(String value) {
        return value == null ? "" : value;
    }
}
