package org.cmm.eventbroker.analytics;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.ZoneOffset;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

class DashboardViewTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static JsonNode json(String s) throws Exception {
        return JSON.readTree(s);
    }

    @Test
    void rendersTheNumbersWithTheirDataAttributesOnOneLineAsServerSideSvg() throws Exception {
        String html = new DashboardView(ZoneOffset.UTC).render(
                json("[{\"ward\":\"ICU\",\"occupied\":3,\"beds\":{\"1-A\":1,\"2-A\":2}}]"),
                json("[{\"unit\":\"ICU\",\"hourStartMs\":0,\"admissions\":2,\"discharges\":1,\"transfersIn\":1,"
                        + "\"transfersOut\":0,\"lengthOfStayCount\":1,\"lengthOfStayTotalMinutes\":90}]"),
                json("[{\"department\":\"ED\",\"windowStartMs\":0,\"windowEndMs\":3600000,\"count\":4,"
                        + "\"p50Minutes\":20.0,\"p90Minutes\":40.0}]"));
        assertFalse(html.contains("\n"), "one server-sent event data line");
        assertTrue(html.contains("data-ward=\"ICU\" data-metric=\"occupied\">3<"));
        assertTrue(html.contains("data-unit=\"ICU\" data-metric=\"admissions\">2<"));
        assertTrue(html.contains("data-unit=\"ICU\" data-metric=\"mean-stay-hours\">1.5<"));
        assertTrue(html.contains("data-department=\"ED\" data-metric=\"p90\">40.0<"));
        assertTrue(html.contains("<svg"), "charts are SVG from the server");
    }

    @Test
    void escapesWardNamesSoAnHl7FieldCannotInjectMarkup() throws Exception {
        String html = new DashboardView(ZoneOffset.UTC).render(
                json("[{\"ward\":\"<script>x</script>\",\"occupied\":1,\"beds\":{}}]"), json("[]"), json("[]"));
        assertFalse(html.contains("<script>"));
        assertTrue(html.contains("&lt;script&gt;"));
    }
}
