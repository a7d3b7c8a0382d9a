package org.cmm.eventbroker.cds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.InputStream;
import java.util.List;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import org.junit.jupiter.api.Test;

/** The payload schema registered for CDS alerts (schemas/cmm.cds.alert.v1.json) describes what CdsAlert writes. */
class CdsAlertSchemaTest {

    @Test
    void aCdsAlertIsValidUnderItsRegisteredSchema() throws Exception {
        JsonSchema schema;
        try (InputStream in = CdsAlertSchemaTest.class.getClassLoader().getResourceAsStream("schemas/"
                + CdsAlert.SCHEMA + ".json")) {
            schema = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V7).getSchema(in);
        }
        ObjectMapper json = new ObjectMapper();
        ObjectNode alert = (ObjectNode) json.readTree(CdsAlert.of("drug-interaction", AlertPriority.HIGH, "patient-1",
                "rule-1", "warfarin + aspirin", List.of("11289", "1191"), 1_700_000_000_000L, "pharmacy.dispensing.new",
                0, 42, "detail").toJson());
        assertEquals(0, schema.validate(alert).size(), schema.validate(alert).toString());
        alert.remove("alertId");
        assertFalse(schema.validate(alert).isEmpty(), "the schema requires what the alert always has");
    }
}
