package org.cmm.eventbroker.workflow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.camel.Exchange;
import org.apache.camel.component.kafka.KafkaConstants;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.cmm.eventbroker.platform.delivery.DeliveryRejectedException;
import org.cmm.eventbroker.platform.delivery.KafkaDeliveryConsumer;
import org.junit.jupiter.api.Test;

class WorkflowTriggerMapperTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static WorkflowTriggerMapper mapper() {
        WorkflowTriggerMapper m = new WorkflowTriggerMapper();
        m.setMapping("adt.a01=admission:start,adt.a11=admission:cancel,ref.i12=referral:start");
        m.setEvents("adt.a01,adt.a04,adt.a11,ref.i12");
        m.validate();
        return m;
    }

    private static Exchange record(String event, String hl7) {
        Exchange exchange = new DefaultExchange(new DefaultCamelContext());
        exchange.getMessage().setBody(hl7.getBytes(StandardCharsets.ISO_8859_1));
        exchange.getMessage().setHeader(KafkaDeliveryConsumer.TOPIC_TYPE, event);
        exchange.getMessage().setHeader(KafkaConstants.TOPIC, "hl7." + event);
        exchange.getMessage().setHeader(KafkaConstants.PARTITION, 0);
        exchange.getMessage().setHeader(KafkaConstants.OFFSET, 7L);
        exchange.getMessage().setHeader("hl7_control_id", "C1");
        exchange.getMessage().setHeader("ce_time", "2026-11-26T12:00:00Z");
        return exchange;
    }

    @Test
    void anAdmitBecomesAnAdmissionStartKeyedByPatientWithTheVisitAsBusinessKeyAndNoNames() throws Exception {
        Exchange exchange = record("adt.a01", WorkflowMessages.adt("A01", "C1", "P100", "V200"));
        mapper().process(exchange);
        JsonNode trigger = JSON.readTree(exchange.getMessage().getBody(byte[].class));
        assertEquals("admission", trigger.path("workflowType").asText());
        assertEquals("start", trigger.path("action").asText());
        assertEquals("P100", trigger.path("patientId").asText());
        assertEquals("V200", trigger.path("encounterId").asText());
        assertEquals("V200", trigger.path("businessKey").asText());
        assertEquals("2026-11-26T12:00:00Z", trigger.path("occurredAt").asText());
        assertEquals("hl7.adt.a01", trigger.path("source").path("topic").asText());
        assertEquals(7, trigger.path("source").path("offset").asLong());
        assertEquals("ADT^A01", trigger.path("source").path("messageType").asText());
        assertEquals("C1", trigger.path("source").path("controlId").asText());
        String text = trigger.toString();
        assertFalse(text.contains("TESTPATIENT") || text.contains("ALICE") || text.contains("19800101")
                || text.contains("SSN-1"), "no names, birth dates or other identifiers: " + text);
        assertEquals("P100", exchange.getMessage().getHeader("ce_subject"));
        assertEquals("admission", exchange.getMessage().getHeader(WorkflowHeaders.WORKFLOW_TYPE));
        assertEquals(trigger.path("triggerId").asText(), exchange.getMessage().getHeader("ce_id"));
        assertNull(exchange.getMessage().getHeader("hl7_control_id"), "the HL7 record's headers are not passed on");
    }

    @Test
    void theTriggerIdIsTheSameWhenTheEventIsProcessedAgainAndDiffersForAnotherAction() throws Exception {
        Exchange first = record("adt.a01", WorkflowMessages.adt("A01", "C1", "P100", "V200"));
        Exchange again = record("adt.a01", WorkflowMessages.adt("A01", "C1", "P100", "V200"));
        again.getMessage().setHeader(KafkaConstants.OFFSET, 99L);
        Exchange cancel = record("adt.a11", WorkflowMessages.adt("A11", "C1", "P100", "V200"));
        mapper().process(first);
        mapper().process(again);
        mapper().process(cancel);
        assertEquals(first.getMessage().getHeader("ce_id"), again.getMessage().getHeader("ce_id"));
        assertNotEquals(first.getMessage().getHeader("ce_id"), cancel.getMessage().getHeader("ce_id"));
        assertEquals("cancel", cancel.getMessage().getHeader(WorkflowHeaders.ACTION));
    }

    @Test
    void aReferralIsAddressedByItsReferralIdAndAnAdmitWithoutVisitByThePatient() throws Exception {
        Exchange referral = record("ref.i12", WorkflowMessages.referral("I12", "R1", "P300", "REF-9"));
        mapper().process(referral);
        JsonNode trigger = JSON.readTree(referral.getMessage().getBody(byte[].class));
        assertEquals("referral", trigger.path("workflowType").asText());
        assertEquals("REF-9", trigger.path("businessKey").asText());
        assertEquals("REF-9", trigger.path("referralId").asText());

        Exchange noVisit = record("adt.a01", WorkflowMessages.adt("A01", "C2", "P400", null));
        mapper().process(noVisit);
        assertEquals("P400", JSON.readTree(noVisit.getMessage().getBody(byte[].class)).path("businessKey").asText());
    }

    @Test
    void aConsumedEventWithoutARowTriggersNothing() throws Exception {
        Exchange exchange = record("adt.a04", WorkflowMessages.adt("A04", "C3", "P100", "V200"));
        mapper().process(exchange);
        assertNull(exchange.getMessage().getHeader(WorkflowHeaders.WORKFLOW_TYPE));
    }

    @Test
    void anEventWithoutPatientIdOrNotHl7IsRejectedWithoutQuotingIt() {
        Exchange noPid = record("adt.a01", "MSH|^~\\&|EPIC|HOSP|||20261126||ADT^A01|C4|P|2.5.1\rEVN|A01\r");
        DeliveryRejectedException e = assertThrows(DeliveryRejectedException.class, () -> mapper().process(noPid));
        assertTrue(e.getMessage().contains("PID-3"), e.getMessage());
        Exchange garbage = record("adt.a01", "{\"not\":\"hl7\"}");
        assertThrows(DeliveryRejectedException.class, () -> mapper().process(garbage));
    }
}
