package org.cmm.eventbroker.cds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

import org.cmm.eventbroker.platform.delivery.DeliveryRejectedException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The rules file and the interaction table are validated, with messages that name the rule and the field. */
class CdsRulesFileTest {

    @TempDir
    Path dir;

    private String invalid(String yaml) throws Exception {
        Path file = dir.resolve("rules.yaml");
        Files.writeString(file, yaml, StandardCharsets.UTF_8);
        return assertThrows(InvalidCdsRulesException.class, () -> CdsRulesFile.load(file.toString())).getMessage();
    }

    @Test
    void theShippedRulesFileAndTableAreValid() {
        CdsRules rules = CdsRulesFile.load("routes/cds/cds-rules.yaml");
        assertEquals(1, rules.criticalResults().size());
        assertEquals(1, rules.drugInteractions().size());
        assertEquals(2, rules.careGaps().size());
        assertEquals(Set.of("inpatient"), rules.medicationsEndingAtDischarge());
    }

    @Test
    void aBadPriorityNamesTheRuleAndTheField() throws Exception {
        String m = invalid("rules:\n  - id: k-critical\n    kind: critical-result\n    description: d\n    resultClasses: [critical]\n    priority: urgent\n");
        assertTrue(m.contains("rule 'k-critical'") && m.contains("'priority'") && m.contains("urgent"), m);
    }

    @Test
    void aBadDurationAnUnknownKindAnUnknownFieldAndADuplicateIdAreRejected() throws Exception {
        String gap = invalid("rules:\n  - id: gap\n    kind: care-gap\n    description: d\n    observationCodes: [4548-4]\n"
                + "    whenResultClasses: [abnormal]\n    followUpWithin: 90 days\n    priority: medium\n");
        assertTrue(gap.contains("rule 'gap'") && gap.contains("'followUpWithin'"), gap);
        String kind = invalid("rules:\n  - id: x\n    kind: allergy\n    description: d\n");
        assertTrue(kind.contains("rule 'x'") && kind.contains("'kind'"), kind);
        String field = invalid("rules:\n  - id: x\n    kind: critical-result\n    description: d\n    resultClasses: [critical]\n"
                + "    priority: high\n    priorty: high\n");
        assertTrue(field.contains("rule 'x'") && field.contains("'priorty'"), field);
        String dup = invalid("rules:\n  - id: x\n    kind: critical-result\n    description: d\n    resultClasses: [critical]\n    priority: high\n"
                + "  - id: x\n    kind: critical-result\n    description: d\n    resultClasses: [critical]\n    priority: high\n");
        assertTrue(dup.contains("rule 'x'") && dup.contains("'id'"), dup);
        String cls = invalid("rules:\n  - id: x\n    kind: critical-result\n    description: d\n    resultClasses: [panic]\n    priority: high\n");
        assertTrue(cls.contains("'resultClasses'") && cls.contains("panic"), cls);
    }

    @Test
    void aMissingOrBrokenInteractionTableNamesTheRuleAndTheTableField() throws Exception {
        String missing = invalid("rules:\n  - id: ddi\n    kind: drug-interaction\n    description: d\n    table: classpath:cds/none.yaml\n");
        assertTrue(missing.contains("rule 'ddi'") && missing.contains("'table'"), missing);
        Path table = dir.resolve("table.yaml");
        Files.writeString(table, "ingredients:\n  warfarin:\n    rxnorm: \"11289\"\ninteractions:\n"
                + "  - ingredients: [warfarin, aspirin]\n    severity: high\n    summary: s\n");
        String broken = invalid("rules:\n  - id: ddi\n    kind: drug-interaction\n    description: d\n    table: " + table + "\n");
        assertTrue(broken.contains("rule 'ddi'") && broken.contains("aspirin") && broken.contains("interactions[0]"), broken);
    }

    @Test
    void notYamlOrNoRulesIsRejected() throws Exception {
        assertTrue(invalid("rules: [unclosed\n").contains("not valid YAML"));
        assertTrue(invalid("medications: {}\n").contains("'rules'"));
    }

    @Test
    void anEventThatIsNotTheMessageTypeOfItsTopicIsRejectedWithoutItsContent() {
        ClinicalEventReader reader = new ClinicalEventReader(new ClinicalEventReader.TopicPrefixes("hl7", "lab.results", "pharmacy.orders", "pharmacy.dispensing"), Set.of());
        String adt = "MSH|^~\\&|EHR|H|CMM|CMM|20240315101500||ADT^A01|A1|P|2.5.1\rPID|1||SECRET-MRN^^^H^MR||SECRETNAME\r";
        DeliveryRejectedException e = assertThrows(DeliveryRejectedException.class, () ->
                reader.read("lab.results.critical", 0, 1, 1, "K", adt.getBytes(StandardCharsets.ISO_8859_1), null));
        assertTrue(e.getMessage().contains("ORU^R01") && !e.getMessage().contains("SECRET"), e.getMessage());
        assertThrows(DeliveryRejectedException.class, () ->
                reader.read("pharmacy.orders.inpatient", 0, 1, 1, "K", "{not json".getBytes(StandardCharsets.UTF_8), null));
    }
}
