package org.cmm.eventbroker.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;

import org.cmm.eventbroker.testsupport.FreePorts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * routes/flow-groups.yaml: the flows that must run in one runtime, read by {@link FlowSelection} at start and by the
 * Camel K generator (CamelKManifestsTest checks the Integrations against it).
 */
class FlowGroupsTest {

    private static final Flows ROUTES = Flows.read(Path.of("routes"));

    @Test
    void theRealtimeStreamsNeedTheEventApiAndTheAnalyticsFlowsAreOneGroup() {
        FlowGroups groups = ROUTES.groups();
        assertEquals(Path.of("routes", FlowGroups.FILE), groups.file());
        assertEquals("event-api", groups.groupOf("realtime-streams"));
        assertEquals("event-api", groups.groupOf("event-api"));
        assertEquals(List.of("event-api", "realtime-streams", "schema-registry"), groups.flowsOf("event-api"));
        assertEquals(List.of("analytics-queries", "analytics-dashboard"), groups.flowsOf("analytics-queries"));
        assertEquals(List.of("hl7-mllp-inbound"), groups.flowsOf("hl7-mllp-inbound"), "a flow in no group runs alone");

        List<String> missing = groups.missingRequired(List.of("realtime-streams", "push-device-registration"));
        assertEquals(1, missing.size(), missing.toString());
        assertTrue(missing.get(0).startsWith("realtime-streams needs the flow event-api in the same runtime (routes/flow-groups.yaml): "
                + "its bean realtimeStreams mounts"), missing.get(0));
        assertEquals(List.of(), groups.missingRequired(List.of("realtime-streams", "event-api")));
        // the dashboard runs alone (it starts the Streams application itself); deployments keep the group together
        assertEquals(List.of(), groups.missingRequired(List.of("analytics-dashboard")));
        assertEquals(Set.of("analytics-queries"), groups.notSelectedOfTheirGroups(List.of("analytics-dashboard")));
    }

    /**
     * The hidden dependency of issue 16, for every flow: a bean declared in another flow's file (which the flow's own
     * files never bring in) named in the flow's files is only there when both run together, so they must be declared to.
     */
    @Test
    void aFlowNamingABeanOfAnotherFlowIsDeclaredToRunWithIt() {
        Map<String, String> beansOfFlowFiles = new TreeMap<>();
        ROUTES.files().stream().filter(Flows.RouteFile::isFlow).forEach(f -> f.beans().forEach(b -> beansOfFlowFiles.put(b, f.name())));
        Set<String> found = new TreeSet<>();
        for (String flow : ROUTES.names()) {
            List<Flows.RouteFile> files = ROUTES.filesOf(flow);
            Set<String> own = new TreeSet<>();
            files.forEach(f -> own.addAll(f.beans()));
            for (Map.Entry<String, String> bean : beansOfFlowFiles.entrySet()) {
                Pattern named = Pattern.compile("\\b" + Pattern.quote(bean.getKey()) + "\\b");
                if (!own.contains(bean.getKey()) && files.stream().anyMatch(f -> named.matcher(f.text()).find())) {
                    found.add(flow + " -> " + bean.getValue());
                    assertEquals(ROUTES.groups().groupOf(bean.getValue()), ROUTES.groups().groupOf(flow), flow + " names the bean "
                            + bean.getKey() + " of the flow " + bean.getValue() + ": declare them in routes/" + FlowGroups.FILE);
                }
            }
        }
        assertTrue(found.contains("realtime-streams -> event-api"), found.toString());
    }

    @Test
    void aDeclarationNamingNoFlowOrAGroupInAGroupIsRefused(@TempDir Path routes) throws IOException {
        Files.createDirectories(routes.resolve("a"));
        for (String flow : List.of("one", "two", "three")) {
            Files.writeString(routes.resolve("a").resolve(flow + Flows.SUFFIX), """
                    - route:
                        id: %s
                        from:
                          uri: timer:%s
                          steps:
                            - log: x
                    """.formatted(flow, flow));
        }
        assertEquals(List.of(), Flows.read(routes).groups().members(), "no declaration file: no groups");

        Files.writeString(routes.resolve(FlowGroups.FILE), """
                - flow: two
                  runsWith: one
                  required: true
                  because: it needs one
                """);
        assertEquals(List.of("one", "two"), Flows.read(routes).groups().flowsOf("one"));

        Files.writeString(routes.resolve(FlowGroups.FILE), "- flow: two\n  runsWith: four\n  because: x\n");
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class, () -> Flows.read(routes));
        assertTrue(unknown.getMessage().contains("four is not a flow"), unknown.getMessage());

        Files.writeString(routes.resolve(FlowGroups.FILE), "- flow: two\n  runsWith: one\n  because: x\n"
                + "- flow: three\n  runsWith: two\n  because: y\n");
        IllegalArgumentException chain = assertThrows(IllegalArgumentException.class, () -> Flows.read(routes));
        assertTrue(chain.getMessage().contains("two names a group (three runs with it) and is in the group of one"), chain.getMessage());

        Files.writeString(routes.resolve(FlowGroups.FILE), "- flow: two\n  runsWith: one\n");
        IllegalArgumentException noReason = assertThrows(IllegalArgumentException.class, () -> Flows.read(routes));
        assertTrue(noReason.getMessage().contains("has no because"), noReason.getMessage());

        Files.writeString(routes.resolve(FlowGroups.FILE), "- flow: two\n  runsWith: one\n  required: yes please\n  because: x\n");
        assertThrows(IllegalArgumentException.class, () -> Flows.read(routes));
    }

    /** The start-up check reads the declaration: cmm.flows naming a flow without a flow it needs fails, naming both. */
    @Test
    void aRuntimeOfTheRealtimeStreamsWithoutTheEventApiDoesNotStart(@TempDir Path folder) {
        // an address nothing listens on: the check comes before any Kafka client (and no embedded broker starts)
        EventBrokerRuntime runtime = new EventBrokerRuntime(Map.of(
                FlowSelection.FLOWS, "realtime-streams",
                "cmm.kafka.bootstrap-servers", "127.0.0.1:" + FreePorts.next(),
                "camel.main.jmx-enabled", "false",
                "camel.server.host", "127.0.0.1",
                "camel.server.port", String.valueOf(FreePorts.next()),
                "camel.management.host", "127.0.0.1",
                "camel.management.port", String.valueOf(FreePorts.next())));
        try {
            Exception e = assertThrows(Exception.class, runtime::start);
            Throwable cause = e;
            while (cause != null && (cause.getMessage() == null || !cause.getMessage().contains("needs the flow"))) {
                cause = cause.getCause();
            }
            assertNotNull(cause, "the failure names the missing flow: " + e);
            assertTrue(cause.getMessage().startsWith("cmm.flows=realtime-streams: realtime-streams needs the flow event-api in the same "
                    + "runtime (routes/flow-groups.yaml)"), cause.getMessage());
        } finally {
            runtime.close();
        }
    }
}
