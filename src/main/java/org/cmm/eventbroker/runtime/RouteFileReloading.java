package org.cmm.eventbroker.runtime;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

import org.apache.camel.main.BaseMainSupport;
import org.apache.camel.main.MainListenerSupport;
import org.apache.camel.spi.PropertiesComponent;
import org.apache.camel.spi.Resource;
import org.apache.camel.support.RouteWatcherReloadStrategy;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Edits without a restart: with {@code camel.main.routes-reload-enabled=true} a route file changed on disk under
 * {@code camel.main.routes-reload-directory} (the routes folder by default) replaces its routes in the running runtime;
 * the broker and the other routes keep running. This is Camel Main's route watcher with three guards the runtime
 * needs: a file that is not valid YAML (or that Camel cannot turn into routes) is refused with its line and the routes
 * it had keep running; only the changed file's routes are replaced, never all routes (so the reload never leaves the
 * runtime without routes); and a runtime started with {@code cmm.flows} reloads only its own flows' files.
 *
 * <p>Kamelets are not watched: a changed Kamelet takes effect at the next start.
 */
public class RouteFileReloading extends MainListenerSupport {

    static final String ENABLED = "camel.main.routes-reload-enabled";
    static final String DIRECTORY = "camel.main.routes-reload-directory";
    static final String RECURSIVE = "camel.main.routes-reload-directory-recursive";
    static final String PATTERN = "camel.main.routes-reload-pattern";

    private static final Logger LOG = LoggerFactory.getLogger(RouteFileReloading.class);

    private final Supplier<Set<Path>> selectedFiles;

    /** @param selectedFiles the files of the flows this runtime runs, or null when it runs every route file */
    public RouteFileReloading(Supplier<Set<Path>> selectedFiles) {
        this.selectedFiles = selectedFiles;
    }

    @Override
    public void beforeConfigure(BaseMainSupport main) {
        PropertiesComponent properties = main.getCamelContext().getPropertiesComponent();
        if (!Boolean.parseBoolean(properties.resolveProperty(ENABLED).orElse("false").trim())) {
            return;
        }
        String directory = properties.resolveProperty(DIRECTORY)
                .orElseGet(() -> properties.resolveProperty(FlowSelection.ROUTES_FOLDER).orElse("routes"));
        boolean recursive = Boolean.parseBoolean(properties.resolveProperty(RECURSIVE).orElse("true").trim());
        String pattern = properties.resolveProperty(PATTERN).orElse("**/*" + Flows.SUFFIX);
        // Camel Main's own watcher would replace all routes on any change, and lose them all on a broken file: this
        // one is used instead
        properties.addOverrideProperty(ENABLED, "false");
        main.configure().setRoutesReloadEnabled(false);
        Watcher watcher = new Watcher(directory, recursive, selectedFiles);
        watcher.setPattern(pattern);
        watcher.setRemoveAllRoutes(false);
        try {
            main.getCamelContext().addService(watcher, true, false);
        } catch (Exception e) {
            throw new IllegalStateException("Cannot watch " + directory + " for route changes", e);
        }
        LOG.info("Route files under {} ({}) take effect when saved: a file that does not parse is refused, its routes "
                + "keep running", directory, pattern);
    }

    /** Why the file cannot be loaded as it is (not YAML, with the line; not a list of DSL items), or null. */
    static String problem(String location, String text) {
        Object document;
        try {
            document = new Load(LoadSettings.builder().setLabel(location).build()).loadFromString(text);
        } catch (YamlEngineException e) {
            return "not valid YAML: " + e.getMessage().replace('\n', ' ');
        }
        if (document != null && !(document instanceof List)) {
            return "not a list of Camel YAML DSL items (- route:, - beans:, - routeConfiguration:)";
        }
        return null;
    }

    private static final class Watcher extends RouteWatcherReloadStrategy {
        private final Supplier<Set<Path>> selectedFiles;

        Watcher(String directory, boolean recursive, Supplier<Set<Path>> selectedFiles) {
            super(directory, recursive);
            this.selectedFiles = selectedFiles;
        }

        @Override
        protected void onRouteReload(Collection<Resource> resources, boolean removeEverything) {
            if (resources == null) {
                // a properties change asks for all routes: not supported here, a restart applies configuration
                LOG.info("Configuration changed on disk: it takes effect at the next start");
                return;
            }
            List<Resource> accepted = new ArrayList<>();
            Set<Path> selected = selectedFiles == null ? null : selectedFiles.get();
            for (Resource resource : resources) {
                String location = resource.getLocation();
                Path path = path(resource);
                if (selected != null && (path == null || !selected.contains(path))) {
                    LOG.info("{} changed; not one of this runtime's flows (cmm.flows), not loaded", location);
                    continue;
                }
                String problem;
                try (InputStream in = resource.getInputStream()) {
                    String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
                    if (text.isBlank()) {
                        // an editor saving in place truncates first: the content follows with the next change event
                        LOG.info("{} is empty; nothing loaded, its routes keep running", location);
                        continue;
                    }
                    problem = problem(location, text);
                } catch (IOException e) {
                    problem = "cannot be read: " + e.getMessage();
                }
                if (problem != null) {
                    LOG.error("Refused the change of {}: {}. Its routes keep running as they were; fix the file and save it again",
                            location, problem);
                    continue;
                }
                accepted.add(resource);
            }
            if (accepted.isEmpty()) {
                return;
            }
            try {
                super.onRouteReload(accepted, removeEverything);
            } catch (RuntimeException e) {
                LOG.error("Refused the change of {}: {}. Its routes keep running as they were; fix the file and save it again",
                        String.join(", ", accepted.stream().map(Resource::getLocation).toList()), rootMessage(e));
            }
        }

        private static Path path(Resource resource) {
            String location = resource.getLocation();
            if (location == null) {
                return null;
            }
            try {
                return Path.of(location.startsWith("file:") ? location.substring("file:".length()) : location)
                        .toAbsolutePath().normalize();
            } catch (RuntimeException e) {
                return null;
            }
        }

        private static String rootMessage(Throwable e) {
            StringBuilder message = new StringBuilder();
            for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
                if (t.getMessage() != null && !message.toString().contains(t.getMessage())) {
                    if (message.length() > 0) {
                        message.append(": ");
                    }
                    message.append(t.getMessage().replace('\n', ' '));
                }
            }
            return message.toString();
        }
    }
}
