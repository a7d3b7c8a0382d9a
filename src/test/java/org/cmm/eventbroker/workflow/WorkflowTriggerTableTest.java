package org.cmm.eventbroker.workflow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.util.Properties;

import org.junit.jupiter.api.Test;

class WorkflowTriggerTableTest {

    private static Properties defaults() throws Exception {
        Properties p = new Properties();
        try (InputStream in = WorkflowTriggerTableTest.class.getResourceAsStream("/config/workflow.properties")) {
            p.load(in);
        }
        return p;
    }

    @Test
    void theDefaultTableMapsAdmitDischargeAndReferralEventsAsDocumented() throws Exception {
        WorkflowTriggerTable table = WorkflowTriggerTable.parse(defaults().getProperty("cmm.workflow.triggers.mapping"));
        assertEquals(new WorkflowTriggerTable.Rule("admission", WorkflowAction.START), table.ruleFor("adt.a01").get());
        assertEquals(new WorkflowTriggerTable.Rule("admission", WorkflowAction.CANCEL), table.ruleFor("adt.a11").get());
        assertEquals(new WorkflowTriggerTable.Rule("admission", WorkflowAction.RESUME), table.ruleFor("adt.a08").get());
        assertEquals(new WorkflowTriggerTable.Rule("discharge", WorkflowAction.START), table.ruleFor("adt.a03").get());
        assertEquals(new WorkflowTriggerTable.Rule("discharge", WorkflowAction.CANCEL), table.ruleFor("adt.a13").get());
        assertEquals(new WorkflowTriggerTable.Rule("referral", WorkflowAction.START), table.ruleFor("ref.i12").get());
        assertEquals(new WorkflowTriggerTable.Rule("referral", WorkflowAction.RESUME), table.ruleFor("ref.i13").get());
        assertEquals(new WorkflowTriggerTable.Rule("referral", WorkflowAction.CANCEL), table.ruleFor("ref.i14").get());
        assertTrue(table.ruleFor("adt.a04").isEmpty(), "a registration triggers nothing");
        assertTrue(table.ruleFor("rri.i12").isEmpty(), "a referral answer triggers nothing");
    }

    @Test
    void theDefaultTableOnlyNamesConsumedEvents() throws Exception {
        Properties p = defaults();
        WorkflowTriggerMapper mapper = new WorkflowTriggerMapper();
        mapper.setMapping(p.getProperty("cmm.workflow.triggers.mapping"));
        mapper.setEvents(p.getProperty("cmm.workflow.triggers.events"));
        mapper.validate();
    }

    @Test
    void aMappedEventThatIsNotConsumedFailsTheStartNamingIt() {
        WorkflowTriggerMapper mapper = new WorkflowTriggerMapper();
        mapper.setMapping("adt.a01=admission:start,adt.a16=discharge:start");
        mapper.setEvents("adt.a01");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, mapper::validate);
        assertTrue(e.getMessage().contains("adt.a16") && e.getMessage().contains("cmm.workflow.triggers.events"),
                e.getMessage());
    }

    @Test
    void malformedEntriesAreRefusedWithTheEntryNamed() {
        for (String bad : new String[] {"", "adt.a01", "adt.a01=admission", "adt.a01=admission:pause",
                "adt.a01=Admission Flow:start", "ADT^A01=admission:start", "adt.a01=a:start,adt.a01=b:start"}) {
            assertThrows(IllegalArgumentException.class, () -> WorkflowTriggerTable.parse(bad), bad);
        }
    }

    @Test
    void eventsAndActionsAreReadCaseInsensitivelyAndSpacesAreIgnored() {
        WorkflowTriggerTable table = WorkflowTriggerTable.parse(" ADT.A01 = admission : START , adt.a16=discharge:start");
        assertEquals(new WorkflowTriggerTable.Rule("admission", WorkflowAction.START), table.ruleFor("adt.a01").get());
        assertEquals("discharge", table.ruleFor("ADT.A16").get().workflowType());
    }
}
