package org.cmm.eventbroker.runtime;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;

/**
 * The wiring map of the route files, read from the files themselves: which flows there are and which files each one
 * needs. A flow is a route file (under {@code routes/<domain>/}) with at least one route that does not start from
 * {@code direct:}; its name is the file name without {@code .camel.yaml}. Its files are, transitively: the flow file,
 * the files declaring the routeConfigurations its routes name by {@code routeConfigurationId}, the files consuming the
 * {@code direct:} endpoints it sends to, the files declaring the beans it names ({@code ref}, {@code #bean:...},
 * {@code idempotentRepository}, {@code routePolicy}) and does not declare itself, the beans-only files of its folder
 * (the domain's shared beans, which Java code may look up by name), plus the platform pieces every flow runs with
 * (files under {@code routes/platform/} holding neither a route nor a routeConfiguration: health checks, the HTTP
 * engine, the intake-first route policy).
 *
 * <p>Nothing here lists file names: moving an error handler to another folder, or a bean to another file, moves the
 * wiring with it. The runtime uses it for {@code cmm.flows} (load only some flows), the tests to start one flow, the
 * Camel K generator to decide each Integration's sources. A flow never brings in another flow: where one needs
 * another (a bean looked up at start), the two are declared to run together in {@value FlowGroups#FILE}
 * ({@link #groups()}).
 */
public final class Flows {

    /** The route files' suffix; other YAML under routes/ (CDS rules, SubscriptionTopics) is data, not routes. */
    public static final String SUFFIX = ".camel.yaml";

    private static final Pattern PLACEHOLDER = Pattern.compile("\\{\\{(\\?)?([A-Za-z0-9_.-]+)(?::[^}]*)?}}");
    private static final Pattern BEAN_VALUE = Pattern.compile("^#(?:bean:)?([A-Za-z][A-Za-z0-9_.-]*)$");
    private static final Set<String> BEAN_KEYS = Set.of("ref", "idempotentRepository", "aggregationRepository",
            "beanRef", "bean", "routePolicy");

    private final Path root;
    private final Map<Path, RouteFile> files;
    private final FlowGroups groups;

    private Flows(Path root, Map<Path, RouteFile> files) {
        this.root = root;
        this.files = files;
        this.groups = FlowGroups.read(root, names());
    }

