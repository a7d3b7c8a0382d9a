package org.cmm.eventbroker.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The wiring map read from the route files: which flows there are and which files each one needs. */
class FlowsTest {

    private static final Flows ROUTES = Flows.read(Path.of("routes"));

    private static Set<String> names(List<Flows.RouteFile> files) {
        return files.stream().map(f -> f.path().getFileName().toString()).collect(Collectors.toCollection(TreeSet::new));
    }

    @Test
    void everyFlowsFilesDeclareEveryRouteConfigurationDirectEndpointAndBeanItUses() {
        assertFalse(ROUTES.names().isEmpty());
        for (String flow : ROUTES.names()) {
            List<Flows.RouteFile> files = ROUTES.filesOf(flow);
            assertEquals(ROUTES.flow(flow), files.get(0), "the flow file comes first");
            Set<String> configurations = new TreeSet<>();
            Set<String> direct = new TreeSet<>();
            Set<String> beans = new TreeSet<>();
            files.forEach(f -> {
                configurations.addAll(f.routeConfigurations());
                direct.addAll(f.directEndpointsConsumed());
                beans.addAll(f.beans());
            });
            for (Flows.RouteFile file : files) {
                assertTrue(configurations.containsAll(file.routeConfigurationsUsed()), flow + ": " + file.routeConfigurationsUsed());
                assertTrue(direct.containsAll(file.directEndpointsUsed()), flow + ": " + file.directEndpointsUsed());
            }
            // only one flow file per flow: a flow never drags in another flow's consumers
            assertEquals(1, files.stream().filter(Flows.RouteFile::isFlow).count(), flow + ": " + names(files));
        }
    }

    @Test
    void theInboundHl7FlowRunsWithItsErrorHandlingAndThePlatformPiecesOnly() {
        List<Flows.RouteFile> closure = ROUTES.filesOf("hl7-mllp-inbound");
        Set<String> files = names(closure);
        assertTrue(files.contains("hl7-mllp-inbound.camel.yaml"), files.toString());
        assertTrue(files.contains("health-checks.camel.yaml"), files.toString());
        assertTrue(files.contains("platform-http-engine.camel.yaml"), files.toString());
        Set<String> used = ROUTES.flow("hl7-mllp-inbound").routeConfigurationsUsed();
        assertFalse(used.isEmpty());
        assertTrue(closure.stream().anyMatch(f -> f.routeConfigurations().containsAll(used)), files.toString());
        assertFalse(files.contains("lab-results-mllp-inbound.camel.yaml"), files.toString());
        assertTrue(closure.stream().filter(Flows.RouteFile::isFlow).count() == 1, files.toString());
    }

    @Test
    void beansOfAnotherFileAndOfTheConfigurationAreFoundWhereTheyAreDeclared() {
        // every bean a flow's files name is declared in its files, when some route file declares it at all
        Set<String> declaredAnywhere = new TreeSet<>();
        ROUTES.files().forEach(f -> declaredAnywhere.addAll(f.beans()));
        for (String flow : ROUTES.names()) {
            Set<String> declared = new TreeSet<>();
            Set<String> used = new TreeSet<>();
            ROUTES.filesOf(flow).forEach(f -> {
                declared.addAll(f.beans());
                used.addAll(f.beansUsed());
            });
            used.retainAll(declaredAnywhere);
            assertTrue(declared.containsAll(used), flow + " uses " + used + ", declares " + declared);
        }
        // camel.component.fhir.fhir-context = #bean:fhirContext: every runtime needs the file declaring it
        Set<String> beans = Flows.beansNamedBy(List.of("#bean:fhirContext", "plain", "{{x}}"));
        assertEquals(Set.of("fhirContext"), beans);
        assertTrue(ROUTES.filesOf(List.of("hl7-mllp-inbound"), beans).stream().anyMatch(f -> f.beans().contains("fhirContext")));
    }

    @Test
    void wiringFollowsTheFilesWhenAnErrorHandlerMovesOrIsMissing(@TempDir Path dir) throws IOException {
        Path routes = dir.resolve("routes");
        write(routes.resolve("ehr/intake.camel.yaml"), """
                - route:
                    id: intake
                    routeConfigurationId: mllp-in
                    from:
                      uri: timer:tick
                      steps:
                        - to: direct:shared-step
                        - process:
                            ref: sharedBean
                """);
        write(routes.resolve("platform/error-handling/mllp/in.camel.yaml"), """
                - routeConfiguration:
                    id: mllp-in
                """);
        write(routes.resolve("platform/steps.camel.yaml"), """
                - route:
                    id: shared-step
                    from:
                      uri: direct:shared-step
                      steps:
                        - log: x
                """);
        write(routes.resolve("shared/beans.camel.yaml"), """
                - beans:
                    - name: sharedBean
                      type: java.lang.Object
                """);
        write(routes.resolve("ehr/ehr-beans.camel.yaml"), """
                - beans:
                    - name: lookedUpByJava
                      type: java.lang.Object
                """);
        write(routes.resolve("lab/lab-beans.camel.yaml"), """
                - beans:
                    - name: labOnly
                      type: java.lang.Object
                """);
        write(routes.resolve("platform/health.camel.yaml"), """
                - beans:
                    - name: check
                      type: java.lang.Object
                """);
        write(routes.resolve("lab/other.camel.yaml"), """
                - route:
                    id: other
                    from:
                      uri: timer:other
                      steps:
                        - log: y
                """);
        Flows flows = Flows.read(routes);
        assertEquals(Set.of("intake", "other"), flows.names());
        assertEquals(Set.of("intake.camel.yaml", "in.camel.yaml", "steps.camel.yaml", "beans.camel.yaml", "health.camel.yaml",
                "ehr-beans.camel.yaml"),
                names(flows.filesOf("intake")));
        assertTrue(Flows.includePattern(flows.filesOf("intake")).startsWith("file:" + routes.resolve("ehr/intake.camel.yaml")));

        Files.delete(routes.resolve("platform/error-handling/mllp/in.camel.yaml"));
        IllegalStateException missing = assertThrows(IllegalStateException.class, () -> Flows.read(routes).filesOf("intake"));
        assertTrue(missing.getMessage().contains("routeConfigurationId mllp-in"), missing.getMessage());

        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class, () -> flows.filesOf("no-such-flow"));
        assertTrue(unknown.getMessage().contains("[intake, other]"), unknown.getMessage());
    }

    @Test
    void aRouteFileThatIsNotYamlIsNamedWithItsLine(@TempDir Path dir) throws IOException {
        write(dir.resolve("broken.camel.yaml"), "- route:\n    id: x\n    from: [unclosed\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Flows.read(dir));
        assertTrue(e.getMessage().contains("broken.camel.yaml") && e.getMessage().contains("line"), e.getMessage());
    }

    private static void write(Path file, String text) throws IOException {
        Files.createDirectories(file.getParent());
        Files.writeString(file, text);
    }
}
