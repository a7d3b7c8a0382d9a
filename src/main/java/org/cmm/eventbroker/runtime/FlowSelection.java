package org.cmm.eventbroker.runtime;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Collectors;

import org.apache.camel.main.BaseMainSupport;
import org.apache.camel.main.MainListenerSupport;
import org.apache.camel.spi.PropertiesComponent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@value #FLOWS}: run only some flows ({@code cmm.flows=hl7-mllp-inbound,lab-results-mllp-inbound}). The files they
 * need (their routeConfigurations, the direct: routes and beans they use, the platform pieces) are found by
 * {@link Flows} from what the route files declare, and become Camel Main's {@code routes-include-pattern}. Empty (the
 * default): every route file, as {@code camel.main.routes-include-pattern} says. A flow declared to need another flow
 * ({@link FlowGroups}, {@code required}) is refused without it, with the declaration's reason.
 */
public class FlowSelection extends MainListenerSupport {

    /** Comma-separated flow names (route file names without .camel.yaml). */
    public static final String FLOWS = "cmm.flows";
    /** Where the route files are (the working folder's routes/ by default). */
    public static final String ROUTES_FOLDER = "cmm.routes.folder";

    static final String INCLUDE_PATTERN = "camel.main.routes-include-pattern";

    private static final Logger LOG = LoggerFactory.getLogger(FlowSelection.class);

    private volatile Set<Path> selectedFiles;

    /** The files of the selected flows (absolute), or null when every route file runs. */
    public Set<Path> selectedFiles() {
        return selectedFiles;
    }

    @Override
    public void beforeConfigure(BaseMainSupport main) {
        PropertiesComponent properties = main.getCamelContext().getPropertiesComponent();
        String selected = properties.resolveProperty(FLOWS).orElse("").trim();
        if (selected.isEmpty()) {
            return;
        }
        List<String> names = Arrays.stream(selected.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
        Flows flows = Flows.read(Path.of(properties.resolveProperty(ROUTES_FOLDER).orElse("routes")));
        // flows that need another flow (routes/flow-groups.yaml): refused here, before anything starts
        List<String> missing = flows.groups().missingRequired(names);
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException(FLOWS + "=" + selected + ": " + String.join("; ", missing) + ". Add the flow to "
                    + FLOWS + ".");
        }
        Set<String> apart = flows.groups().notSelectedOfTheirGroups(names);
        if (!apart.isEmpty()) {
            LOG.info("{}: not running {}, declared to run with these flows ({}; one Camel K Integration per group)", FLOWS,
                    String.join(", ", apart), flows.groups().file());
        }
        Properties all = properties.loadProperties();
        List<Flows.RouteFile> files = flows.filesOf(names,
                Flows.beansNamedBy(all.stringPropertyNames().stream().map(all::getProperty).toList()));
        selectedFiles = files.stream().map(f -> f.path().toAbsolutePath().normalize()).collect(Collectors.toUnmodifiableSet());
        String pattern = Flows.includePattern(files);
        properties.addOverrideProperty(INCLUDE_PATTERN, pattern);
        main.configure().setRoutesIncludePattern(pattern);
        LOG.info("{}={}: loading {} route files ({})", FLOWS, selected, files.size(),
                String.join(", ", files.stream().map(f -> f.path().getFileName().toString()).toList()));
    }
}