    /** Reads every {@code *.camel.yaml} under {@code routesFolder}; a file that is not valid YAML is named with its line. */
    public static Flows read(Path routesFolder) {
        Map<Path, RouteFile> files = new TreeMap<>();
        try (Stream<Path> paths = Files.walk(routesFolder)) {
            for (Path path : paths.filter(p -> p.getFileName().toString().endsWith(SUFFIX)).sorted().toList()) {
                files.put(path, RouteFile.parse(routesFolder, path));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot list the route files under " + routesFolder, e);
        }
        Map<String, Path> byName = new TreeMap<>();
        for (RouteFile file : files.values()) {
            if (file.isFlow()) {
                Path other = byName.put(file.name(), file.path());
                if (other != null) {
                    throw new IllegalStateException("Two flows are named " + file.name() + ": " + other + " and " + file.path());
                }
            }
        }
        return new Flows(routesFolder, files);
    }

    /** The folder the files were read from. */
    public Path root() {
        return root;
    }

    /**
     * The flows that run in one runtime ({@value FlowGroups#FILE} of the folder): what a flow needs of another flow,
     * which the route files cannot show.
     */
    public FlowGroups groups() {
        return groups;
    }

    /** Every route file, parsed. */
    public Collection<RouteFile> files() {
        return files.values();
    }

    /** The flow names, sorted. */
    public Set<String> names() {
        return files.values().stream().filter(RouteFile::isFlow).map(RouteFile::name)
                .collect(Collectors.toCollection(TreeSet::new));
    }

    /** The flow file of a flow. */
    public RouteFile flow(String name) {
        return files.values().stream().filter(f -> f.isFlow() && f.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("No flow is named " + name + " (a route file "
                        + name + SUFFIX + " under " + root + " with a route not starting from direct:); the flows are "
                        + names()));
    }

    /** The files of one flow, the flow file first. */
    public List<RouteFile> filesOf(String flow) {
        return filesOf(List.of(flow), Set.of());
    }

    /**
     * The files of some flows together, each flow file first in its order, then what they need.
     *
     * @param beansNamedByConfiguration beans the configuration refers to ({@code #bean:fhirContext} as a component
     *        option): the files declaring them are loaded too
     */
    public List<RouteFile> filesOf(Collection<String> flowNames, Collection<String> beansNamedByConfiguration) {
        Set<RouteFile> closure = new LinkedHashSet<>();
        Deque<RouteFile> todo = new ArrayDeque<>();
        for (String name : flowNames) {
            RouteFile flow = flow(name.trim());
            todo.add(flow);
            // the domain's shared beans (a beans-only file beside the flow, e.g. fhir-beans): Java code may look them
            // up by name or type, which the YAML does not show
            files.values().stream().filter(f -> f.isBeansOnly() && f.path().getParent().equals(flow.path().getParent()))
                    .forEach(todo::add);
        }
        for (RouteFile file : files.values()) {
            if (file.isPlatformPiece()) {
                todo.add(file);
            }
        }
        for (String bean : beansNamedByConfiguration) {
            declaringBean(bean).ifPresent(todo::add);
        }
        while (!todo.isEmpty()) {
            RouteFile file = todo.poll();
            if (!closure.add(file)) {
                continue;
            }
            for (String id : file.routeConfigurationsUsed()) {
                RouteFile declaring = files.values().stream().filter(f -> f.routeConfigurations().contains(id)).findFirst()
                        .orElseThrow(() -> new IllegalStateException(file.path() + " names routeConfigurationId " + id
                                + ", which no file under " + root + " declares"));
                todo.add(declaring);
            }
            for (String endpoint : file.directEndpointsUsed()) {
                files.values().stream().filter(f -> f.directEndpointsConsumed().contains(endpoint)).forEach(todo::add);
            }
            for (String bean : file.beansUsed()) {
                if (!file.beans().contains(bean)) {
                    declaringBean(bean).ifPresent(todo::add);
                }
            }
        }
        return List.copyOf(closure);
    }

    private java.util.Optional<RouteFile> declaringBean(String bean) {
        // a file that is not a flow first (shared beans), then a flow file that happens to declare it
        return files.values().stream().filter(f -> f.beans().contains(bean))
                .sorted((a, b) -> Boolean.compare(a.isFlow(), b.isFlow())).findFirst();
    }

    /** Camel Main's {@code routes-include-pattern} loading exactly these files. */
    public static String includePattern(List<RouteFile> files) {
        return files.stream().map(f -> "file:" + f.path().toString().replace('\\', '/')).collect(Collectors.joining(","));
    }

    /** The bean names a configuration value refers to ({@code #bean:name} or {@code #name}), for {@link #filesOf}. */
    public static Set<String> beansNamedBy(Collection<String> configurationValues) {
        Set<String> names = new TreeSet<>();
        for (String value : configurationValues) {
            if (value != null) {
                Matcher m = BEAN_VALUE.matcher(value.trim());
                if (m.matches()) {
                    names.add(m.group(1));
                }
            }
        }
        return names;
    }

    /** One route file, and what it declares and uses. */
    public static final class RouteFile implements Comparable<RouteFile> {
        private final Path path;
        private final String text;
        private final boolean platformPiece;
        private final Set<String> routeIds = new TreeSet<>();
        private final Set<String> fromUris = new TreeSet<>();
        private final Set<String> routeConfigurations = new TreeSet<>();
        private final Set<String> routeConfigurationsUsed = new TreeSet<>();
        private final Set<String> directConsumed = new TreeSet<>();
        private final Set<String> directUsed = new TreeSet<>();
        private final Set<String> beans = new TreeSet<>();
        private final Set<String> beansUsed = new TreeSet<>();
        private final Set<String> kamelets = new TreeSet<>();
        private final Set<String> endpointUris = new TreeSet<>();
        private final Map<String, Map<String, Object>> fromParameters = new TreeMap<>();
        private boolean flow;

        private RouteFile(Path path, String text, boolean platformPiece) {
            this.path = path;
            this.text = text;
            this.platformPiece = platformPiece;
        }

        static RouteFile parse(Path root, Path path) {
            String text;
            try {
                text = Files.readString(path, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot read " + path, e);
            }
            Object document;
            try {
                document = new Load(LoadSettings.builder().setLabel(path.toString()).build()).loadFromString(text);
            } catch (YamlEngineException e) {
                throw new IllegalArgumentException(path + " is not valid YAML: " + e.getMessage(), e);
            }
            boolean underPlatform = root.relativize(path).getNameCount() > 1
                    && root.relativize(path).getName(0).toString().equals("platform");
            RouteFile file = new RouteFile(path, text, underPlatform);
            if (document instanceof List<?> items) {
                for (Object item : items) {
                    if (item instanceof Map<?, ?> map) {
                        file.readItem(map);
                    }
                }
            } else if (document != null) {
                throw new IllegalArgumentException(path + " is not a list of Camel YAML DSL items (route, beans, routeConfiguration, ...)");
            }
            return file;
        }

        private void readItem(Map<?, ?> item) {
            if (item.get("beans") instanceof List<?> list) {
                for (Object bean : list) {
                    if (bean instanceof Map<?, ?> b && b.get("name") != null) {
                        beans.add(String.valueOf(b.get("name")));
                    }
                }
            }
            if (item.get("routeConfiguration") instanceof Map<?, ?> configuration && configuration.get("id") != null) {
                routeConfigurations.add(String.valueOf(configuration.get("id")));
            }
            if (item.get("route") instanceof Map<?, ?> route) {
                if (route.get("id") != null) {
                    routeIds.add(String.valueOf(route.get("id")));
                }
                if (route.get("routeConfigurationId") != null) {
                    for (String id : String.valueOf(route.get("routeConfigurationId")).split(",")) {
                        routeConfigurationsUsed.add(id.trim());
                    }
                }
                if (route.get("from") instanceof Map<?, ?> from && from.get("uri") != null) {
                    String uri = String.valueOf(from.get("uri"));
                    fromUris.add(uri);
                    if (uri.startsWith("direct:")) {
                        directConsumed.add(endpointName(uri));
                    } else {
                        flow = true;
                    }
                    Map<String, Object> parameters = new TreeMap<>();
                    if (from.get("parameters") instanceof Map<?, ?> p) {
                        p.forEach((k, v) -> parameters.put(String.valueOf(k), v));
                    }
                    fromParameters.put(uri, parameters);
                }
            }
            walk(item, null, false);
        }

        private void walk(Object node, String key, boolean underFrom) {
            if (node instanceof Map<?, ?> map) {
                for (Map.Entry<?, ?> e : map.entrySet()) {
                    String name = String.valueOf(e.getKey());
                    walk(e.getValue(), name, underFrom || "from".equals(name));
                }
            } else if (node instanceof List<?> list) {
                for (Object item : list) {
                    walk(item, key, underFrom);
                }
            } else if (node instanceof String value) {
                if (BEAN_KEYS.contains(key) && !value.contains("{{") && !value.contains(".") && !value.contains(":")) {
                    beansUsed.add(value);
                }
                Matcher bean = BEAN_VALUE.matcher(value.trim());
                if (bean.matches()) {
                    beansUsed.add(bean.group(1));
                }
                if ("uri".equals(key) || "to".equals(key) || "toD".equals(key) || "wireTap".equals(key)) {
                    endpointUris.add(value);
                    if (value.startsWith("direct:") && !("uri".equals(key) && underFrom && fromUris.contains(value))) {
                        directUsed.add(endpointName(value));
                    }
                    if (value.startsWith("kamelet:")) {
                        // kamelet:<name>/<instance>?...: the Kamelet is <name>
                        String kamelet = endpointName(value.substring("kamelet:".length()));
                        kamelets.add(kamelet.contains("/") ? kamelet.substring(0, kamelet.indexOf('/')) : kamelet);
                    }
                }
            }
        }

        private static String endpointName(String uri) {
            int q = uri.indexOf('?');
            return q < 0 ? uri : uri.substring(0, q);
        }

        public Path path() {
            return path;
        }

        /** The file name without {@code .camel.yaml}: the flow's name when the file is a flow. */
        public String name() {
            String file = path.getFileName().toString();
            return file.substring(0, file.length() - SUFFIX.length());
        }

        public String text() {
            return text;
        }

        /** Declares beans and nothing else (no route, no routeConfiguration). */
        public boolean isBeansOnly() {
            return !beans.isEmpty() && routeIds.isEmpty() && fromUris.isEmpty() && routeConfigurations.isEmpty();
        }

        /** Has a route that does not start from {@code direct:}. */
        public boolean isFlow() {
            return flow && !platformPiece;
        }

        /** Under {@code routes/platform/}, with neither a route nor a routeConfiguration: every flow runs with it. */
        public boolean isPlatformPiece() {
            return platformPiece && routeIds.isEmpty() && fromUris.isEmpty() && routeConfigurations.isEmpty();
        }

        public Set<String> routeIds() {
            return routeIds;
        }

        /** The {@code from} URIs of its routes. */
        public Set<String> fromUris() {
            return fromUris;
        }

        /** The parameters of the {@code from} endpoint with this URI. */
        public Map<String, Object> fromParameters(String uri) {
            return fromParameters.getOrDefault(uri, Map.of());
        }

        /** Every endpoint URI it names ({@code from}, {@code to}, ...). */
        public Set<String> endpointUris() {
            return endpointUris;
        }

        public Set<String> routeConfigurations() {
            return routeConfigurations;
        }

        public Set<String> routeConfigurationsUsed() {
            return routeConfigurationsUsed;
        }

        public Set<String> directEndpointsConsumed() {
            return directConsumed;
        }

        public Set<String> directEndpointsUsed() {
            return directUsed;
        }

        public Set<String> beans() {
            return beans;
        }

        public Set<String> beansUsed() {
            return beansUsed;
        }

        /** The Kamelets it sends to or consumes from. */
        public Set<String> kamelets() {
            return kamelets;
        }

        /** The {@code {{placeholders}}} it uses; optional ones ({@code {{?key}}}) only when {@code withOptional}. */
        public Set<String> placeholders(boolean withOptional) {
            Set<String> keys = new TreeSet<>();
            Matcher m = PLACEHOLDER.matcher(text);
            while (m.find()) {
                if (withOptional || m.group(1) == null) {
                    keys.add(m.group(2));
                }
            }
            return keys;
        }

        @Override
        public int compareTo(RouteFile other) {
            return path.compareTo(other.path);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof RouteFile other && other.path.equals(path);
        }

        @Override
        public int hashCode() {
            return path.hashCode();
        }

        @Override
        public String toString() {
            return path.toString();
        }
    }
}
